// Fan-out: one processed report plus the routing into its output records (destination, key,
// value, headers). Pure: no I/O; the views it returns point into the Result, the source and its
// own reused buffers.
#pragma once

#include <array>
#include <cstdint>
#include <span>
#include <string>
#include <string_view>

#include "dlr/config/config.h"
#include "dlr/core/processor.h"
#include "dlr/kafka/io.h"

namespace dlr::app {

/// Header names on output records. Stable: downstream consumers read them
/// (schemas/output-headers.schema.json).
namespace header {
inline constexpr std::string_view catalog_version = "dlr-catalog-version";
inline constexpr std::string_view outcome = "dlr-outcome";
inline constexpr std::string_view source = "dlr-source";  ///< "topic/partition/offset" of the input record
inline constexpr std::string_view source_topic = "dlr-source-topic";
inline constexpr std::string_view source_partition = "dlr-source-partition";
inline constexpr std::string_view source_offset = "dlr-source-offset";
inline constexpr std::string_view source_timestamp = "dlr-source-timestamp";
inline constexpr std::string_view consumer_group = "dlr-consumer-group";
inline constexpr std::string_view reason = "dlr-reason";
inline constexpr std::string_view detail = "dlr-detail";
inline constexpr std::string_view position = "dlr-position";
inline constexpr std::string_view report_index = "dlr-report-index";
inline constexpr std::string_view rule = "dlr-rule";
inline constexpr std::string_view retry_not_before = "dlr-retry-not-before";
inline constexpr std::string_view retry_attempt = "dlr-retry-attempt";
inline constexpr std::string_view retry_max_attempts = "dlr-retry-max-attempts";
/// On a replayed record, and on the dead letters of one: "topic/partition/offset" of the dead
/// letter it was replayed from.
inline constexpr std::string_view replay_of = "dlr-replay-of";
}  // namespace header

/// The input message the reports came from, as their records cite it.
struct Source {
  std::string_view topic;
  int32_t partition = 0;
  int64_t offset = 0;
  int64_t timestamp = -1;
  std::string_view key;          ///< the input's key: the records' key when a report has no messageId
  std::string_view value;        ///< the input's bytes
  int64_t previous_attempt = 0;  ///< the input's dlr-retry-attempt header, 0 when none
  std::string_view replay_of;    ///< the input's dlr-replay-of header, "" when none
  std::string_view text;         ///< "topic/partition/offset": dlr-source's value (write_source_text)
};

/// Writes "topic/partition/offset" into `out` (reused), as dlr-source and the records' JSON name
/// the input record.
std::string_view write_source_text(std::string_view topic, int32_t partition, int64_t offset,
                                   std::string& out);

/// One output record. `original` is the report's input bytes, for the dead-letter topic when
/// the record turns out too large for the broker.
struct OutputRecord {
  core::Destination destination = core::Destination::enriched;
  std::string_view key;
  std::string_view value;
  std::string_view original;
  std::span<const kafka::Header> headers;
};

/// How many records records() gives for the report: the ticket must know them all up front.
[[nodiscard]] uint32_t output_count(const core::Report& report, const config::Routing& routing) noexcept;

/// The route of a report that is not skipped.
[[nodiscard]] inline core::Route route_of(const core::Report& report) noexcept {
  return report.verdict == core::Verdict::invalid ? core::Route::invalid : core::route_of(report.outcome);
}

/// Reused per run loop; not thread-safe.
class FanOut {
 public:
  /// `source_headers`: enriched and analytics records carry dlr-catalog-version and dlr-source
  /// too (config outputs.source_headers); retry and dead-letter records always do.
  FanOut(std::string consumer_group, bool source_headers)
      : consumer_group_(std::move(consumer_group)), source_headers_(source_headers) {}

  /// Starts a message: what its records share is worked out once.
  void begin(const Source& source, std::string_view catalog_version, int64_t now_ms);
  /// The records of one report of that message, in route order. Valid until the next call.
  [[nodiscard]] std::span<const OutputRecord> records(const core::Result& result, const core::Report& report,
                                                      const config::Routing& routing) noexcept;

 private:
  struct Number {  // integer text in a reused buffer
    std::array<char, 24> text{};
    size_t size = 0;
    void set(int64_t value) noexcept;
    [[nodiscard]] std::string_view view() const noexcept { return {text.data(), size}; }
  };
  size_t retry_headers(const core::Report& report, std::array<kafka::Header, 16>& headers, size_t n) noexcept;
  size_t dead_letter_headers(const core::Result& result, const core::Report& report,
                             std::array<kafka::Header, 16>& headers, size_t n) noexcept;

  std::string consumer_group_;
  bool source_headers_;
  Source source_;
  std::string_view catalog_version_;
  int64_t now_ms_ = 0;
  Number partition_, offset_, timestamp_, index_, position_, not_before_, attempt_, max_attempts_;
  static constexpr size_t kMaxRecords = 8;  ///< per report; a route names each destination once
  std::array<OutputRecord, kMaxRecords> records_{};
  std::array<std::array<kafka::Header, 16>, kMaxRecords> headers_{};
};

}  // namespace dlr::app

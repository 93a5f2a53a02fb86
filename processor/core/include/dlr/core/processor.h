// The per-message pipeline: bytes -> read (reader.h) -> classify (classify.h) -> serialize
// (serialize.h). No I/O, no exceptions, no heap allocation per report once buffers have grown.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "dlr/catalog/catalog.h"
#include "dlr/core/channel.h"
#include "dlr/core/reason.h"

namespace dlr::core {

using catalog::Outcome;

enum class Verdict : uint8_t {
  classified,  ///< a delivery report with an outcome
  invalid,     ///< cannot be processed: goes to the dead-letter topic with `reason`
  skipped,     ///< not a delivery report (a "seen" event): counted, not forwarded
};

/// A byte range inside one of the Result's buffers or inside the input.
struct Range {
  uint32_t offset = 0;
  uint32_t length = 0;
  [[nodiscard]] std::string_view in(std::string_view buffer) const noexcept {
    return buffer.substr(offset, length);
  }
};

/// What happened to one report of a message.
struct Report {
  Verdict verdict = Verdict::invalid;
  Outcome outcome = Outcome::pending;           ///< when classified
  Reason reason = Reason::none;                 ///< when invalid or skipped
  const char* detail = "";                      ///< when invalid or skipped: what exactly, in words (static)
  const catalog::Decision* decision = nullptr;  ///< when classified: what decided, with retry hint
  bool final = false;
  bool unknown_code = false;     ///< status or error not (unambiguously) in the catalogue
  bool unknown_channel = false;  ///< its "channel" field names no channel we know
  /// Classified with an error code other than 0 (NO_ERROR): the code, and its family when the
  /// catalogue knows it (error_known).
  int32_t error_id = -1;
  catalog::Family error_family = catalog::Family::general;
  bool error_known = false;
  int64_t position = -1;  ///< byte offset of a parse error, when the parser gives one
  uint32_t index = 0;     ///< position in the batch
  Range raw;              ///< the report's original bytes, in Result::body
  Range message_id;       ///< in Result::keys (empty when the report has none)
  Range enriched;         ///< in Result::enriched: the enriched object, or the invalid record
  Range analytics;        ///< in Result::analytics (classified only)
};

/// Output of one message. Reused across calls: clear() keeps the capacity.
struct Result {
  Reason document_error = Reason::none;  ///< set when the whole message is unprocessable
  int64_t document_position = -1;
  std::string document_detail;
  std::vector<Report> reports;
  std::string enriched;   ///< enriched objects and invalid records, back to back
  std::string analytics;  ///< flat analytics records, back to back
  std::string keys;       ///< message ids, unescaped
  /// What Report::raw ranges refer to: the message itself, or for an XML message read without a
  /// document error its JSON form (so a failing report of an XML batch is dead-lettered as the JSON
  /// of that report). Valid until the next process call.
  std::string_view body;

  void clear() noexcept;
  [[nodiscard]] std::string_view key(const Report& r) const noexcept { return r.message_id.in(keys); }
  [[nodiscard]] std::string_view enriched_of(const Report& r) const noexcept {
    return r.enriched.in(enriched);
  }
  [[nodiscard]] std::string_view analytics_of(const Report& r) const noexcept {
    return r.analytics.in(analytics);
  }
  [[nodiscard]] std::string_view original_of(const Report& r) const noexcept { return r.raw.in(body); }
};

struct ProcessorOptions {
  size_t max_document_bytes = 1 << 20;  ///< larger messages are TOO_LARGE (default 1 MiB)
  size_t max_depth = 64;                ///< deeper nesting is TOO_DEEP; reports nest about 4 deep
  /// Writes process()'s `source` into enriched and analytics records too, not only into invalid
  /// ones: the stage names the input record there instead of in a header on each of them.
  bool source_in_every_record = false;
};

/// One per worker thread: owns a reused parser and buffers. Not thread-safe; the catalogue it
/// holds is immutable and may be shared.
class Processor {
 public:
  explicit Processor(std::shared_ptr<const catalog::Catalog> catalog, ProcessorOptions options = {});
  ~Processor();
  Processor(const Processor&) = delete;
  Processor& operator=(const Processor&) = delete;

  /// Processes one message (one document: JSON, or the same document as XML, told apart by its
  /// first byte; see xml_body.h). `binding` is the channel of the input it came from
  /// (Channel::unknown when none). Never throws; a bad message or report is an outcome in `out`.
  /// Returns out.document_error for convenience. A non-empty `source` is written into every
  /// invalid record, saying where the message came from (the enrich command names file and line),
  /// and into every record when the options say so.
  Reason process(std::string_view message, Channel binding, Result& out,
                 std::string_view source = {}) noexcept;

  /// Swaps the catalogue between messages (hot reload); the old one is released when unused.
  void set_catalog(std::shared_ptr<const catalog::Catalog> catalog);
  [[nodiscard]] const catalog::Catalog& catalog() const noexcept { return *catalog_; }

 private:
  class Sink;
  struct Impl;
  std::unique_ptr<Impl> impl_;
  std::shared_ptr<const catalog::Catalog> catalog_;
};

}  // namespace dlr::core

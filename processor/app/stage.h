// The Kafka stage: consume -> process -> produce to the destinations the verdict is routed to
// -> store the input offset once every output is acknowledged. One thread runs the loop;
// librdkafka's threads do the network I/O.
#pragma once

#include <atomic>
#include <chrono>
#include <deque>
#include <functional>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "dlr/catalog/catalog.h"
#include "dlr/config/config.h"
#include "dlr/core/processor.h"
#include "dlr/kafka/client.h"
#include "dlr/kafka/progress.h"
#include "metrics.h"

namespace dlr::app {

/// Header names on output records. Stable: downstream consumers read them.
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
}  // namespace header

/// Lets a repeated message through once per interval and counts the ones held back.
class LogLimiter {
 public:
  explicit LogLimiter(std::chrono::seconds interval) : interval_(interval) {}
  /// True when this occurrence should be logged; `held_back` is then how many were not since.
  bool allow(uint64_t& held_back) noexcept {
    const auto now = std::chrono::steady_clock::now();
    if (now - last_ < interval_) {
      ++suppressed_;
      return false;
    }
    last_ = now;
    held_back = std::exchange(suppressed_, 0);
    return true;
  }

 private:
  std::chrono::seconds interval_;
  std::chrono::steady_clock::time_point last_{};
  uint64_t suppressed_ = 0;
};

class Stage final : kafka::DeliveryHandler, kafka::RebalanceHandler {
 public:
  Stage(config::Config config, std::shared_ptr<const catalog::Catalog> catalog, Metrics& metrics);
  ~Stage() override;

  /// Creates the clients and subscribes. Returns "" or what stopped it.
  [[nodiscard]] std::string start();
  /// Runs until `stop` becomes true (then drains, flushes and commits within the configured
  /// shutdown timeout) or until a fatal Kafka error. Returns the process exit code: 0 when every
  /// consumed message's outputs were acknowledged and committed, 1 otherwise.
  int run(const std::atomic<bool>& stop);
  /// Where the run loop looks, once per turn, for a catalogue to swap in (hot reload); the
  /// function returns null when there is none.
  void set_catalog_feed(std::function<std::shared_ptr<const catalog::Catalog>()> feed) { catalog_feed_ = std::move(feed); }

 private:
  struct Slot {  // one input partition, kept for the process's life once seen
    std::string topic;
    int32_t partition = 0;
    int input = 0;
    bool assigned = false;
    bool dirty = false;        ///< committable moved since the last store
    int64_t next_offset = -1;  ///< after the last consumed message
    int64_t txn_first = -1;    ///< exactly-once: first offset consumed in the open transaction
    kafka::PartitionProgress progress;
  };
  struct Deferred {  // an output to produce again: the queue was full or the delivery failed
    int slot = 0;
    config::Destination destination{};
    void* opaque = nullptr;
    std::string key;
    std::string value;
    std::vector<std::pair<std::string, std::string>> headers;
    std::chrono::steady_clock::time_point due;
    int attempts = 0;
  };

  void on_delivery(const rd_kafka_message_t& message) noexcept override;
  void on_assigned(const kafka::PartitionList& partitions) noexcept override;
  void on_revoking(const kafka::PartitionList& partitions, bool lost) noexcept override;

  void apply_catalog(std::shared_ptr<const catalog::Catalog> next);
  void handle(const rd_kafka_message_t& message) noexcept;
  void produce_report(int slot, const rd_kafka_message_t& message, const core::Report& report, uint64_t ticket) noexcept;
  /// `original` is the report's input bytes, written to the dead-letter topic when `value` is too large.
  void produce(int slot, config::Destination destination, uint64_t ticket, std::string_view key,
               std::string_view value, std::string_view original, std::span<const kafka::Header> headers) noexcept;
  void defer(int slot, config::Destination destination, void* opaque, std::string_view key, std::string_view value,
             std::span<const kafka::Header> headers, std::chrono::milliseconds delay);
  void produce_deferred() noexcept;
  void store_offsets() noexcept;
  void begin_transaction() noexcept;
  void commit_transaction() noexcept;  ///< sends the offsets and commits; aborts and rewinds on failure
  void abort_transaction() noexcept;
  [[nodiscard]] bool backlogged() const noexcept;
  void hold() noexcept;
  void release() noexcept;
  void refresh_gauges() noexcept;
  void log_stats(double seconds) noexcept;
  int shutdown() noexcept;
  int slot_of(int input, int32_t partition);
  int input_of(const char* topic) const noexcept;
  [[nodiscard]] size_t in_flight() const noexcept;

  config::Config config_;
  std::function<std::shared_ptr<const catalog::Catalog>()> catalog_feed_;
  Metrics& metrics_;
  core::Processor processor_;
  core::Result result_;
  std::vector<core::Channel> bindings_;  ///< per input
  std::unique_ptr<kafka::Producer> producer_;
  std::unique_ptr<kafka::Consumer> consumer_;
  std::array<rd_kafka_topic_t*, config::kDestinationCount> topics_{};
  std::vector<std::unique_ptr<Slot>> slots_;
  std::vector<std::vector<int>> slot_index_;  ///< [input][partition] -> slot, -1 none
  std::deque<Deferred> deferred_;
  bool held_ = false;    ///< taking no new messages: the producer is behind or records are owed
  bool paused_ = false;  ///< held so long that the partitions were paused
  std::chrono::steady_clock::time_point held_since_{};
  int hold_above_ = 37500;  ///< producer queue length from which the stage holds back
  std::string fatal_;
  std::string scram_hint_;  ///< added to an authentication failure when librdkafka's SCRAM is the likely cause
  std::string source_;  ///< the current input's dlr-source header value, reused
  bool txn_open_ = false;
  bool txn_failed_ = false;  ///< a record of the open transaction failed: abort it
  std::chrono::steady_clock::time_point txn_started_{};
  /// Exactly-once: how long a transaction collects messages before it commits. Outputs become
  /// visible to read_committed consumers at the commit, so this bounds the added latency.
  static constexpr std::chrono::milliseconds kTransactionPeriod{100};
  // Errors that can repeat per message or per turn: said once per interval, with a count.
  LogLimiter produce_failure_log_{std::chrono::seconds(10)};
  LogLimiter consumer_error_log_{std::chrono::seconds(10)};
  LogLimiter oversize_log_{std::chrono::seconds(10)};
  LogLimiter transaction_log_{std::chrono::seconds(10)};
};

}  // namespace dlr::app

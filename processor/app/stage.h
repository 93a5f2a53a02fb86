// The Kafka stage's run loop: consume -> process -> fan out to the destinations the verdict is
// routed to -> store the input offset once every output is acknowledged. It runs over the seams
// of dlr/kafka/io.h, so tests drive it with fakes; one thread runs it.
//
//   stage.cpp               the loop, one message, the catalogue swap, backpressure
//   stage_produce.cpp       produce, set aside and produce again, acknowledgements, offsets
//   stage_rebalance.cpp     partitions assigned and revoked
//   stage_status.cpp        gauges, the stats line, shutdown
#pragma once

#include <atomic>
#include <chrono>
#include <deque>
#include <functional>
#include <memory>
#include <string>
#include <unordered_map>
#include <vector>

#include "backpressure.h"
#include "dlr/catalog/catalog.h"
#include "dlr/config/config.h"
#include "dlr/core/processor.h"
#include "dlr/kafka/io.h"
#include "dlr/kafka/offsets.h"
#include "fanout.h"
#include "log_limiter.h"
#include "metrics.h"
#include "transaction.h"

namespace dlr::app {

/// What the loop runs over. The input and output must outlive the stage; `transactions` is
/// required with exactly-once and ignored otherwise.
struct StageIo {
  kafka::Input& input;
  kafka::Output& output;
  kafka::Transactions* transactions = nullptr;
  /// Producer queue length from which the stage holds back (room for one more batch).
  int hold_above = 37500;
  std::string scram_hint;  ///< added to an authentication failure, when there is one to add
  /// How long the stage holds back before it pauses its partitions.
  std::chrono::milliseconds pause_after = Backpressure::kPauseAfter;
};

class Stage final : kafka::DeliveryListener, kafka::AssignmentListener {
 public:
  Stage(config::Config config, std::shared_ptr<const catalog::Catalog> catalog, Metrics& metrics, StageIo io);
  ~Stage() override;

  /// Runs until `stop` becomes true (then drains, flushes and commits within the configured
  /// shutdown timeout) or until a fatal Kafka error. Returns the process exit code: 0 when every
  /// consumed message's outputs were acknowledged and committed, 1 otherwise.
  int run(const std::atomic<bool>& stop);
  /// One turn of the loop (what run() repeats); for tests.
  void turn();
  /// Where the run loop looks, once per turn, for a catalogue to swap in (hot reload); the
  /// function returns null when there is none.
  void set_catalog_feed(std::function<std::shared_ptr<const catalog::Catalog>()> feed) {
    catalog_feed_ = std::move(feed);
  }
  /// What stopped the loop, or "".
  [[nodiscard]] const std::string& fatal() const noexcept { return fatal_; }
  [[nodiscard]] const kafka::OffsetTracker& offsets() const noexcept { return offsets_; }
  /// Ends the run: drain, flush, commit, leave the group. Returns the exit code as run() does.
  int shutdown() noexcept;

 private:
  struct Deferred {  // an output to produce again: the queue was full or the delivery failed
    config::Destination destination{};
    uint64_t tag = 0;
    std::string key;
    std::string value;
    std::vector<std::pair<std::string, std::string>> headers;
    std::chrono::steady_clock::time_point due;
    int attempts = 0;
    [[nodiscard]] int slot() const noexcept { return kafka::OffsetTracker::decode(tag).slot; }
  };

  void on_delivery(const kafka::Delivery& delivery) noexcept override;
  void on_assigned(std::span<const kafka::TopicPartition> partitions) noexcept override;
  void on_revoking(std::span<const kafka::TopicPartition> partitions, bool lost) noexcept override;

  void apply_catalog(std::shared_ptr<const catalog::Catalog> next);
  void handle(const kafka::InputRecord& record) noexcept;
  void count(const core::Report& report) noexcept;
  void count_error(const core::Report& report) noexcept;
  void publish_error_codes() noexcept;
  int64_t previous_attempt() const noexcept;
  /// `original` is the report's input bytes, written to the dead-letter topic when `value` is too large.
  void produce(int slot, const OutputRecord& record, uint64_t ticket) noexcept;
  void produce_oversized(int slot, const OutputRecord& record, uint64_t ticket) noexcept;
  void defer(config::Destination destination, uint64_t tag, std::string_view key, std::string_view value,
             std::span<const kafka::Header> headers, std::chrono::milliseconds delay);
  void produce_deferred() noexcept;
  void store_offsets() noexcept;
  [[nodiscard]] bool backlogged() const noexcept;
  void check_clients() noexcept;
  void refresh_gauges() noexcept;
  void log_stats(double seconds) noexcept;

  config::Config config_;
  StageIo io_;
  std::function<std::shared_ptr<const catalog::Catalog>()> catalog_feed_;
  Metrics& metrics_;
  core::Processor processor_;
  core::Result result_;
  FanOut fanout_;
  std::string source_text_;              ///< the current input record's "topic/partition/offset"
  std::vector<core::Channel> bindings_;  ///< per input
  core::EnumArray<config::Destination, int> topics_{};
  kafka::OffsetTracker offsets_;
  std::vector<kafka::TopicPartition> moved_;  ///< reused by store_offsets
  std::deque<Deferred> deferred_;
  /// Reports per error code, by (family + 1, or 0 when unknown) << 32 | id; published each second.
  std::unordered_map<uint64_t, uint64_t> error_counts_;
  Backpressure backpressure_;
  std::string fatal_;
  Transaction txn_;  ///< exactly-once; inert at-least-once
  std::chrono::steady_clock::time_point last_refresh_{};
  std::chrono::steady_clock::time_point last_stats_{};
  uint64_t reports_at_last_stats_ = 0;
  // Errors that can repeat per message or per turn: said once per interval, with a count.
  LogLimiter produce_failure_log_{std::chrono::seconds(10)};
  LogLimiter consumer_error_log_{std::chrono::seconds(10)};
  LogLimiter oversize_log_{std::chrono::seconds(10)};
};

}  // namespace dlr::app

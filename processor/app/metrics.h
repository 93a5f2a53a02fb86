// Counters and gauges of the Kafka stage, and their Prometheus text rendering. The run loop
// writes them with relaxed atomics; the metrics endpoint reads them from its own thread.
#pragma once

#include <array>
#include <atomic>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "dlr/config/config.h"
#include "dlr/core/reason.h"
#include "dlr/core/verdict.h"

namespace dlr::app {

using Counter = std::atomic<uint64_t>;

/// The group's lag on one input partition: its high watermark minus the group's committed offset.
struct PartitionLag {
  std::string topic;
  int32_t partition = 0;
  int64_t lag = 0;
};

/// One partition assigned to this instance.
struct AssignedPartition {
  std::string topic;
  int32_t partition = 0;
  int64_t committable = -1;  ///< the offset stored for commit; -1 none yet
  size_t in_flight = 0;      ///< messages consumed, outputs not all acknowledged
};

/// Reports that carried one error code (see Stage::count_error).
struct ErrorCodeCount {
  std::string family;  ///< the catalogue family, "unknown" for a code it lacks, "" for the rest
  std::string error;   ///< the code's name, or its id when the catalogue lacks it; "other" for the rest
  uint64_t reports = 0;
};

struct Metrics {
  std::vector<std::string> input_topics;                   ///< labels of input_messages
  std::unique_ptr<Counter[]> input_messages;               ///< per input topic
  core::EnumArray<core::Route, Counter> reports{};         ///< routed reports: the four outcomes and invalid
  Counter skipped{};                                       ///< reports that are not delivery reports
  std::array<Counter, core::kReasonCount> reasons{};       ///< invalid and skipped, per reason
  Counter unknown_channels{};                              ///< reports naming a channel we do not know
  Counter replayed_messages{};                             ///< input carrying dlr-replay-of
  Counter unknown_codes{};                                 ///< reports whose code the catalogue lacks
  core::EnumArray<core::Destination, Counter> produced{};  ///< acknowledged records per destination
  core::EnumArray<core::Destination, Counter> produce_errors{};  ///< failed deliveries per destination
  Counter produce_retries{};                                     ///< records produced again after a failure
  Counter consumer_errors{};                                     ///< error events from the consumer
  Counter offsets_stored{};  ///< offset store calls that moved a partition
  Counter rebalances{};
  Counter transactions_committed{};  ///< exactly-once mode
  Counter transactions_aborted{};
  Counter lag_sample_errors{};  ///< GroupLag samples the brokers did not answer
  std::atomic<int64_t> in_flight_messages{0};
  std::atomic<int64_t> deferred_records{0};  ///< records waiting to be produced again
  std::atomic<int> assigned_partitions{0};
  std::atomic<bool> paused{false};
  std::atomic<bool> catalog_loaded{false};
  std::atomic<bool> fatal{false};
  std::atomic<int64_t> loop_heartbeat_ms{0};  ///< steady clock ms of the run loop's last turn
  std::atomic<double> reports_per_second{0};
  Counter catalog_reloads_applied{};    ///< a new catalogue swapped in by the run loop
  Counter catalog_reloads_unchanged{};  ///< reload asked, files give the active version
  Counter catalog_reloads_failed{};     ///< the new files did not load: the last good one stays
  std::atomic<bool> catalog_last_reload_ok{true};
  std::atomic<int64_t> catalog_loaded_unix_s{0};  ///< when the active catalogue became active

  /// The active catalogue version (and when it became so): written at start and at a swap.
  void set_catalog_version(std::string_view version);
  [[nodiscard]] std::string catalog_version() const;

  mutable std::mutex catalog_mutex;
  std::string catalog_version_;  ///< under catalog_mutex

  std::mutex lag_mutex;
  std::vector<PartitionLag> lag;  ///< under lag_mutex; every input partition, from GroupLag

  std::mutex assigned_mutex;
  std::vector<AssignedPartition> assigned;  ///< under assigned_mutex; from the run loop

  std::mutex error_codes_mutex;
  std::vector<ErrorCodeCount> error_codes;  ///< under error_codes_mutex, most reports first

  explicit Metrics(std::vector<std::string> topics)
      : input_topics(std::move(topics)), input_messages(new Counter[input_topics.size()]()) {}

  [[nodiscard]] std::string render();  ///< Prometheus text exposition format 0.0.4
  void render_gauges(std::string& out);
  /// Ready: a catalogue loaded, partitions assigned, nothing fatal.
  [[nodiscard]] bool ready() const noexcept {
    return catalog_loaded.load() && assigned_partitions.load() > 0 && !fatal.load();
  }
  [[nodiscard]] std::string ready_text() const;
};

}  // namespace dlr::app

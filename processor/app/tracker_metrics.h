// Counters and gauges of the tracking stage and their Prometheus rendering. The run loop writes
// them with relaxed atomics; the endpoint reads them from its own thread.
#pragma once

#include <atomic>
#include <cstdint>
#include <mutex>
#include <string>
#include <vector>

#include "dlr/tracking/report.h"
#include "dlr/tracking/state.h"
#include "metrics.h"

namespace dlr::app {

/// Restore of one partition's store from the changelog.
struct RestoreProgress {
  int32_t partition = 0;
  int64_t restored = 0;   ///< changelog records applied
  int64_t remaining = 0;  ///< until the changelog's end as it was at assignment
  double seconds = 0;     ///< so far, or in all once done
  bool done = false;
};

struct TrackerMetrics {
  Counter input_records{};
  std::array<Counter, 6> effects{};  ///< by tracking::Effect
  std::array<Counter, 4> skipped{};  ///< by tracking::ReadError (none unused)
  Counter states_written{};          ///< state records acknowledged
  Counter changelog_written{};       ///< changelog records acknowledged
  Counter produce_errors{};
  Counter expired{};  ///< states deleted by retention
  Counter consumer_errors{};
  Counter rebalances{};
  Counter transactions_committed{};  ///< exactly-once mode
  Counter transactions_aborted{};
  std::atomic<int64_t> in_flight_messages{0};
  std::atomic<int> assigned_partitions{0};
  std::atomic<int> restoring_partitions{0};
  std::atomic<uint64_t> store_keys{0};
  std::atomic<uint64_t> store_bytes{0};
  std::atomic<uint64_t> store_memory_bytes{0};
  std::atomic<bool> paused{false};  ///< backpressure: taking no new records
  std::atomic<bool> catalog_loaded{true};
  std::atomic<bool> fatal{false};
  std::atomic<int64_t> loop_heartbeat_ms{0};

  std::mutex restore_mutex;
  std::vector<RestoreProgress> restores;  ///< under restore_mutex; one per partition restored
  std::string catalog_version;            ///< set before the endpoint starts

  /// Ready: partitions assigned and every assigned store restored.
  [[nodiscard]] bool ready() const noexcept {
    return assigned_partitions.load() > 0 && restoring_partitions.load() == 0 && !fatal.load();
  }
  [[nodiscard]] std::string ready_text() const;
  [[nodiscard]] std::string render();
};

}  // namespace dlr::app

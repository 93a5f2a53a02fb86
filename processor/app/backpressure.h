// Backpressure of a run loop: while the producer is behind, take no new input. Holding back keeps
// the consumer's prefetched data (pausing would throw it away); only a long hold, such as a broker
// that is gone, pauses the partitions, so the loop can keep polling and stay in its group.
#pragma once

#include <atomic>
#include <chrono>
#include <span>

#include "dlr/kafka/io.h"

namespace dlr::app {

class Backpressure {
 public:
  static constexpr std::chrono::milliseconds kPauseAfter{10000};

  Backpressure(kafka::Input& input, std::atomic<bool>& held_gauge, std::chrono::milliseconds pause_after)
      : input_(input), gauge_(held_gauge), pause_after_(pause_after) {}

  /// The producer is behind (`queued` records in its queue, `owed` to produce again).
  void hold(int queued, size_t owed) noexcept;
  /// It caught up: take input again.
  void release() noexcept;
  /// Paused: only events (rebalances, errors) come from the input meanwhile.
  [[nodiscard]] bool paused() const noexcept { return paused_; }
  [[nodiscard]] bool held() const noexcept { return held_; }
  /// Newly assigned partitions take the current state: paused or not. Partitions paused and then
  /// revoked come back still paused otherwise, and would never be read again.
  void assigned(std::span<const kafka::TopicPartition> partitions) noexcept;

 private:
  kafka::Input& input_;
  std::atomic<bool>& gauge_;
  std::chrono::milliseconds pause_after_;
  bool held_ = false;
  bool paused_ = false;
  std::chrono::steady_clock::time_point held_since_{};
};

}  // namespace dlr::app

#include "backpressure.h"

#include <spdlog/spdlog.h>

namespace dlr::app {

void Backpressure::hold(int queued, size_t owed) noexcept {
  const auto now = std::chrono::steady_clock::now();
  if (!held_) {
    held_ = true;
    held_since_ = now;
    gauge_ = true;
    spdlog::debug("backpressure: holding back ({} records queued, {} to produce again)", queued, owed);
    return;
  }
  if (!paused_ && now - held_since_ >= pause_after_) {
    paused_ = true;
    input_.pause_assignment();
    spdlog::warn(
        "backpressure: outputs not written for {}s ({} records queued, {} to produce again); partitions "
        "paused until they are",
        std::chrono::duration_cast<std::chrono::seconds>(pause_after_).count(), queued, owed);
  }
}

void Backpressure::release() noexcept {
  if (!held_) return;
  held_ = false;
  gauge_ = false;
  if (paused_) {
    paused_ = false;
    input_.resume_assignment();
    spdlog::info("backpressure: partitions resumed");
  }
}

void Backpressure::assigned(std::span<const kafka::TopicPartition> partitions) noexcept {
  if (paused_)
    input_.pause(partitions);
  else
    input_.resume(partitions);
}

}  // namespace dlr::app

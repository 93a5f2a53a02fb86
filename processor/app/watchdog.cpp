#include "watchdog.h"

#include <spdlog/spdlog.h>

#include <cstdlib>

namespace dlr::app {

ShutdownWatchdog::ShutdownWatchdog(const std::atomic<bool>& stop, std::chrono::seconds limit)
    : thread_([this, &stop, limit] { watch(stop, limit); }) {}

ShutdownWatchdog::~ShutdownWatchdog() {
  finished();
  thread_.join();
}

void ShutdownWatchdog::watch(const std::atomic<bool>& stop, std::chrono::seconds limit) {
  constexpr auto kTick = std::chrono::milliseconds(100);
  while (!stop && !run_returned_ && !finished_) std::this_thread::sleep_for(kTick);
  const auto deadline = std::chrono::steady_clock::now() + limit;
  while (!finished_ && std::chrono::steady_clock::now() < deadline) std::this_thread::sleep_for(kTick);
  if (!finished_) {
    spdlog::error("shutdown took longer than {}s; exiting without waiting further", limit.count());
    std::_Exit(1);
  }
}

}  // namespace dlr::app

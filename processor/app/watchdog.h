// Bounds a stage's shutdown: once a stop is asked (or the run loop returns), the process ends
// within `limit` even if draining or destroying the clients hangs (a broker gone for good).
// Nothing unacknowledged was committed, so ending early loses nothing.
#pragma once

#include <atomic>
#include <chrono>
#include <thread>

namespace dlr::app {

class ShutdownWatchdog {
 public:
  ShutdownWatchdog(const std::atomic<bool>& stop, std::chrono::seconds limit);
  ~ShutdownWatchdog();  ///< calls finished() and joins
  ShutdownWatchdog(const ShutdownWatchdog&) = delete;
  ShutdownWatchdog& operator=(const ShutdownWatchdog&) = delete;

  void run_returned() noexcept { run_returned_ = true; }  ///< starts the clock if no stop did
  void finished() noexcept { finished_ = true; }          ///< the shutdown completed in time

 private:
  void watch(const std::atomic<bool>& stop, std::chrono::seconds limit);
  std::atomic<bool> run_returned_{false};
  std::atomic<bool> finished_{false};
  std::thread thread_;
};

}  // namespace dlr::app

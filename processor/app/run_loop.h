// What the enrichment stage and the tracker do between start and exit: turn until asked to stop
// or a fatal error, then shut down (drain, flush, commit) and return the exit code.
#pragma once

#include <spdlog/spdlog.h>

#include <atomic>

namespace dlr::app {

/// `Loop` has turn(), shutdown() (the exit code) and fatal() (what stopped it, or "").
template <typename Loop>
int run_until_stopped(Loop& loop, const std::atomic<bool>& stop, std::atomic<bool>& fatal_gauge) {
  while (!stop.load(std::memory_order_relaxed) && loop.fatal().empty()) loop.turn();
  if (!loop.fatal().empty()) {
    fatal_gauge = true;
    spdlog::error("fatal: {}; stopping without committing anything not acknowledged", loop.fatal());
  }
  const int code = loop.shutdown();
  return loop.fatal().empty() ? code : 1;
}

}  // namespace dlr::app

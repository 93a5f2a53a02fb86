// What the stage tells: the gauges /metrics serves, the periodic stats line, and the shutdown's
// account of what was committed.
#include <spdlog/spdlog.h>

#include "dlr/kafka/client.h"
#include "stage.h"

namespace dlr::app {

using Clock = std::chrono::steady_clock;

void Stage::refresh_gauges() noexcept {
  std::vector<AssignedPartition> partitions;
  int assigned = 0;
  size_t in_flight_total = 0;
  for (const auto& s : offsets_.slots()) {
    if (!s->assigned) continue;
    ++assigned;
    AssignedPartition p{s->topic, s->partition, s->progress.committable(), s->progress.in_flight()};
    in_flight_total += p.in_flight;
    partitions.push_back(std::move(p));
  }
  metrics_.assigned_partitions.store(assigned, std::memory_order_relaxed);
  metrics_.in_flight_messages.store(static_cast<int64_t>(in_flight_total), std::memory_order_relaxed);
  metrics_.loop_heartbeat_ms.store(
      std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now().time_since_epoch()).count(),
      std::memory_order_relaxed);
  {
    std::lock_guard lock(metrics_.assigned_mutex);
    metrics_.assigned = std::move(partitions);
  }
  publish_error_codes();
}

void Stage::log_stats(double seconds) noexcept {
  const auto load = [](const auto& a) { return a.load(std::memory_order_relaxed); };
  int64_t lag = 0;
  {
    std::lock_guard lock(metrics_.lag_mutex);
    for (const auto& p : metrics_.lag) lag += p.lag;
  }
  uint64_t errors = 0;
  for (const auto& c : metrics_.produce_errors) errors += load(c);
  using core::Destination;
  using core::Route;
  spdlog::info(
      "stats: {:.0f} reports/s over {:.0f}s; delivered={} pending={} retryable={} permanent={} invalid={} "
      "skipped={} "
      "unknown_codes={} produced: enriched={} retry={} dlq={} analytics={} produce_errors={} in_flight={} "
      "lag={} "
      "partitions={}{}",
      load(metrics_.reports_per_second), seconds, load(metrics_.reports[Route::delivered]),
      load(metrics_.reports[Route::pending]), load(metrics_.reports[Route::retryable]),
      load(metrics_.reports[Route::permanent]), load(metrics_.reports[Route::invalid]),
      load(metrics_.skipped), load(metrics_.unknown_codes), load(metrics_.produced[Destination::enriched]),
      load(metrics_.produced[Destination::retry]), load(metrics_.produced[Destination::dead_letter]),
      load(metrics_.produced[Destination::analytics]), errors, load(metrics_.in_flight_messages), lag,
      load(metrics_.assigned_partitions),
      backpressure_.paused() ? " paused" : (backpressure_.held() ? " holding back" : ""));
}

int Stage::shutdown() noexcept {
  const auto deadline = Clock::now() + std::chrono::seconds(config_.shutdown_timeout_s);
  spdlog::info("stopping: draining {} message(s) in flight (at most {}s)", offsets_.in_flight(),
               config_.shutdown_timeout_s);
  // Stop consuming, finish what was taken: produce what is owed, wait for acknowledgements.
  while (Clock::now() < deadline && (!deferred_.empty() || io_.output.queue_length() > 0) && fatal_.empty()) {
    if (!deferred_.empty()) produce_deferred();
    io_.output.poll(50);
    store_offsets();
  }
  store_offsets();
  if (config_.exactly_once) {
    if (txn_.open() && fatal_.empty()) (void)txn_.commit(fatal_);
    io_.input.close();
    refresh_gauges();
    if (txn_.open() || !fatal_.empty()) {
      spdlog::error("stopped with a transaction not committed; its inputs will be processed again");
      return 1;
    }
    spdlog::info("stopped cleanly: every consumed message's outputs and offsets committed in a transaction");
    return 0;
  }
  const size_t unfinished = offsets_.in_flight();
  if (auto err = io_.input.commit(); err && err != RD_KAFKA_RESP_ERR__NO_OFFSET)
    spdlog::warn("commit at shutdown: {}", kafka::describe(err));
  io_.input.close();  // leaves the group; revocation commits once more
  refresh_gauges();
  if (unfinished > 0) {
    spdlog::error(
        "stopped with {} message(s) whose outputs were not all acknowledged; their offsets were not "
        "committed, so they will be processed again",
        unfinished);
    return 1;
  }
  spdlog::info("stopped cleanly: every consumed message's outputs acknowledged and committed");
  return 0;
}

}  // namespace dlr::app

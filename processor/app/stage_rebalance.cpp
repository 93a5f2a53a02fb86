// Rebalances: an assigned partition starts clean; a revoked one gets a bounded chance to finish
// its outputs and commit (at-least-once) or commits its transaction (exactly-once) before it
// moves; a lost one commits nothing.
#include <spdlog/spdlog.h>

#include "dlr/kafka/client.h"
#include "stage.h"

namespace dlr::app {

void Stage::on_assigned(std::span<const kafka::TopicPartition> partitions) noexcept {
  metrics_.rebalances.fetch_add(1, std::memory_order_relaxed);
  for (const auto& p : partitions) {
    const int input = offsets_.input_of(p.topic);
    if (input >= 0) offsets_.assign(offsets_.slot_of(input, p.partition));
  }
  backpressure_.assigned(partitions);
  refresh_gauges();
  spdlog::info("assigned {} partition(s); {} in all", partitions.size(), metrics_.assigned_partitions.load());
}

void Stage::on_revoking(std::span<const kafka::TopicPartition> partitions, bool lost) noexcept {
  metrics_.rebalances.fetch_add(1, std::memory_order_relaxed);
  if (txn_.open()) {
    // Before the partitions move: their outputs and offsets commit together, or not at all.
    if (lost)
      txn_.abort(fatal_);
    else
      (void)txn_.commit(fatal_);
  }
  if (!lost && !config_.exactly_once) {
    // Give the outputs of these partitions a bounded chance to be acknowledged, then commit
    // what is done, so the next owner repeats as little as possible.
    io_.output.flush(std::min(10, config_.shutdown_timeout_s) * 1000);
    store_offsets();
    if (auto err = io_.input.commit(); err && err != RD_KAFKA_RESP_ERR__NO_OFFSET)
      spdlog::warn("commit on revoke: {}", kafka::describe(err));
  }
  size_t unfinished = 0;
  for (const auto& p : partitions) {
    const int input = offsets_.input_of(p.topic);
    if (input < 0) continue;
    const int slot = offsets_.slot_of(input, p.partition);
    unfinished += offsets_.revoke(slot);
    std::erase_if(deferred_, [slot](const Deferred& d) { return d.slot() == slot; });
  }
  metrics_.deferred_records.store(static_cast<int64_t>(deferred_.size()), std::memory_order_relaxed);
  spdlog::info("{} {} partition(s){}", lost ? "lost" : "revoked", partitions.size(),
               unfinished ? "; " + std::to_string(unfinished) +
                                " message(s) not done will be processed again by the next owner"
                          : std::string());
}

}  // namespace dlr::app

// Exactly-once: consume-transform-produce in Kafka transactions. A transaction collects messages
// for kTransactionPeriod, then commits their outputs and input offsets together; a failed record
// or commit aborts it and rewinds its inputs to where it began.
#include <spdlog/spdlog.h>

#include "dlr/kafka/client.h"
#include "stage.h"

namespace dlr::app {

using Clock = std::chrono::steady_clock;

void Stage::begin_transaction() noexcept {
  if (const auto s = io_.transactions->begin(); !s.ok) {
    fatal_ = "begin transaction: " + s.message;
    return;
  }
  txn_open_ = true;
  txn_failed_ = false;
  txn_started_ = Clock::now();
}

void Stage::commit_transaction() noexcept {
  if (!txn_open_) return;
  if (txn_failed_) {
    abort_transaction();
    return;
  }
  std::vector<kafka::TopicPartition> offsets;
  for (const auto& s : offsets_.slots())
    if (s->txn_first >= 0) offsets.push_back({s->topic, s->partition, s->next_offset});
  kafka::TxnStatus status = io_.transactions->send_offsets(offsets, 30000);
  for (int attempt = 0; status.ok || status.retriable; ++attempt) {
    if (status.ok) status = io_.transactions->commit(60000);
    if (status.ok) {
      for (const auto& s : offsets_.slots()) s->txn_first = -1;
      txn_open_ = false;
      metrics_.transactions_committed.fetch_add(1, std::memory_order_relaxed);
      return;
    }
    if (!status.retriable || attempt >= 5) break;
  }
  if (status.fatal) {
    fatal_ = "commit transaction: " + status.message;
    return;
  }
  if (uint64_t held_back = 0; transaction_log_.allow(held_back))
    spdlog::warn("commit transaction: {}; aborting it and reading its inputs again ({} similar not logged)",
                 status.message, held_back);
  abort_transaction();
}

void Stage::abort_transaction() noexcept {
  if (!txn_open_) return;
  if (const auto s = io_.transactions->abort(60000); !s.ok) {
    fatal_ = "abort transaction: " + s.message;
    return;
  }
  // Read the aborted transaction's inputs again, from where it began.
  std::vector<kafka::TopicPartition> rewind;
  for (const auto& s : offsets_.slots()) {
    if (s->txn_first < 0) continue;
    if (s->assigned) rewind.push_back({s->topic, s->partition, s->txn_first});
    s->next_offset = s->txn_first;
    s->txn_first = -1;
  }
  if (!rewind.empty()) {
    if (auto err = io_.input.seek(rewind, 10000)) fatal_ = "rewind after abort: " + kafka::describe(err);
  }
  txn_open_ = false;
  txn_failed_ = false;
  metrics_.transactions_aborted.fetch_add(1, std::memory_order_relaxed);
}

}  // namespace dlr::app

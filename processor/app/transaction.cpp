#include "transaction.h"

#include <spdlog/spdlog.h>

#include <vector>

#include "dlr/kafka/client.h"

namespace dlr::app {

using Clock = std::chrono::steady_clock;

void Transaction::ensure_open(std::string& fatal) noexcept {
  if (!transactions_ || open_) return;
  if (const auto s = transactions_->begin(); !s.ok) {
    fatal = "begin transaction: " + s.message;
    return;
  }
  open_ = true;
  failed_ = false;
  started_ = Clock::now();
}

void Transaction::add(int slot, int64_t offset, std::string& fatal) noexcept {
  kafka::OffsetTracker::Slot& s = offsets_.slot(slot);
  s.next_offset = offset + 1;
  if (!transactions_) return;
  ensure_open(fatal);
  if (s.txn_first < 0) s.txn_first = offset;
}

bool Transaction::due() const noexcept {
  return open_ && (failed_ || Clock::now() - started_ >= period_);
}

bool Transaction::commit(std::string& fatal) noexcept {
  if (!open_) return false;
  if (failed_) {
    abort(fatal);
    return false;
  }
  std::vector<kafka::TopicPartition> offsets;
  for (const auto& s : offsets_.slots())
    if (s->txn_first >= 0) offsets.push_back({s->topic, s->partition, s->next_offset});
  // A retriable error (a timeout while the coordinator moves to another broker) leaves the call
  // going on in the background: the same call again resumes it. Aborting instead could race the
  // commit the coordinator is already completing.
  kafka::TxnStatus status;
  for (int attempt = 0; attempt < kRetries; ++attempt) {
    status = transactions_->send_offsets(offsets, 30000);
    if (!status.retriable) break;
  }
  if (status.ok) {
    for (int attempt = 0; attempt < kRetries; ++attempt) {
      status = transactions_->commit(-1);  // the transaction's remaining time, as librdkafka advises
      if (!status.retriable) break;
    }
  }
  if (status.ok) {
    for (const auto& s : offsets_.slots()) s->txn_first = -1;
    open_ = false;
    committed_.fetch_add(1, std::memory_order_relaxed);
    return true;
  }
  if (status.fatal) {
    fatal = "commit transaction: " + status.message;
    return false;
  }
  if (uint64_t held_back = 0; log_.allow(held_back))
    spdlog::warn("commit transaction: {}; aborting it and reading its inputs again ({} similar not logged)",
                 status.message, held_back);
  abort(fatal);
  return false;
}

void Transaction::abort(std::string& fatal) noexcept {
  if (!open_) return;
  open_ = false;
  if (const auto s = transactions_->abort(60000); !s.ok) {
    fatal = "abort transaction: " + s.message;
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
    if (auto err = input_.seek(rewind, 10000)) fatal = "rewind after abort: " + kafka::describe(err);
  }
  failed_ = false;
  aborted_.fetch_add(1, std::memory_order_relaxed);
}

}  // namespace dlr::app

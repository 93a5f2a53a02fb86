// The tracker's stores and their timing: acknowledged changes written into RocksDB (at-least-once
// on the write period, exactly-once after each commit), forgetting what an abort undid, and the
// retention sweep.
#include "dlr/tracking/state.h"
#include "tracker.h"

namespace dlr::app {

using kafka::OffsetTracker;

size_t Tracker::unwritten() const noexcept {
  size_t keys = 0;
  for (const auto& p : partitions_)
    if (p) keys += p->unwritten.size();
  return keys;
}

void Tracker::write_stores() noexcept {
  for (size_t slot = 0; slot < partitions_.size(); ++slot) write_store(static_cast<int>(slot));
}

void Tracker::write_store(int slot) noexcept {
  Partition* p = partition_of(slot);
  if (!p || p->unwritten.empty()) return;
  write_.changes.clear();
  for (const auto* entry : p->unwritten) {
    const Pending& pending = entry->second;
    write_.changes.push_back({entry->first, pending.acknowledged,
                              tracking::encoded_last_report_ms(pending.acknowledged).value_or(0),
                              pending.stored_report_ms});
  }
  write_.changelog_offset = p->acknowledged_offset;
  std::string error;
  if (!p->store->apply(write_, error)) {
    fatal_ = error;
    return;
  }
  for (size_t i = 0; i < p->unwritten.size(); ++i) {
    auto* entry = p->unwritten[i];
    Pending& pending = entry->second;
    pending.stored_report_ms = pending.acknowledged.empty() ? -1 : write_.changes[i].last_report_ms;
    pending.unwritten = false;
    if (pending.unacknowledged > 0) continue;
    auto node = p->pending.extract(p->pending.find(entry->first));
    if (p->spare.size() < kSparePending) p->spare.push_back(std::move(node));
  }
  p->unwritten.clear();
}

void Tracker::expire() noexcept {
  const int64_t retention_ms = int64_t{config_.tracking.retention_days} * 86'400'000;
  for (size_t slot = 0; slot < partitions_.size(); ++slot) {
    Partition* p = partition_of(static_cast<int>(slot));
    if (!p || !p->ready || p->stream_time_ms - retention_ms <= 0) continue;
    const int32_t partition = offsets_.slot(static_cast<int>(slot)).partition;
    for (const auto& [key, report_ms] : p->store->expired(p->stream_time_ms - retention_ms, 1000)) {
      auto [it, fresh] = p->pending.try_emplace(key);
      if (!fresh) continue;  // changing right now: not expired
      txn_.ensure_open(fatal_);
      it->second.stored_report_ms = report_ms;
      it->second.unacknowledged = 1;
      (void)produce(OffsetTracker::encode({static_cast<int>(slot), kExpiry, 0}), changelog_topic_, partition,
                    key, std::string_view());
    }
  }
}

void Tracker::end_transaction() noexcept {
  // The commit waits for every record of the transaction anyway; waiting here first makes sure
  // their delivery reports are served while the transaction is open.
  (void)io_.output.flush(30000);
  if (txn_.commit(fatal_)) {
    write_stores();  // the commit served every delivery: what is acknowledged is committed
    return;
  }
  forget_uncommitted();
}

void Tracker::forget_uncommitted() noexcept {
  // The stores hold only committed changes: forgetting the pending ones goes back to them.
  for (size_t slot = 0; slot < partitions_.size(); ++slot) {
    Partition* p = partition_of(static_cast<int>(slot));
    if (!p) continue;
    p->pending.clear();
    p->unwritten.clear();
    p->acknowledged_offset = p->store->checkpoint();
    if (offsets_.slot(static_cast<int>(slot)).assigned) offsets_.assign(static_cast<int>(slot));
  }
  retries_.clear();
}

}  // namespace dlr::app

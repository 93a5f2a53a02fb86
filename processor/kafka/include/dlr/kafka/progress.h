// Per-partition progress for at-least-once: which consumed offsets still wait for the broker to
// acknowledge their outputs, and the offset below which every message is done. The offset to
// store only ever moves contiguously, so a message whose outputs fail holds its partition back.
#pragma once

#include <cstddef>
#include <cstdint>
#include <deque>

namespace dlr::kafka {

class PartitionProgress {
 public:
  /// A consumed message at `offset` that produced `outputs` records. Returns its ticket, which
  /// each of those records' delivery reports hands back to complete(). A message with no output
  /// is done at once.
  uint64_t begin(int64_t offset, uint32_t outputs) {
    entries_.push_back({offset, outputs});
    const uint64_t ticket = next_ticket_++;
    if (outputs == 0) advance();
    return ticket;
  }

  /// One output of the ticket's message is acknowledged. Tickets issued before the last reset()
  /// are ignored. Returns true when the offset to store moved.
  bool complete(uint64_t ticket) noexcept {
    if (ticket < first_ticket_ || ticket >= next_ticket_) return false;
    Entry& entry = entries_[ticket - first_ticket_];
    if (entry.outputs == 0) return false;  // an extra report for a finished message: ignore
    if (--entry.outputs != 0 || ticket != first_ticket_) return false;
    return advance();
  }

  /// True while the ticket's message is in flight (issued since the last reset, not yet done).
  [[nodiscard]] bool holds(uint64_t ticket) const noexcept {
    return ticket >= first_ticket_ && ticket < next_ticket_ && entries_[ticket - first_ticket_].outputs > 0;
  }

  /// The next offset to consume from that is safe to commit: every message before it is done.
  /// -1 while nothing is done yet.
  [[nodiscard]] int64_t committable() const noexcept { return committable_; }
  /// Messages consumed and not yet done.
  [[nodiscard]] size_t in_flight() const noexcept { return entries_.size(); }
  /// The offset of the oldest message not yet done, or -1.
  [[nodiscard]] int64_t oldest_pending() const noexcept {
    return entries_.empty() ? -1 : entries_.front().offset;
  }

  /// Forgets everything in flight (the partition was revoked); later reports for old tickets
  /// are ignored, so a partition assigned again starts clean.
  void reset() noexcept {
    entries_.clear();
    first_ticket_ = next_ticket_;
    committable_ = -1;
  }

 private:
  struct Entry {
    int64_t offset;
    uint32_t outputs;
  };
  bool advance() noexcept {
    bool moved = false;
    while (!entries_.empty() && entries_.front().outputs == 0) {
      committable_ = entries_.front().offset + 1;
      entries_.pop_front();
      ++first_ticket_;
      moved = true;
    }
    return moved;
  }
  std::deque<Entry> entries_;
  uint64_t first_ticket_ = 0;  ///< ticket of entries_.front()
  uint64_t next_ticket_ = 0;
  int64_t committable_ = -1;
};

}  // namespace dlr::kafka

// At-least-once offset tracking for every input partition a consumer sees: per-partition progress
// (progress.h), the delivery tag that finds a record's partition and message again without an
// allocation, and the offsets that moved since they were last stored. Used by the stage and the
// bench relay alike. One thread uses it.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "dlr/kafka/io.h"
#include "dlr/kafka/progress.h"

namespace dlr::kafka {

class OffsetTracker {
 public:
  /// One input partition, kept for the tracker's life once seen.
  struct Slot {
    std::string topic;
    int32_t partition = 0;
    int input = 0;  ///< index of the topic in the tracker's list
    bool assigned = false;
    bool dirty = false;        ///< committable moved since the offsets were last taken
    int64_t next_offset = -1;  ///< after the last consumed message
    int64_t txn_first = -1;    ///< exactly-once: first offset consumed in the open transaction
    PartitionProgress progress;
  };

  /// What a delivery tag carries: the slot, a small lane the owner chooses (the stage's
  /// destination), and the ticket of the input message.
  struct Tag {
    int slot = 0;
    uint8_t lane = 0;
    uint64_t ticket = 0;
  };
  static constexpr int kLaneBits = 2;
  [[nodiscard]] static uint64_t encode(const Tag& tag) noexcept;
  [[nodiscard]] static Tag decode(uint64_t tag) noexcept;

  explicit OffsetTracker(std::vector<std::string> topics)
      : topics_(std::move(topics)), index_(topics_.size()) {}

  /// The input index of a subscribed topic, or -1.
  [[nodiscard]] int input_of(std::string_view topic) const noexcept;
  /// The slot of a partition, created the first time it is seen.
  int slot_of(int input, int32_t partition);
  [[nodiscard]] Slot& slot(int index) noexcept { return *slots_[static_cast<size_t>(index)]; }
  [[nodiscard]] const std::vector<std::unique_ptr<Slot>>& slots() const noexcept { return slots_; }

  /// A consumed message at `offset` that produced `outputs` records; returns its ticket. A
  /// message without outputs is done at once.
  uint64_t begin(int slot, int64_t offset, uint32_t outputs);
  /// One output acknowledged. Tags of revoked slots or stale tickets are ignored.
  void acknowledge(const Tag& tag) noexcept;
  /// True while the tag's message waits for outputs on an assigned partition.
  [[nodiscard]] bool holds(const Tag& tag) const noexcept;

  /// The partition is (again) ours: start clean.
  void assign(int slot) noexcept;
  /// The partition leaves: forget what is in flight (the next owner repeats it); returns how many
  /// messages were not done.
  size_t revoke(int slot) noexcept;

  /// Appends the committable offset of every assigned partition that moved since the last call.
  void take_moved(std::vector<TopicPartition>& out);
  /// Messages consumed and not yet done, over assigned partitions.
  [[nodiscard]] size_t in_flight() const noexcept;

 private:
  std::vector<std::string> topics_;
  std::vector<std::unique_ptr<Slot>> slots_;
  std::vector<std::vector<int>> index_;  ///< [input][partition] -> slot, -1 none
};

}  // namespace dlr::kafka

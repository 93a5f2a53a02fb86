// The tracker's local state: one RocksDB database per assigned input partition, under
// tracking.state_dir, holding each message's encoded MessageState by messageId. The store only
// ever holds changes whose changelog records the broker has acknowledged (and, exactly-once,
// committed), written together with the changelog offset they reach: after a crash the store is
// a prefix of its changelog and restore goes on from `checkpoint()`. The store keeps no log of its
// own (the changelog is that log): unflushed writes lost in a crash are restored from the
// changelog, and closing a store flushes it.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace dlr::tracking {

/// Memory every store of a process shares: RocksDB's block cache, with the memtables charged to
/// it, so the tracker's RocksDB memory stays within `cache_bytes` however many partitions it has.
class StoreMemory {
 public:
  explicit StoreMemory(size_t cache_bytes);
  ~StoreMemory();
  StoreMemory(const StoreMemory&) = delete;
  StoreMemory& operator=(const StoreMemory&) = delete;
  [[nodiscard]] size_t usage() const;  ///< bytes held in the cache now (blocks and memtables)
  struct Impl;
  std::unique_ptr<Impl> impl;
};

/// Changes applied to a store in one atomic write; the views must outlive the apply.
struct StoreWrite {
  struct Change {
    std::string_view key;
    std::string_view value;           ///< encoded state; empty: delete the key
    int64_t last_report_ms = 0;       ///< the expiry index position (ignored for a delete)
    int64_t previous_report_ms = -1;  ///< the key's old index position, -1 when none
  };
  std::vector<Change> changes;
  int64_t changelog_offset = -1;  ///< the last changelog offset these changes reach
};

class PartitionStore {
 public:
  /// Opens (creating when absent) the store in `dir`. Null with `error` set when it cannot.
  static std::unique_ptr<PartitionStore> open(const std::string& dir, StoreMemory& memory,
                                              std::string& error);
  ~PartitionStore();
  PartitionStore(const PartitionStore&) = delete;
  PartitionStore& operator=(const PartitionStore&) = delete;

  /// The encoded state of `key`, or nothing.
  [[nodiscard]] bool get(std::string_view key, std::string& value) const;
  /// Applies `write` atomically with its checkpoint; false with `error` set on failure.
  bool apply(const StoreWrite& write, std::string& error);
  /// The changelog offset the store reflects: -1 for a store restored from nothing.
  [[nodiscard]] int64_t checkpoint() const noexcept { return checkpoint_; }
  /// Keys whose last report is before `before_ms`, oldest first, at most `limit`, each with its
  /// index position: the last report's time to the minute below (the index's grain).
  [[nodiscard]] std::vector<std::pair<std::string, int64_t>> expired(int64_t before_ms, size_t limit) const;
  [[nodiscard]] uint64_t approximate_keys() const;
  [[nodiscard]] uint64_t approximate_bytes() const;  ///< on disk, live data
  /// Closes and deletes the database in `dir` (a state folder that cannot be trusted).
  static bool destroy(const std::string& dir, std::string& error);

 private:
  PartitionStore() = default;
  struct Impl;
  std::unique_ptr<Impl> impl_;
  int64_t checkpoint_ = -1;
};

}  // namespace dlr::tracking

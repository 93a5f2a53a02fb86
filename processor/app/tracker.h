// The tracking stage's run loop: consume the enrichment stage's analytics records (keyed by
// messageId, so a message's reports all reach one partition and one instance) -> merge each into
// its message's state -> write the new state to the changelog (the input's partition) and to the
// message-state topic -> store the input offset once both are acknowledged; the acknowledged
// changelog records go into the partition's RocksDB store with the changelog offset they reach.
//
//   tracker.cpp          the loop, one record, produce and deliveries
//   tracker_store.cpp    the store writes, exactly-once commits and aborts, retention
//   tracker_restore.cpp  partitions assigned (open the store, restore it from the changelog) and
//                        revoked (finish, write, close); gauges and shutdown
#pragma once

#include <atomic>
#include <chrono>
#include <memory>
#include <string>
#include <unordered_map>
#include <vector>

#include "backpressure.h"
#include "dlr/catalog/catalog.h"
#include "dlr/config/config.h"
#include "dlr/kafka/io.h"
#include "dlr/kafka/offsets.h"
#include "dlr/tracking/report.h"
#include "dlr/tracking/store.h"
#include "log_limiter.h"
#include "tracker_metrics.h"
#include "transaction.h"

namespace dlr::app {

/// What the tracker runs over; all must outlive it.
struct TrackerIo {
  kafka::Input& input;                          ///< group consumer of the tracker's input topic
  kafka::Output& output;                        ///< state records, changelog records, dead letters
  kafka::PartitionReader& restore;              ///< the changelog, read outside the group
  int hold_above = 37500;                       ///< producer queue length from which the tracker holds back
  kafka::Transactions* transactions = nullptr;  ///< set: exactly-once
  std::chrono::milliseconds pause_after = Backpressure::kPauseAfter;  ///< holding back before pausing
};

class Tracker final : kafka::DeliveryListener, kafka::AssignmentListener {
 public:
  Tracker(config::Config config, std::shared_ptr<const catalog::Catalog> catalog, TrackerMetrics& metrics,
          TrackerIo io);
  ~Tracker() override;

  /// Runs until `stop` (then drains, writes the stores and commits within the shutdown timeout)
  /// or a fatal error. Returns 0 when everything consumed was acknowledged and committed.
  int run(const std::atomic<bool>& stop);
  void turn();  ///< one turn of the loop; for tests
  int shutdown() noexcept;
  [[nodiscard]] const std::string& fatal() const noexcept { return fatal_; }
  [[nodiscard]] const kafka::OffsetTracker& offsets() const noexcept { return offsets_; }

 private:
  // Delivery tag lanes: which record of an input message a delivery report is about.
  enum Lane : uint8_t { kChangelog = 0, kState = 1, kDeadLetter = 2, kExpiry = 3 };

  /// A state whose newest changelog record is not in the store yet: reads see it here first.
  struct Pending {
    std::string value;              ///< the newest encoded state; "" for a deletion
    std::string acknowledged;       ///< the newest acknowledged one, for the next store write
    int64_t stored_report_ms = -1;  ///< the index position in the store, -1 when none
    uint32_t unacknowledged = 0;    ///< changelog records of this key in flight
    bool unwritten = false;         ///< `acknowledged` waits for the store write
  };
  struct KeyHash {  // finds a key by view: no string per delivery report
    using is_transparent = void;
    size_t operator()(std::string_view key) const noexcept { return std::hash<std::string_view>{}(key); }
  };
  using PendingMap = std::unordered_map<std::string, Pending, KeyHash, std::equal_to<>>;
  struct Partition {
    bool ready = false;  ///< restored: its records may be processed
    std::unique_ptr<tracking::PartitionStore> store;
    PendingMap pending;
    /// Keys with an acknowledged change to write, each once: a key changed many times between
    /// two writes is written once (element pointers survive rehashing).
    std::vector<PendingMap::value_type*> unwritten;
    /// Entries taken out once written, reused with their buffers for the next keys.
    std::vector<PendingMap::node_type> spare;
    int64_t acknowledged_offset = -1;  ///< the newest acknowledged changelog offset
    int64_t stream_time_ms = 0;        ///< the latest event time seen: retention's clock
  };
  struct Retry {  // a record to produce again: the queue was full or the delivery failed
    uint64_t tag = 0;
    int32_t partition = -1;
    std::string key;
    std::string value;  ///< dead letters only: the input's bytes
  };

  void on_delivery(const kafka::Delivery& delivery) noexcept override;
  void on_assigned(std::span<const kafka::TopicPartition> partitions) noexcept override;
  void on_revoking(std::span<const kafka::TopicPartition> partitions, bool lost) noexcept override;

  void handle(const kafka::InputRecord& record) noexcept;
  void dead_letter(int slot, const kafka::InputRecord& record, tracking::ReadError error) noexcept;
  /// The state of `key`: pending first, then the store. False when it has none.
  bool load(Partition& p, const std::string& key, tracking::MessageState& state, int64_t& stored_report_ms);
  /// The pending entry of `key`, made from a spare one when it has none.
  static PendingMap::iterator pending_of(Partition& p, const std::string& key, int64_t stored_report_ms);
  /// Produces the records in `lanes` of `key`'s newest state, loaded from pending or the store
  /// (producing again after a failure or a replay).
  void produce_state(int slot, int32_t partition, const std::string& key, uint64_t ticket,
                     uint8_t lanes) noexcept;
  /// Produces the records in `lanes` of a state the caller holds (`encoded` is its encoding).
  void produce_records(int slot, int32_t partition, const std::string& key, const std::string& encoded,
                       const tracking::MessageState& state, uint64_t ticket, uint8_t lanes) noexcept;
  bool produce(uint64_t tag, int topic, int32_t partition, std::string_view key, std::string_view value,
               std::span<const kafka::Header> headers = {}) noexcept;
  /// Exactly-once: commits the open transaction and writes what it committed into the stores,
  /// or, when it aborts, forgets every change it made (the stores never saw them).
  void end_transaction() noexcept;
  void forget_uncommitted() noexcept;
  void produce_retries() noexcept;
  void write_stores() noexcept;  ///< acknowledged changelog records into their stores
  void write_store(int slot) noexcept;
  void expire() noexcept;  ///< the retention sweep
  void restore(int slot, int32_t partition) noexcept;
  void publish(const RestoreProgress& progress) noexcept;  ///< for the restore gauges
  /// Opens the partition's store (afresh when it is ahead of its changelog); `end` is the
  /// changelog's end. False when the tracker cannot go on.
  bool open_store(Partition& p, int32_t partition, int64_t& end) noexcept;
  /// Applies the changelog from the reader's position up to `end` to the store.
  void read_changelog(Partition& p, int32_t partition, int64_t end, RestoreProgress& progress) noexcept;
  void close_partition(int slot) noexcept;
  void store_offsets() noexcept;
  void refresh_gauges() noexcept;
  [[nodiscard]] Partition* partition_of(int slot) noexcept;
  [[nodiscard]] size_t unwritten() const noexcept;  ///< keys waiting for a store write, over partitions

  config::Config config_;
  std::shared_ptr<const catalog::Catalog> catalog_;
  TrackerMetrics& metrics_;
  TrackerIo io_;
  tracking::StoreMemory memory_;
  tracking::AnalyticsReader reader_;
  kafka::OffsetTracker offsets_;
  Transaction txn_;  ///< exactly-once; inert at-least-once
  Backpressure backpressure_;
  std::vector<std::unique_ptr<Partition>> partitions_;  ///< by offset slot
  int state_topic_ = 0, changelog_topic_ = 0, dead_letter_topic_ = 0;
  std::vector<Retry> retries_;
  std::vector<kafka::TopicPartition> moved_;
  std::string key_, record_, encoded_, stored_;  ///< reused per message
  tracking::StoreWrite write_;                   ///< reused per store write
  std::string fatal_;
  std::chrono::steady_clock::time_point last_write_{}, last_offsets_{}, last_expiry_{}, last_refresh_{};
  /// How often acknowledged changes are written into the stores, unless more keys wait than
  /// kMaxUnwritten (the memory the pending states may hold). Until then they are read from
  /// memory, and a key changed many times in between is written once: like Kafka Streams'
  /// record cache, this saves most store reads and writes. It costs nothing in safety: the
  /// changelog has every change, and offsets do not wait for the store.
  static constexpr std::chrono::milliseconds kWritePeriod{1000};
  static constexpr size_t kMaxUnwritten = 65536;
  static constexpr std::chrono::milliseconds kOffsetPeriod{50};
  static constexpr std::chrono::seconds kExpiryPeriod{30};
  static constexpr size_t kSparePending = 8192;  ///< per partition: about one store write's keys
  LogLimiter produce_failure_log_{std::chrono::seconds(10)};
  LogLimiter consumer_error_log_{std::chrono::seconds(10)};
};

}  // namespace dlr::app

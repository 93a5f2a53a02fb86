// Partitions of the tracker: an assigned one gets its store, brought up to the changelog's end
// before any of its records is processed; a revoked one finishes what it can, writes its store
// and closes it (the folder stays, so a partition that comes back restores only what it missed).
// Also the gauges and the shutdown.
#include <spdlog/spdlog.h>

#include <filesystem>
#include <thread>
#include <unordered_map>

#include "dlr/kafka/client.h"
#include "tracker.h"

namespace dlr::app {

using Clock = std::chrono::steady_clock;

namespace {
constexpr size_t kRestoreBatch = 20000;  // distinct keys per store write
constexpr int kRestoreStallPolls = 120;  // of 500 ms: a minute without a record before giving up
constexpr int kRestoreNoticePolls = 4;   // two seconds without one: said why in the log
constexpr auto kTransientFor = std::chrono::seconds(60);  // a failover takes seconds, not a minute
}  // namespace

void Tracker::on_assigned(std::span<const kafka::TopicPartition> partitions) noexcept {
  metrics_.rebalances.fetch_add(1, std::memory_order_relaxed);
  metrics_.restoring_partitions.fetch_add(static_cast<int>(partitions.size()));
  for (const auto& tp : partitions) {
    const int slot = offsets_.slot_of(0, tp.partition);
    offsets_.assign(slot);
    if (partitions_.size() <= static_cast<size_t>(slot)) partitions_.resize(static_cast<size_t>(slot) + 1);
    partitions_[static_cast<size_t>(slot)] = std::make_unique<Partition>();
    if (fatal_.empty()) restore(slot, tp.partition);
    metrics_.restoring_partitions.fetch_sub(1);
  }
  backpressure_.assigned(partitions);
  refresh_gauges();
  spdlog::info("assigned {} partition(s); {} in all", partitions.size(), metrics_.assigned_partitions.load());
}

bool Tracker::open_store(Partition& p, int32_t partition, int64_t& end) noexcept {
  const std::string& changelog = config_.tracking.changelog;
  const std::filesystem::path dir = std::filesystem::path(config_.tracking.state_dir) /
                                    (config_.tracking_input() + "-" + std::to_string(partition));
  std::error_code ec;
  std::filesystem::create_directories(dir, ec);
  std::string error;
  p.store = tracking::PartitionStore::open(dir.string(), memory_, error);
  // A leader moving or a broker restarting answers for a few seconds; a missing or misconfigured
  // topic does not get better, and is said at once.
  const auto give_up = Clock::now() + kTransientFor;
  kafka::Error err = io_.restore.end_offset(changelog, partition, end, 10000);
  for (bool said = false; err && kafka::transient(err) && Clock::now() < give_up; said = true) {
    if (!said)
      spdlog::warn("changelog {} partition {}: {}; asking again until the cluster answers", changelog,
                   partition, kafka::describe(err));
    std::this_thread::sleep_for(std::chrono::milliseconds(500));
    err = io_.restore.end_offset(changelog, partition, end, 10000);
  }
  if (err) {
    fatal_ = "changelog " + changelog + " partition " + std::to_string(partition) + ": " +
             kafka::describe(err) +
             (kafka::transient(err)
                  ? " for a minute"
                  : " (create it compacted, with as many partitions as " + config_.tracking_input() + ")");
    return false;
  }
  if (p.store && p.store->checkpoint() >= end) {
    // The store is ahead of its changelog: the topic was recreated. Only the changelog is trusted.
    spdlog::warn(
        "store {} is at changelog offset {}, beyond the changelog's end {}: restoring it from scratch",
        dir.string(), p.store->checkpoint(), end);
    p.store.reset();
    (void)tracking::PartitionStore::destroy(dir.string(), error);
    p.store = tracking::PartitionStore::open(dir.string(), memory_, error);
  }
  if (!p.store) {
    fatal_ = error;
    return false;
  }
  return true;
}

void Tracker::read_changelog(Partition& p, int32_t partition, int64_t end,
                             RestoreProgress& progress) noexcept {
  // A batch keeps the newest record per key: a key changed many times is written once.
  struct Newest {
    std::string value;  ///< "" for a deletion
    int64_t previous_report_ms = -1;
  };
  std::unordered_map<std::string, Newest, KeyHash, std::equal_to<>> batch;
  int64_t batch_offset = -1;
  const auto started = Clock::now();
  const auto apply = [&] {
    write_.changes.clear();
    for (const auto& [key, newest] : batch) {
      write_.changes.push_back({key, newest.value, tracking::encoded_last_report_ms(newest.value).value_or(0),
                                newest.previous_report_ms});
    }
    write_.changelog_offset = batch_offset;
    if (std::string error; !p.store->apply(write_, error)) fatal_ = error;
    batch.clear();
    progress.seconds = std::chrono::duration<double>(Clock::now() - started).count();
    publish(progress);
  };
  int idle = 0;
  for (bool done = false; !done && fatal_.empty();) {
    const kafka::InputRecord* r = io_.restore.poll(500);
    if (!r) {
      // The last offsets may hold no record (a transaction marker, a tombstone compacted away),
      // or belong to a transaction left open by an instance that died: nothing after it is
      // readable until the broker aborts it (transaction.timeout.ms after it began).
      const int64_t position = io_.restore.position();
      done = position >= end;
      if (!done && idle == kRestoreNoticePolls) {
        spdlog::info(
            "restoring partition {}: waiting at changelog offset {} of {} for a transaction left open to end",
            partition, position, end);
      }
      if (!done && ++idle >= kRestoreStallPolls) {
        fatal_ = "restoring partition " + std::to_string(partition) +
                 ": no record for a minute at changelog offset " + std::to_string(position) + " of " +
                 std::to_string(end) +
                 " (a transaction left open that does not end, or the broker unreachable)";
      }
      if (done && !batch.empty()) apply();
      continue;
    }
    if (r->err) {
      if (++idle >= kRestoreStallPolls)
        fatal_ = "restoring partition " + std::to_string(partition) + ": " + kafka::describe(r->err);
      continue;
    }
    idle = 0;
    auto it = batch.find(r->key);
    if (it == batch.end()) {
      it = batch.try_emplace(std::string(r->key)).first;
      if (p.store->get(r->key, stored_))
        it->second.previous_report_ms = tracking::encoded_last_report_ms(stored_).value_or(-1);
    }
    // A record that is not a state (another format) deletes the key: the next report starts it again.
    if (tracking::encoded_last_report_ms(r->value))
      it->second.value.assign(r->value);
    else
      it->second.value.clear();
    batch_offset = r->offset;
    ++progress.restored;
    done = r->offset >= end - 1;
    if (batch.size() >= kRestoreBatch || done) apply();
  }
}

void Tracker::publish(const RestoreProgress& progress) noexcept {
  std::lock_guard lock(metrics_.restore_mutex);
  for (RestoreProgress& r : metrics_.restores) {
    if (r.partition == progress.partition) {
      r = progress;
      return;
    }
  }
  metrics_.restores.push_back(progress);
}

void Tracker::restore(int slot, int32_t partition) noexcept {
  Partition& p = *partitions_[static_cast<size_t>(slot)];
  int64_t end = -1;
  if (!open_store(p, partition, end)) return;
  const auto started = Clock::now();
  const int64_t from = p.store->checkpoint() + 1;
  RestoreProgress progress{partition, 0, std::max<int64_t>(0, end - from), 0, false};
  publish(progress);
  if (from < end) {
    spdlog::info("restoring partition {} from changelog offsets {} to {}", partition, from, end - 1);
    (void)io_.restore.start(config_.tracking.changelog, partition, from);
    read_changelog(p, partition, end, progress);
    io_.restore.stop();
  }
  progress.seconds = std::chrono::duration<double>(Clock::now() - started).count();
  progress.done = fatal_.empty();
  p.ready = progress.done;
  if (progress.restored > 0) {
    spdlog::info("partition {} restored: {} changelog record(s) in {:.2f}s", partition, progress.restored,
                 progress.seconds);
  }
  publish(progress);
}

void Tracker::on_revoking(std::span<const kafka::TopicPartition> partitions, bool lost) noexcept {
  metrics_.rebalances.fetch_add(1, std::memory_order_relaxed);
  if (txn_.open()) {
    // Before the partitions move: their changes commit together, or not at all.
    if (lost) {
      txn_.abort(fatal_);
      forget_uncommitted();
    } else {
      end_transaction();
    }
  } else if (!lost && !txn_.enabled()) {
    // A bounded chance to finish: what is acknowledged is written and committed.
    io_.output.flush(std::min(10, config_.shutdown_timeout_s) * 1000);
    store_offsets();
    if (auto err = io_.input.commit(); err && err != RD_KAFKA_RESP_ERR__NO_OFFSET)
      spdlog::warn("commit on revoke: {}", kafka::describe(err));
  }
  write_stores();
  size_t unfinished = 0;
  for (const auto& tp : partitions) {
    const int slot = offsets_.slot_of(0, tp.partition);
    unfinished += offsets_.revoke(slot);
    close_partition(slot);
  }
  refresh_gauges();
  spdlog::info("{} {} partition(s){}", lost ? "lost" : "revoked", partitions.size(),
               unfinished ? "; " + std::to_string(unfinished) +
                                " record(s) not done will be read again by the next owner"
                          : std::string());
}

void Tracker::close_partition(int slot) noexcept {
  if (static_cast<size_t>(slot) >= partitions_.size()) return;
  partitions_[static_cast<size_t>(slot)].reset();  // unwritten changes are in the changelog, or read again
  std::erase_if(retries_,
                [slot](const Retry& r) { return kafka::OffsetTracker::decode(r.tag).slot == slot; });
}

void Tracker::refresh_gauges() noexcept {
  int assigned = 0;
  uint64_t keys = 0, bytes = 0;
  for (size_t slot = 0; slot < partitions_.size(); ++slot) {
    if (Partition* p = partition_of(static_cast<int>(slot))) {
      ++assigned;
      keys += p->store->approximate_keys();
      bytes += p->store->approximate_bytes();
    }
  }
  metrics_.assigned_partitions.store(assigned, std::memory_order_relaxed);
  metrics_.in_flight_messages.store(static_cast<int64_t>(offsets_.in_flight()), std::memory_order_relaxed);
  metrics_.store_keys.store(keys, std::memory_order_relaxed);
  metrics_.store_bytes.store(bytes, std::memory_order_relaxed);
  metrics_.store_memory_bytes.store(memory_.usage(), std::memory_order_relaxed);
  metrics_.loop_heartbeat_ms.store(
      std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now().time_since_epoch()).count(),
      std::memory_order_relaxed);
}

int Tracker::shutdown() noexcept {
  if (txn_.enabled()) {
    if (txn_.open() && fatal_.empty()) end_transaction();
    const bool committed = !txn_.open() && fatal_.empty();
    io_.input.close();  // revokes: every store is written and closed
    if (!committed) {
      spdlog::error("stopped with a transaction not committed; its records are read again on the next start");
      return 1;
    }
    spdlog::info("stopped: every change committed in a transaction and in the stores");
    return 0;
  }
  const auto deadline = Clock::now() + std::chrono::seconds(config_.shutdown_timeout_s);
  spdlog::info("stopping: {} record(s) in flight (at most {}s)", offsets_.in_flight(),
               config_.shutdown_timeout_s);
  while (Clock::now() < deadline && (!retries_.empty() || io_.output.queue_length() > 0) && fatal_.empty()) {
    produce_retries();
    io_.output.poll(50);
  }
  write_stores();
  store_offsets();
  const size_t unfinished = offsets_.in_flight();
  if (auto err = io_.input.commit(); err && err != RD_KAFKA_RESP_ERR__NO_OFFSET)
    spdlog::warn("final commit: {}", kafka::describe(err));
  io_.input.close();  // revokes: every store is written and closed
  if (unfinished)
    spdlog::warn("{} record(s) were not done; they are read again on the next start", unfinished);
  else
    spdlog::info("stopped: everything consumed is acknowledged, in the stores and committed");
  return unfinished || !fatal_.empty() ? 1 : 0;
}

}  // namespace dlr::app

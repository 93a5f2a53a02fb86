#include "tracker.h"

#include <spdlog/spdlog.h>

#include "dlr/kafka/client.h"
#include "dlr/tracking/state_record.h"
#include "fanout.h"
#include "run_loop.h"

namespace dlr::app {

using Clock = std::chrono::steady_clock;
using kafka::OffsetTracker;

Tracker::Tracker(config::Config config, std::shared_ptr<const catalog::Catalog> catalog,
                 TrackerMetrics& metrics, TrackerIo io)
    : config_(std::move(config)),
      catalog_(std::move(catalog)),
      metrics_(metrics),
      io_(io),
      memory_(static_cast<size_t>(config_.tracking.block_cache_mb) << 20),
      offsets_({config_.tracking_input()}),
      txn_(io_.transactions, io_.input, offsets_, metrics_.transactions_committed,
           metrics_.transactions_aborted, std::chrono::milliseconds(config_.transaction_ms)),
      backpressure_(io_.input, metrics_.paused, io_.pause_after) {
  state_topic_ = io_.output.topic(config_.tracking.output);
  changelog_topic_ = io_.output.topic(config_.tracking.changelog);
  dead_letter_topic_ = io_.output.topic(config_.outputs.dead_letter);
  io_.output.set_listener(*this);
  io_.input.set_listener(*this);
  last_write_ = last_offsets_ = last_expiry_ = last_refresh_ = Clock::now();
}

Tracker::~Tracker() = default;

int Tracker::run(const std::atomic<bool>& stop) {
  spdlog::info("tracking '{}' as group '{}' from {}: states to '{}', changelog '{}', stores in {}",
               config_.tracking_input(), config_.tracking.group_id, config_.brokers, config_.tracking.output,
               config_.tracking.changelog, config_.tracking.state_dir);
  return run_until_stopped(*this, stop, metrics_.fatal);
}

void Tracker::turn() {
  io_.output.poll(0);
  produce_retries();
  if (io_.output.queue_length() >= io_.hold_above || !retries_.empty()) {
    backpressure_.hold(io_.output.queue_length(), retries_.size());
    io_.output.poll(20);  // behind: wait for acknowledgements before taking more
    if (backpressure_.paused()) {
      if (const kafka::InputRecord* event = io_.input.poll(0)) handle(*event);  // rebalances and errors only
    }
  } else {
    backpressure_.release();
    // A burst of records per turn; the first poll waits a little when there is nothing to do.
    for (int i = 0; i < 512 && fatal_.empty(); ++i) {
      const kafka::InputRecord* record = io_.input.poll(i == 0 ? 20 : 0);
      if (!record) break;
      handle(*record);
      if (io_.output.queue_length() >= io_.hold_above) break;
    }
  }
  const auto now = Clock::now();
  if (txn_.enabled()) {
    if (txn_.due()) end_transaction();
  } else {
    if (now - last_write_ >= kWritePeriod || unwritten() >= kMaxUnwritten) {
      last_write_ = now;
      write_stores();
    }
    if (now - last_offsets_ >= kOffsetPeriod) {
      last_offsets_ = now;
      store_offsets();
    }
  }
  if (now - last_expiry_ >= kExpiryPeriod) {
    last_expiry_ = now;
    expire();
  }
  if (now - last_refresh_ >= std::chrono::seconds(1)) {
    last_refresh_ = now;
    refresh_gauges();
  }
  if (fatal_.empty()) {
    if (std::string f = io_.output.fatal_error(); !f.empty())
      fatal_ = "producer: " + f;
    else if (std::string c = kafka::configuration_error(); !c.empty())
      fatal_ = "cannot connect: " + c;
  }
}

Tracker::Partition* Tracker::partition_of(int slot) noexcept {
  if (slot < 0 || static_cast<size_t>(slot) >= partitions_.size()) return nullptr;
  Partition* p = partitions_[static_cast<size_t>(slot)].get();
  return p && p->store ? p : nullptr;
}

void Tracker::handle(const kafka::InputRecord& record) noexcept {
  if (record.err) {
    metrics_.consumer_errors.fetch_add(1, std::memory_order_relaxed);
    consumer_error_log_.warn("consumer: {}", kafka::describe(record.err));
    return;
  }
  metrics_.input_records.fetch_add(1, std::memory_order_relaxed);
  const int slot = offsets_.slot_of(0, record.partition);
  Partition* p = partition_of(slot);
  if (!p || !p->ready) return;  // not ours (any more): the owner reads it from the committed offset
  txn_.add(slot, record.offset, fatal_);
  tracking::TrackedReport report;
  if (const auto error = reader_.read(record.value, record.timestamp, *catalog_, report);
      error != tracking::ReadError::none) {
    dead_letter(slot, record, error);
    return;
  }
  key_.assign(report.message_id);  // reused: no allocation per record once warm
  const std::string& key = key_;
  tracking::MessageState state;
  int64_t stored_report_ms = -1;
  load(*p, key, state, stored_report_ms);
  const tracking::Effect effect = tracking::merge(state, report, record.offset);
  metrics_.effects[static_cast<size_t>(effect)].fetch_add(1, std::memory_order_relaxed);
  p->stream_time_ms = std::max(p->stream_time_ms, report.time_ms);
  if (effect == tracking::Effect::replayed) {
    // Read again after a restart. The last record a state applied may have lost its state record
    // (changelog acknowledged, state record not): write it once more. Earlier ones are followed
    // by that one, so they need nothing.
    if (record.offset == state.input_offset) {
      produce_records(slot, record.partition, key, {}, state, offsets_.begin(slot, record.offset, 1),
                      1 << kState);
    } else {
      (void)offsets_.begin(slot, record.offset, 0);
    }
    return;
  }
  tracking::encode(state, encoded_);
  const auto it = pending_of(*p, key, stored_report_ms);
  it->second.value = encoded_;
  ++it->second.unacknowledged;
  const uint64_t ticket = offsets_.begin(slot, record.offset, 2);
  produce_records(slot, record.partition, key, encoded_, state, ticket, 1 << kChangelog | 1 << kState);
}

Tracker::PendingMap::iterator Tracker::pending_of(Partition& p, const std::string& key,
                                                  int64_t stored_report_ms) {
  if (auto it = p.pending.find(key); it != p.pending.end()) return it;
  if (p.spare.empty()) return p.pending.try_emplace(key, Pending{{}, {}, stored_report_ms, 0, false}).first;
  PendingMap::node_type node = std::move(p.spare.back());
  p.spare.pop_back();
  node.key().assign(key);
  node.mapped().value.clear();
  node.mapped().acknowledged.clear();
  node.mapped().stored_report_ms = stored_report_ms;
  node.mapped().unacknowledged = 0;
  node.mapped().unwritten = false;
  return p.pending.insert(std::move(node)).position;
}

bool Tracker::load(Partition& p, const std::string& key, tracking::MessageState& state,
                   int64_t& stored_report_ms) {
  if (auto it = p.pending.find(key); it != p.pending.end()) {
    stored_report_ms = it->second.stored_report_ms;
    return !it->second.value.empty() && tracking::decode(it->second.value, state);
  }
  if (!p.store->get(key, stored_)) return false;
  if (!tracking::decode(stored_, state)) {
    spdlog::warn("state of one message in the store cannot be read; it starts again");
    return false;
  }
  stored_report_ms = state.last_report_ms;
  return true;
}

void Tracker::produce_state(int slot, int32_t partition, const std::string& key, uint64_t ticket,
                            uint8_t lanes) noexcept {
  Partition* p = partition_of(slot);
  if (!p) return;
  tracking::MessageState state;
  int64_t stored = -1;
  if (!load(*p, key, state, stored)) return;
  const auto it = p->pending.find(key);
  // Without a pending change the store has the newest state: only its state record can be owed.
  if (it == p->pending.end()) lanes &= static_cast<uint8_t>(~(1 << kChangelog));
  produce_records(slot, partition, key, it == p->pending.end() ? std::string() : it->second.value, state,
                  ticket, lanes);
}

void Tracker::produce_records(int slot, int32_t partition, const std::string& key, const std::string& encoded,
                              const tracking::MessageState& state, uint64_t ticket, uint8_t lanes) noexcept {
  if (lanes & (1 << kChangelog)) {
    (void)produce(OffsetTracker::encode({slot, kChangelog, ticket}), changelog_topic_, partition, key,
                  encoded);
  }
  if (lanes & (1 << kState)) {
    record_.clear();
    tracking::append_state_record(record_, key, state, *catalog_);
    (void)produce(OffsetTracker::encode({slot, kState, ticket}), state_topic_, -1, key, record_);
  }
}

bool Tracker::produce(uint64_t tag, int topic, int32_t partition, std::string_view key,
                      std::string_view value, std::span<const kafka::Header> headers) noexcept {
  const auto attempt = [&] { return io_.output.produce_to(topic, partition, key, value, headers, tag); };
  const kafka::Error err = txn_.enabled() ? produce_in_transaction(io_.output, fatal_, attempt) : attempt();
  if (!err) return true;
  if (txn_.enabled()) {
    metrics_.produce_errors.fetch_add(1, std::memory_order_relaxed);
    produce_failure_log_.warn("produce to {}: {}; the transaction is aborted", io_.output.topic_name(topic),
                              kafka::describe(err));
    txn_.fail();
    return false;
  }
  if (err != RD_KAFKA_RESP_ERR__QUEUE_FULL) {
    metrics_.produce_errors.fetch_add(1, std::memory_order_relaxed);
    produce_failure_log_.warn("produce to {}: {}; producing it again", io_.output.topic_name(topic),
                              kafka::describe(err));
  }
  retries_.push_back({tag, partition, std::string(key), {}});
  return false;
}

void Tracker::dead_letter(int slot, const kafka::InputRecord& record, tracking::ReadError error) noexcept {
  metrics_.skipped[static_cast<size_t>(error)].fetch_add(1, std::memory_order_relaxed);
  const uint64_t ticket = offsets_.begin(slot, record.offset, 1);
  const uint64_t tag = OffsetTracker::encode({slot, kDeadLetter, ticket});
  const std::string source = std::string(record.topic) + "/" + std::to_string(record.partition) + "/" +
                             std::to_string(record.offset);
  const std::string partition = std::to_string(record.partition), offset = std::to_string(record.offset);
  const kafka::Header headers[] = {{header::reason, tracking::to_string(error)},
                                   {header::source, source},
                                   {header::source_topic, record.topic},
                                   {header::source_partition, partition},
                                   {header::source_offset, offset},
                                   {header::consumer_group, config_.tracking.group_id}};
  if (!produce(tag, dead_letter_topic_, -1, record.key, record.value, headers) && !txn_.enabled())
    retries_.back().value.assign(record.value);  // a dead letter is produced again with its bytes
}

void Tracker::produce_retries() noexcept {
  if (retries_.empty()) return;
  std::vector<Retry> owed;
  owed.swap(retries_);
  for (size_t i = 0; i < owed.size(); ++i) {
    Retry& r = owed[i];
    const auto tag = OffsetTracker::decode(r.tag);
    if (tag.lane != kExpiry && !offsets_.holds(tag)) continue;  // revoked meanwhile
    if (io_.output.queue_length() >= io_.hold_above) {
      retries_.insert(retries_.end(), std::make_move_iterator(owed.begin() + static_cast<ptrdiff_t>(i)),
                      std::make_move_iterator(owed.end()));
      return;
    }
    switch (tag.lane) {
      case kDeadLetter:
        if (io_.output.produce_to(dead_letter_topic_, -1, r.key, r.value, {}, r.tag))
          retries_.push_back(std::move(r));
        break;
      case kExpiry:
        (void)produce(r.tag, changelog_topic_, r.partition, r.key, std::string_view());
        break;
      default:
        // The newest state of the key, not the one that failed: the last record per key is what counts.
        produce_state(tag.slot, r.partition, r.key, tag.ticket, static_cast<uint8_t>(1 << tag.lane));
    }
  }
}

void Tracker::on_delivery(const kafka::Delivery& d) noexcept {
  const auto tag = OffsetTracker::decode(d.tag);
  Partition* p = partition_of(tag.slot);
  if (txn_.enabled() && !txn_.open()) return;  // of an aborted transaction: forgotten
  if (d.err && txn_.enabled()) {
    metrics_.produce_errors.fetch_add(1, std::memory_order_relaxed);
    produce_failure_log_.warn("delivery to {} failed: {}; the transaction is aborted",
                              io_.output.topic_name(d.topic), kafka::describe(d.err));
    txn_.fail();
    return;
  }
  if (d.err) {
    metrics_.produce_errors.fetch_add(1, std::memory_order_relaxed);
    produce_failure_log_.warn("delivery to {} failed: {}; producing it again", io_.output.topic_name(d.topic),
                              kafka::describe(d.err));
    if (p && (tag.lane == kExpiry || offsets_.holds(tag))) {
      retries_.push_back(
          {d.tag, d.partition, std::string(d.key), tag.lane == kDeadLetter ? std::string(d.value) : ""});
    }
    return;
  }
  if (tag.lane == kChangelog || tag.lane == kExpiry) {
    metrics_.changelog_written.fetch_add(1, std::memory_order_relaxed);
    if (p) {
      if (auto it = p->pending.find(d.key); it != p->pending.end()) {
        Pending& pending = it->second;
        --pending.unacknowledged;
        pending.acknowledged.assign(d.value);  // one key's records are acknowledged in order
        if (!pending.unwritten) p->unwritten.push_back(&*it);
        pending.unwritten = true;
        p->acknowledged_offset = d.offset;
      }
    }
    if (tag.lane == kExpiry) {
      metrics_.expired.fetch_add(1, std::memory_order_relaxed);
      return;
    }
  } else if (tag.lane == kState) {
    metrics_.states_written.fetch_add(1, std::memory_order_relaxed);
  }
  offsets_.acknowledge(tag);
}

void Tracker::store_offsets() noexcept {
  moved_.clear();
  offsets_.take_moved(moved_);
  if (moved_.empty()) return;
  if (auto err = io_.input.store_offsets(moved_))
    consumer_error_log_.warn("store offsets: {}", kafka::describe(err));
}

}  // namespace dlr::app

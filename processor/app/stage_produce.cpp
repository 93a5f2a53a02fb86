// Producing: records go out tagged with their input's slot and ticket; a full queue or a failed
// delivery sets the record aside to produce again; acknowledgements move the offsets.
#include <spdlog/spdlog.h>

#include "dlr/kafka/client.h"
#include "stage.h"

namespace dlr::app {

using config::Destination;
using Clock = std::chrono::steady_clock;
using std::chrono::milliseconds;

namespace {
// Errors after which producing the same record again cannot succeed.
bool is_record_too_large(kafka::Error err) {
  return err == RD_KAFKA_RESP_ERR_MSG_SIZE_TOO_LARGE || err == RD_KAFKA_RESP_ERR_RECORD_LIST_TOO_LARGE;
}
}  // namespace

void Stage::produce(int slot, const OutputRecord& record, uint64_t ticket) noexcept {
  const uint64_t tag = kafka::OffsetTracker::encode({slot, static_cast<uint8_t>(record.destination), ticket});
  const int topic = topics_[record.destination];
  const auto attempt = [&] {
    return io_.output.produce(topic, record.key, record.value, record.headers, tag);
  };
  const kafka::Error err = txn_.enabled() ? produce_in_transaction(io_.output, fatal_, attempt) : attempt();
  if (txn_.enabled()) {
    if (err && !is_record_too_large(err)) {
      metrics_.produce_errors[record.destination].fetch_add(1, std::memory_order_relaxed);
      txn_.fail();  // aborted and its inputs read again
      return;
    }
  }
  if (!err) return;
  if (err == RD_KAFKA_RESP_ERR__QUEUE_FULL) {
    // Backpressure: keep the record, stop consuming until the queue drains.
    defer(record.destination, tag, record.key, record.value, record.headers, milliseconds(0));
    return;
  }
  if (is_record_too_large(err) && record.destination != Destination::dead_letter) {
    produce_oversized(slot, record, ticket);
    return;
  }
  if (is_record_too_large(err)) {
    fatal_ = "a dead-letter record of " + std::to_string(record.value.size()) +
             " bytes is over the producer's message.max.bytes; raise it (and the topic's max.message.bytes)";
    return;
  }
  metrics_.produce_errors[record.destination].fetch_add(1, std::memory_order_relaxed);
  if (uint64_t held_back = 0; produce_failure_log_.allow(held_back))
    spdlog::warn("produce to {} failed: {}; will try again ({} similar failure(s) not logged)",
                 io_.output.topic_name(topic), kafka::describe(err), held_back);
  defer(record.destination, tag, record.key, record.value, record.headers, milliseconds(500));
}

// The enriched form outgrew the limit: the report goes to the dead-letter topic instead, as its
// original bytes with the reason; the ticket still counts one output.
void Stage::produce_oversized(int slot, const OutputRecord& record, uint64_t ticket) noexcept {
  std::array<kafka::Header, 16> dlq;
  size_t n = 0;
  for (const auto& h : record.headers)
    if (n < dlq.size() - 3 && h.name.starts_with("dlr-") && !h.name.starts_with("dlr-retry")) dlq[n++] = h;
  dlq[n++] = {header::outcome, "invalid"};
  dlq[n++] = {header::reason, core::to_string(core::Reason::output_too_large)};
  dlq[n++] = {header::consumer_group, config_.group_id};
  if (uint64_t held_back = 0; oversize_log_.allow(held_back))
    spdlog::warn(
        "an output record of {} bytes is over message.max.bytes; its report goes to {} as OUTPUT_TOO_LARGE "
        "({} more not logged)",
        record.value.size(), config_.outputs.dead_letter, held_back);
  produce(slot,
          {Destination::dead_letter, record.key, record.original, record.original, std::span(dlq.data(), n)},
          ticket);
}

void Stage::defer(Destination destination, uint64_t tag, std::string_view key, std::string_view value,
                  std::span<const kafka::Header> headers, milliseconds delay) {
  Deferred d;
  d.destination = destination;
  d.tag = tag;
  d.key = key;
  d.value = value;
  for (const auto& h : headers) d.headers.emplace_back(h.name, h.value);
  d.due = Clock::now() + delay;
  deferred_.push_back(std::move(d));
  metrics_.deferred_records.store(static_cast<int64_t>(deferred_.size()), std::memory_order_relaxed);
}

void Stage::produce_deferred() noexcept {
  const auto now = Clock::now();
  std::array<kafka::Header, 16> headers;
  while (!deferred_.empty() && deferred_.front().due <= now) {
    Deferred& d = deferred_.front();
    size_t n = 0;
    for (const auto& [name, value] : d.headers) headers[n++] = {name, value};
    const auto err =
        io_.output.produce(topics_[d.destination], d.key, d.value, std::span(headers.data(), n), d.tag);
    if (err == RD_KAFKA_RESP_ERR__QUEUE_FULL) break;  // still full: try on the next turn
    if (err) {
      metrics_.produce_errors[d.destination].fetch_add(1, std::memory_order_relaxed);
      d.attempts++;
      d.due = now + std::min(milliseconds(10000), milliseconds(500) * (1 << std::min(d.attempts, 5)));
      deferred_.push_back(std::move(d));
      deferred_.pop_front();
      continue;
    }
    metrics_.produce_retries.fetch_add(1, std::memory_order_relaxed);
    deferred_.pop_front();
  }
  metrics_.deferred_records.store(static_cast<int64_t>(deferred_.size()), std::memory_order_relaxed);
}

void Stage::on_delivery(const kafka::Delivery& delivery) noexcept {
  const kafka::OffsetTracker::Tag tag = kafka::OffsetTracker::decode(delivery.tag);
  if (static_cast<size_t>(tag.slot) >= offsets_.slots().size()) return;
  const auto destination = static_cast<Destination>(tag.lane);
  if (!delivery.err) {
    metrics_.produced[destination].fetch_add(1, std::memory_order_relaxed);
    offsets_.acknowledge(tag);
    return;
  }
  metrics_.produce_errors[destination].fetch_add(1, std::memory_order_relaxed);
  if (config_.exactly_once) {
    txn_.fail();  // the transaction is aborted and its inputs read again
    return;
  }
  if (!offsets_.holds(tag)) return;  // revoked meanwhile: the new owner reprocesses it
  // A failed delivery never advances the offset: the record is produced again, with backoff,
  // for as long as it takes; its partition waits.
  if (uint64_t held_back = 0; produce_failure_log_.allow(held_back))
    spdlog::warn(
        "delivery to {} failed: {}; the record is produced again and its input offset waits "
        "({} similar failure(s) not logged)",
        io_.output.topic_name(delivery.topic), kafka::describe(delivery.err), held_back);
  defer(destination, delivery.tag, delivery.key, delivery.value, delivery.headers, milliseconds(500));
}

void Stage::store_offsets() noexcept {
  if (config_.exactly_once) return;  // offsets go with the transactions
  moved_.clear();
  offsets_.take_moved(moved_);
  if (moved_.empty()) return;
  if (auto err = io_.input.store_offsets(moved_)) {
    spdlog::debug("offset store: {}", kafka::describe(err));
    return;
  }
  metrics_.offsets_stored.fetch_add(moved_.size(), std::memory_order_relaxed);
}

}  // namespace dlr::app

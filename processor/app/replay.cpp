#include "replay.h"

#include <algorithm>
#include <chrono>

#include "dlr/kafka/client.h"
#include "fanout.h"

namespace dlr::app {

namespace {
constexpr int kTimeoutMs = 10000;
constexpr auto kCommitInterval = std::chrono::seconds(1);
constexpr auto kProgressInterval = std::chrono::milliseconds(200);
constexpr auto kStallLimit = std::chrono::seconds(60);
using Clock = std::chrono::steady_clock;
}  // namespace

std::string_view describe(Skip skip) noexcept {
  switch (skip) {
    case Skip::reason:
      return "another reason";
    case Skip::source_topic:
      return "another source topic";
    case Skip::time:
      return "outside the time range";
    case Skip::replayed:
      return "dead letters of replayed input (--include-replayed)";
    case Skip::no_source:
      return "no dlr-source-topic header (--to TOPIC)";
    case Skip::not_an_input:
      return "source topic not an input of the config (--to TOPIC)";
  }
  return "?";
}

Replay::Replay(ReplayOptions options, kafka::PartitionReader& reader, kafka::Output& output,
               kafka::GroupOffsets& group)
    : options_(std::move(options)), reader_(reader), output_(output), group_(group) {
  output_.set_listener(*this);
}

std::optional<Skip> Replay::skip_of(std::optional<std::string_view> reason,
                                    std::optional<std::string_view> source_topic,
                                    std::optional<std::string_view> replay_of, int64_t timestamp) const {
  if (replay_of && !options_.include_replayed) return Skip::replayed;
  if (!options_.reasons.empty() && !options_.reasons.contains(std::string(reason.value_or(""))))
    return Skip::reason;
  if (!options_.source_topics.empty() &&
      !options_.source_topics.contains(std::string(source_topic.value_or(""))))
    return Skip::source_topic;
  if (timestamp < options_.since_ms || timestamp >= options_.until_ms) return Skip::time;
  if (!options_.to_topic.empty()) return std::nullopt;
  if (!source_topic || source_topic->empty()) return Skip::no_source;
  const auto& inputs = options_.input_topics;
  if (std::find(inputs.begin(), inputs.end(), *source_topic) == inputs.end()) return Skip::not_an_input;
  return std::nullopt;
}

int Replay::run(const std::atomic<bool>& stop, const std::function<void(const ReplayTally&)>& progress) {
  const std::string& topic = options_.dead_letter_topic;
  if (const kafka::Error err = group_.partition_count(topic, tally_.partitions, kTimeoutMs)) {
    error_ = "cannot read the dead-letter topic " + topic + ": " + kafka::describe(err);
    return 2;
  }
  for (int32_t p = 0; p < tally_.partitions; ++p)
    if (replay_partition(p, stop, progress) != Step::done) return 1;
  tally_.partition = -1;
  progress(tally_);
  return 0;
}

// Where the partition's replay starts and ends; false with error_ set when that cannot be known.
bool Replay::bounds(int32_t partition, int64_t& start, int64_t& end) {
  const std::string& topic = options_.dead_letter_topic;
  const std::string where = topic + "/" + std::to_string(partition);
  if (const kafka::Error err = reader_.end_offset(topic, partition, end, kTimeoutMs)) {
    error_ = "cannot find the end of " + where + ": " + kafka::describe(err);
    return false;
  }
  start = -1;
  if (!options_.from_beginning) {
    if (const kafka::Error err = group_.committed(topic, partition, start, kTimeoutMs)) {
      error_ = "cannot read the replay group's offset of " + where + ": " + kafka::describe(err);
      return false;
    }
  }
  committed_ = start;
  int64_t first = 0;  // dead letters before it are gone (retention)
  if (const kafka::Error err = reader_.start_offset(topic, partition, first, kTimeoutMs)) {
    error_ = "cannot find the start of " + where + ": " + kafka::describe(err);
    return false;
  }
  start = std::max(start, first);
  return true;
}

Replay::Step Replay::replay_partition(int32_t partition, const std::atomic<bool>& stop,
                                      const std::function<void(const ReplayTally&)>& progress) {
  const std::string& topic = options_.dead_letter_topic;
  tally_.partition = partition;
  int64_t start = 0, end = 0;
  if (!bounds(partition, start, end)) return Step::failed;
  if (start >= end) return Step::done;  // nothing new since the last replay
  tally_.to_read += static_cast<uint64_t>(end - start);
  if (const kafka::Error err = reader_.start(topic, partition, start)) {
    error_ = "cannot read " + topic + "/" + std::to_string(partition) + ": " + kafka::describe(err);
    return Step::failed;
  }
  kafka::PartitionProgress offsets;
  current_ = &offsets;
  Step step = read_to(end, partition, offsets, stop, progress);
  reader_.stop();
  const bool drained = drain(stop);
  commit(partition, offsets);
  current_ = nullptr;
  if (step == Step::done && !drained) step = error_.empty() ? Step::stopped : Step::failed;
  return step;
}

Replay::Step Replay::read_to(int64_t end, int32_t partition, kafka::PartitionProgress& offsets,
                             const std::atomic<bool>& stop,
                             const std::function<void(const ReplayTally&)>& progress) {
  auto last_commit = Clock::now();
  auto last_record = Clock::now();
  auto last_progress = Clock::now() - kProgressInterval;
  for (;;) {
    if (stop.load()) return Step::stopped;
    if (!error_.empty()) return Step::failed;
    output_.poll(0);
    const auto now = Clock::now();
    if (now - last_commit >= kCommitInterval) {
      commit(partition, offsets);
      last_commit = now;
    }
    if (now - last_progress >= kProgressInterval) {
      progress(tally_);
      last_progress = now;
    }
    // The end as it was when this partition's turn came: later dead letters wait for the next
    // replay (those of replayed input are passed over anyway).
    const int64_t position = reader_.position();
    if (position >= end) return Step::done;
    const kafka::InputRecord* record = reader_.poll(100);
    if (!record || record->err) {
      if (record) ++tally_.consumer_errors;  // the client retries by itself
      // The last offsets may hold no record (a transaction marker) or belong to a transaction
      // still open: wait for it to end, not for ever.
      if (now - last_record > kStallLimit) {
        error_ = "no dead letter for " + std::to_string(kStallLimit.count()) + "s at " +
                 options_.dead_letter_topic + "/" + std::to_string(partition) + " offset " +
                 std::to_string(position) + " of " + std::to_string(end) +
                 " (a transaction left open, or the brokers unreachable)";
      }
      continue;
    }
    last_record = now;
    if (record->offset >= end) return Step::done;
    handle(*record, offsets);
  }
}

void Replay::handle(const kafka::InputRecord& record, kafka::PartitionProgress& progress) {
  ++tally_.read;
  const auto reason = reader_.last_header(header::reason);
  const auto source = reader_.last_header(header::source_topic);
  if (const auto skip = skip_of(reason, source, reader_.last_header(header::replay_of), record.timestamp)) {
    ++tally_.skipped[static_cast<size_t>(*skip)];
    (void)progress.begin(record.offset, 0);
    return;
  }
  ++tally_.selected[{std::string(reason.value_or("")), std::string(source.value_or(""))}];
  if (options_.dry_run) {
    ++tally_.replayed;
    (void)progress.begin(record.offset, 0);
    return;
  }
  const int topic = topic_handle(options_.to_topic.empty() ? std::string(*source) : options_.to_topic);
  replay_of_.assign(record.topic).append(1, '/').append(std::to_string(record.partition)).append(1, '/');
  replay_of_.append(std::to_string(record.offset));
  const std::array<kafka::Header, 1> headers = {kafka::Header{header::replay_of, replay_of_}};
  const uint64_t ticket = progress.begin(record.offset, 1);
  for (;;) {
    const kafka::Error err = output_.produce(topic, record.key, record.value, headers, ticket);
    if (err != RD_KAFKA_RESP_ERR__QUEUE_FULL) {
      if (err)
        error_ = "cannot write to " + std::string(output_.topic_name(topic)) + ": " + kafka::describe(err);
      return;
    }
    output_.poll(100);  // the queue drains as the broker acknowledges
  }
}

// Waits for every record written to be acknowledged; false when that did not happen.
bool Replay::drain(const std::atomic<bool>& stop) {
  const auto deadline = Clock::now() + std::chrono::milliseconds(stop.load() ? kTimeoutMs : 10 * kTimeoutMs);
  while (output_.queue_length() > 0 && error_.empty() && Clock::now() < deadline) output_.flush(100);
  return output_.queue_length() == 0 && error_.empty();
}

void Replay::commit(int32_t partition, const kafka::PartitionProgress& progress) {
  const int64_t next = progress.committable();
  if (options_.dry_run || next <= committed_) return;
  if (const kafka::Error err = group_.commit(options_.dead_letter_topic, partition, next)) {
    if (error_.empty()) error_ = "cannot commit the replay's offset: " + kafka::describe(err);
    return;
  }
  committed_ = next;
}

int Replay::topic_handle(const std::string& name) {
  auto [it, fresh] = topics_.try_emplace(name, 0);
  if (fresh) it->second = output_.topic(name);
  return it->second;
}

void Replay::on_delivery(const kafka::Delivery& delivery) noexcept {
  if (delivery.err) {
    if (error_.empty())
      error_ = "delivery to " + std::string(output_.topic_name(delivery.topic)) +
               " failed: " + kafka::describe(delivery.err);
    return;
  }
  ++tally_.replayed;
  if (current_) (void)current_->complete(delivery.tag);
}

}  // namespace dlr::app

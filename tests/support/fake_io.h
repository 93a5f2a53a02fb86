// In-memory fakes of the run loop's seams (dlr/kafka/io.h): a partitioned input log with a group
// assignment the test drives, an output whose acknowledgements the test hands out, and
// transactions that count and can fail. No broker, no threads.
#pragma once

#include <algorithm>
#include <deque>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "dlr/kafka/io.h"

namespace dlr::fakes {

using kafka::Error;

struct FakeRecord {
  std::string key;
  std::string value;
  std::vector<std::pair<std::string, std::string>> headers;
};

class FakeInput final : public kafka::Input {
 public:
  using Partition = std::pair<std::string, int32_t>;

  void append(const std::string& topic, int32_t partition, std::string value, std::string key = {},
              std::vector<std::pair<std::string, std::string>> headers = {}) {
    log_[{topic, partition}].push_back({std::move(key), std::move(value), std::move(headers)});
  }
  /// The next poll tells the listener; consumption of these partitions starts at `offset`.
  void assign(const std::vector<Partition>& partitions, int64_t offset = 0) {
    events_.push_back({true, false, partitions});
    for (const auto& p : partitions) position_[p] = offset;
  }
  void revoke(const std::vector<Partition>& partitions, bool lost = false) {
    events_.push_back({false, lost, partitions});
  }

  [[nodiscard]] int64_t position(const Partition& p) const {
    return position_.count(p) ? position_.at(p) : -1;
  }
  [[nodiscard]] std::optional<int64_t> stored(const Partition& p) const {
    if (!stored_.count(p)) return std::nullopt;
    return stored_.at(p);
  }
  [[nodiscard]] std::optional<int64_t> committed(const Partition& p) const {
    if (!committed_.count(p)) return std::nullopt;
    return committed_.at(p);
  }
  /// Paused partitions stay paused through a revoke and a new assignment, as in librdkafka.
  [[nodiscard]] bool paused(const Partition& p) const { return paused_.count(p) > 0; }
  [[nodiscard]] int polls() const noexcept { return polls_; }
  [[nodiscard]] int consumed() const noexcept { return consumed_; }

  void set_listener(kafka::AssignmentListener& listener) noexcept override { listener_ = &listener; }
  const kafka::InputRecord* poll(int) noexcept override;
  [[nodiscard]] std::optional<std::string_view> last_header(std::string_view name) const noexcept override;
  Error store_offsets(std::span<const kafka::TopicPartition> offsets) noexcept override {
    for (const auto& o : offsets) stored_[{std::string(o.topic), o.partition}] = o.offset;
    return RD_KAFKA_RESP_ERR_NO_ERROR;
  }
  Error commit() noexcept override {
    if (stored_.empty()) return RD_KAFKA_RESP_ERR__NO_OFFSET;
    for (const auto& [p, offset] : stored_)
      if (std::find(assigned_.begin(), assigned_.end(), p) != assigned_.end()) committed_[p] = offset;
    return RD_KAFKA_RESP_ERR_NO_ERROR;
  }
  void pause(std::span<const kafka::TopicPartition> partitions) noexcept override {
    for (const auto& p : partitions) paused_.insert({std::string(p.topic), p.partition});
  }
  void resume(std::span<const kafka::TopicPartition> partitions) noexcept override {
    for (const auto& p : partitions) paused_.erase({std::string(p.topic), p.partition});
  }
  void pause_assignment() noexcept override { paused_.insert(assigned_.begin(), assigned_.end()); }
  void resume_assignment() noexcept override {
    for (const auto& p : assigned_) paused_.erase(p);
  }
  Error seek(std::span<const kafka::TopicPartition> positions, int) noexcept override {
    for (const auto& p : positions) position_[{std::string(p.topic), p.partition}] = p.offset;
    ++seeks_;
    return RD_KAFKA_RESP_ERR_NO_ERROR;
  }
  [[nodiscard]] int seeks() const noexcept { return seeks_; }
  void close() noexcept override {
    if (!assigned_.empty()) revoke(assigned_);
    deliver_events();
  }

 private:
  struct Event {
    bool assign;
    bool lost;
    std::vector<Partition> partitions;
  };
  void deliver_events();

  std::map<Partition, std::vector<FakeRecord>> log_;
  std::map<Partition, int64_t> position_, stored_, committed_;
  std::vector<Partition> assigned_;
  std::deque<Event> events_;
  kafka::AssignmentListener* listener_ = nullptr;
  kafka::InputRecord current_;
  const FakeRecord* current_record_ = nullptr;
  std::set<Partition> paused_;
  int polls_ = 0, consumed_ = 0, seeks_ = 0;
};

/// A produced record as the fake broker holds it.
struct Produced {
  int topic = 0;
  int32_t partition = -1;  ///< asked for; -1: by key (the fake writes it to partition 0)
  std::string key;
  std::string value;
  std::vector<std::pair<std::string, std::string>> headers;
  uint64_t tag = 0;
  [[nodiscard]] std::optional<std::string> header(const std::string& name) const {
    for (const auto& [n, v] : headers)
      if (n == name) return v;
    return std::nullopt;
  }
};

class FakeOutput final : public kafka::Output {
 public:
  /// Acknowledges the oldest `n` records in flight (all when n < 0) at the next poll.
  void acknowledge(int n = -1) {
    acks_owed_ = n < 0 ? in_flight_.size() : acks_owed_ + static_cast<size_t>(n);
  }
  /// The next delivery report, for the oldest record in flight, is this failure.
  void fail_next(Error err) { failures_.push_back(err); }
  /// Every record is acknowledged as soon as it is polled for.
  bool auto_acknowledge = false;
  /// flush() acknowledges what is in flight (a broker that answers in time) or not (one that does not).
  bool flush_acknowledges = false;
  /// Records enqueued and not reported, from which produce() answers QUEUE_FULL.
  size_t capacity = 1000000;

  [[nodiscard]] const std::vector<Produced>& written() const noexcept { return written_; }
  [[nodiscard]] const std::deque<Produced>& in_flight() const noexcept { return in_flight_; }
  [[nodiscard]] int produce_calls() const noexcept { return produce_calls_; }
  [[nodiscard]] int last_flush_timeout_ms() const noexcept { return last_flush_timeout_ms_; }
  [[nodiscard]] const std::string& name(int topic) const { return names_[static_cast<size_t>(topic)]; }

  void set_listener(kafka::DeliveryListener& listener) noexcept override { listener_ = &listener; }
  int topic(const std::string& name) override {
    names_.push_back(name);
    return static_cast<int>(names_.size()) - 1;
  }
  [[nodiscard]] std::string_view topic_name(int topic) const noexcept override {
    return names_[static_cast<size_t>(topic)];
  }
  Error produce(int topic, std::string_view key, std::string_view value,
                std::span<const kafka::Header> headers, uint64_t tag) noexcept override {
    return produce_to(topic, -1, key, value, headers, tag);
  }
  Error produce_to(int topic, int32_t partition, std::string_view key, std::string_view value,
                   std::span<const kafka::Header> headers, uint64_t tag) noexcept override;
  int poll(int) noexcept override;
  Error flush(int timeout_ms) noexcept override {
    last_flush_timeout_ms_ = timeout_ms;
    if (flush_acknowledges) acknowledge();
    poll(0);
    return in_flight_.empty() ? RD_KAFKA_RESP_ERR_NO_ERROR : RD_KAFKA_RESP_ERR__TIMED_OUT;
  }
  [[nodiscard]] int queue_length() const noexcept override { return static_cast<int>(in_flight_.size()); }
  [[nodiscard]] std::string fatal_error() const override { return {}; }

 private:
  std::vector<std::string> names_;
  std::map<std::pair<int, int32_t>, int64_t> next_offset_;  ///< per topic and partition
  std::deque<Produced> in_flight_;
  std::vector<Produced> written_;
  std::deque<Error> failures_;
  size_t acks_owed_ = 0;
  int produce_calls_ = 0;
  int last_flush_timeout_ms_ = -1;
  kafka::DeliveryListener* listener_ = nullptr;
};

/// A changelog the test fills: end_offset is its length, poll hands out records from start().
class FakePartitionReader final : public kafka::PartitionReader {
 public:
  void append(int32_t partition, std::string key, std::string value,
              std::vector<std::pair<std::string, std::string>> headers = {}) {
    log_[partition].push_back({std::move(key), std::move(value), std::move(headers)});
  }
  [[nodiscard]] int starts() const noexcept { return starts_; }
  /// The low watermark: offsets before it are gone (retention).
  int64_t first_offset = 0;
  /// The next end_offset() calls answer these errors, one each, before the true end.
  std::deque<Error> end_offset_errors;
  int end_offset_calls = 0;

  Error end_offset(std::string_view, int32_t partition, int64_t& end, int) noexcept override {
    ++end_offset_calls;
    if (!end_offset_errors.empty()) {
      const Error err = end_offset_errors.front();
      end_offset_errors.pop_front();
      return err;
    }
    end = static_cast<int64_t>(log_[partition].size());
    return RD_KAFKA_RESP_ERR_NO_ERROR;
  }
  Error start_offset(std::string_view, int32_t, int64_t& start, int) noexcept override {
    start = first_offset;
    return RD_KAFKA_RESP_ERR_NO_ERROR;
  }
  Error start(std::string_view topic, int32_t partition, int64_t offset) noexcept override {
    topic_ = std::string(topic);
    partition_ = partition;
    position_ = offset;
    ++starts_;
    return RD_KAFKA_RESP_ERR_NO_ERROR;
  }
  const kafka::InputRecord* poll(int) noexcept override {
    const auto& log = log_[partition_];
    if (position_ < 0 || position_ >= static_cast<int64_t>(log.size())) return nullptr;
    const FakeRecord& r = log[static_cast<size_t>(position_)];
    current_record_ = &r;
    current_ = {RD_KAFKA_RESP_ERR_NO_ERROR,
                topic_,
                partition_,
                position_,
                1000 + position_,
                r.key,
                r.value.empty() ? std::string_view() : std::string_view(r.value)};
    ++position_;
    return &current_;
  }
  [[nodiscard]] int64_t position() noexcept override { return position_; }
  [[nodiscard]] std::optional<std::string_view> last_header(std::string_view name) const noexcept override {
    std::optional<std::string_view> found;
    if (current_record_)
      for (const auto& [n, v] : current_record_->headers)
        if (n == name) found = v;
    return found;
  }
  void stop() noexcept override { position_ = -1; }

 private:
  std::map<int32_t, std::vector<FakeRecord>> log_;
  const FakeRecord* current_record_ = nullptr;
  std::string topic_;
  int32_t partition_ = 0;
  int64_t position_ = -1;
  int starts_ = 0;
  kafka::InputRecord current_;
};

/// A group's committed offsets in memory, for a topic of `partitions` partitions.
class FakeGroupOffsets final : public kafka::GroupOffsets {
 public:
  int32_t partitions = 1;
  std::map<int32_t, int64_t> offsets;  ///< committed next offsets
  int commits = 0;

  Error partition_count(std::string_view, int32_t& count, int) noexcept override {
    count = partitions;
    return RD_KAFKA_RESP_ERR_NO_ERROR;
  }
  Error committed(std::string_view, int32_t partition, int64_t& offset, int) noexcept override {
    offset = offsets.count(partition) ? offsets.at(partition) : -1;
    return RD_KAFKA_RESP_ERR_NO_ERROR;
  }
  Error commit(std::string_view, int32_t partition, int64_t offset) noexcept override {
    offsets[partition] = offset;
    ++commits;
    return RD_KAFKA_RESP_ERR_NO_ERROR;
  }

  std::map<std::pair<std::string, int32_t>, std::pair<int64_t, int64_t>> logs;  ///< low and high watermarks
  std::map<std::pair<std::string, int32_t>, int64_t> group;                     ///< committed, per topic
  Error answer = RD_KAFKA_RESP_ERR_NO_ERROR;  ///< what offsets() fails with; none by default
  Error partition_offsets(std::string_view topic, std::vector<kafka::PartitionOffsets>& out,
                          int) noexcept override {
    out.clear();
    if (answer) return answer;
    for (const auto& [tp, watermarks] : logs) {
      if (tp.first != topic) continue;
      const auto c = group.find(tp);
      out.push_back({tp.second, c == group.end() ? -1 : c->second, watermarks.first, watermarks.second});
    }
    return RD_KAFKA_RESP_ERR_NO_ERROR;
  }
};

class FakeTransactions final : public kafka::Transactions {
 public:
  int begun = 0, committed = 0, aborted = 0;
  int send_calls = 0, commit_calls = 0;
  std::vector<std::pair<std::string, int64_t>> offsets_sent;
  /// Answers of the next send_offsets and commit calls before they succeed (e.g. retriable).
  std::deque<kafka::TxnStatus> send_answers, commit_answers;
  kafka::TxnStatus init(int) noexcept override { return {}; }
  kafka::TxnStatus begin() noexcept override {
    ++begun;
    return {};
  }
  kafka::TxnStatus send_offsets(std::span<const kafka::TopicPartition> offsets, int) noexcept override {
    ++send_calls;
    if (!send_answers.empty()) return next(send_answers);
    for (const auto& o : offsets) offsets_sent.emplace_back(std::string(o.topic), o.offset);
    return {};
  }
  kafka::TxnStatus commit(int) noexcept override {
    ++commit_calls;
    if (!commit_answers.empty()) return next(commit_answers);
    ++committed;
    return {};
  }
  static kafka::TxnStatus retriable() { return {false, true, false, false, "timed out (_TIMED_OUT)"}; }
  kafka::TxnStatus abort(int) noexcept override {
    ++aborted;
    return {};
  }

 private:
  static kafka::TxnStatus next(std::deque<kafka::TxnStatus>& answers) {
    kafka::TxnStatus s = std::move(answers.front());
    answers.pop_front();
    return s;
  }
};

}  // namespace dlr::fakes

// The seams of a run loop: an input (consume, offsets, pause, assignment events), an output
// (produce, acknowledgements, queue) and transactions. kafka_io.h implements them over librdkafka;
// tests/support/fake_io.h over memory, so the loop is tested without a broker. Only librdkafka's
// error enum is used here, for the codes the loop acts on.
#pragma once

#include <librdkafka/rdkafka.h>

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace dlr::kafka {

using Error = rd_kafka_resp_err_t;

/// One record header; both views are copied by produce().
struct Header {
  std::string_view name;
  std::string_view value;
};

/// A partition, with an offset where one is meant (the next to consume or commit).
struct TopicPartition {
  std::string_view topic;
  int32_t partition = 0;
  int64_t offset = -1;
};

/// A consumed record, or an error event (err set). Valid until the next poll.
struct InputRecord {
  Error err = RD_KAFKA_RESP_ERR_NO_ERROR;
  std::string_view topic;
  int32_t partition = 0;
  int64_t offset = -1;
  int64_t timestamp = -1;
  std::string_view key;
  std::string_view value;
};

/// Told about assignment changes, inside Input::poll.
class AssignmentListener {
 public:
  virtual ~AssignmentListener() = default;
  /// Partitions just added to the assignment.
  virtual void on_assigned(std::span<const TopicPartition> partitions) noexcept = 0;
  /// Partitions about to leave; `lost` when the group already gave them away (commit nothing).
  virtual void on_revoking(std::span<const TopicPartition> partitions, bool lost) noexcept = 0;
};

/// A group consumer. One thread polls.
class Input {
 public:
  virtual ~Input() = default;
  virtual void set_listener(AssignmentListener& listener) noexcept = 0;
  /// The next record or event, or null after the timeout. Assignment events run inside.
  virtual const InputRecord* poll(int timeout_ms) noexcept = 0;
  /// The last value of header `name` on the record poll() returned last.
  [[nodiscard]] virtual std::optional<std::string_view> last_header(std::string_view name) const noexcept = 0;
  /// Next-offsets to commit (by the commit timer or commit()).
  virtual Error store_offsets(std::span<const TopicPartition> offsets) noexcept = 0;
  /// Commits the stored offsets, synchronously. RD_KAFKA_RESP_ERR__NO_OFFSET when none.
  virtual Error commit() noexcept = 0;
  /// A partition's pause outlives its revocation: librdkafka keeps it paused when it is assigned
  /// again, so an assignment states it either way.
  virtual void pause(std::span<const TopicPartition> partitions) noexcept = 0;
  virtual void resume(std::span<const TopicPartition> partitions) noexcept = 0;
  virtual void pause_assignment() noexcept = 0;
  virtual void resume_assignment() noexcept = 0;
  /// Moves the fetch position of assigned partitions (exactly-once rewinds).
  virtual Error seek(std::span<const TopicPartition> positions, int timeout_ms) noexcept = 0;
  /// Leaves the group, revoking everything through the listener. Idempotent.
  virtual void close() noexcept = 0;
};

/// Reads one partition at a time outside any consumer group, from a chosen offset: a state
/// store catching up with its changelog. One thread uses it.
class PartitionReader {
 public:
  virtual ~PartitionReader() = default;
  /// The partition's high watermark now: the offset after its last record, committed or not.
  /// Read up to it under read_committed, a transaction still open must end first (its records
  /// are then skipped or read): what was committed after it is not missed.
  virtual Error end_offset(std::string_view topic, int32_t partition, int64_t& end,
                           int timeout_ms) noexcept = 0;
  /// The partition's low watermark: its first offset the broker still holds.
  virtual Error start_offset(std::string_view topic, int32_t partition, int64_t& start,
                             int timeout_ms) noexcept = 0;
  /// Reads `topic`/`partition` from `offset` on (replacing what was read before).
  virtual Error start(std::string_view topic, int32_t partition, int64_t offset) noexcept = 0;
  /// The next record or error event, or null after the timeout. Valid until the next poll.
  virtual const InputRecord* poll(int timeout_ms) noexcept = 0;
  /// The offset after the last record poll() returned (-1 before any): past compacted-away
  /// records and transaction markers, it tells when the end is reached.
  [[nodiscard]] virtual int64_t position() noexcept = 0;
  /// The last value of header `name` on the record poll() returned last.
  [[nodiscard]] virtual std::optional<std::string_view> last_header(std::string_view name) const noexcept = 0;
  /// Stops reading (the store is up to date).
  virtual void stop() noexcept = 0;
};

/// One partition as its group and its log see it.
struct PartitionOffsets {
  int32_t partition = 0;
  int64_t committed = -1;  ///< the group's next offset, -1 when it has none
  int64_t low = -1;        ///< the log's first offset
  int64_t high = -1;       ///< the high watermark (read_uncommitted: every record, as Kafka's tools count)
};

/// A consumer group's committed offsets, read and written without joining the group: how far a
/// tool that reads partitions itself (a replay) has got, so that it resumes after an interruption,
/// and how far behind the group is on every partition, assigned to this instance or not.
class GroupOffsets {
 public:
  virtual ~GroupOffsets() = default;
  /// The topic's partitions, from the brokers' metadata.
  virtual Error partition_count(std::string_view topic, int32_t& count, int timeout_ms) noexcept = 0;
  /// The group's next offset for the partition, -1 when it has none.
  virtual Error committed(std::string_view topic, int32_t partition, int64_t& offset,
                          int timeout_ms) noexcept = 0;
  /// Commits the next offset, synchronously.
  virtual Error commit(std::string_view topic, int32_t partition, int64_t offset) noexcept = 0;
  /// Every partition of the topic, in order: the group's committed offset and the watermarks,
  /// each asked for the whole topic at once.
  virtual Error partition_offsets(std::string_view topic, std::vector<PartitionOffsets>& out,
                                  int timeout_ms) noexcept = 0;
};

/// A delivery report, success or failure.
struct Delivery {
  uint64_t tag = 0;  ///< what produce() was given
  Error err = RD_KAFKA_RESP_ERR_NO_ERROR;
  int topic = 0;
  int32_t partition = -1;  ///< where the record was written (on success)
  int64_t offset = -1;     ///< its offset there (on success)
  std::string_view key;
  std::string_view value;
  std::span<const Header> headers;  ///< filled on failure only (to produce the record again)
};

/// Told about every delivery report, inside Output::poll or flush.
class DeliveryListener {
 public:
  virtual ~DeliveryListener() = default;
  virtual void on_delivery(const Delivery& delivery) noexcept = 0;
};

/// A producer. One thread produces and polls.
class Output {
 public:
  virtual ~Output() = default;
  virtual void set_listener(DeliveryListener& listener) noexcept = 0;
  /// A handle for produce(), kept for the output's life.
  virtual int topic(const std::string& name) = 0;
  [[nodiscard]] virtual std::string_view topic_name(int topic) const noexcept = 0;
  /// Enqueues one record (copied); an empty key is a null key. RD_KAFKA_RESP_ERR__QUEUE_FULL when
  /// the local queue is full; otherwise its delivery report comes later, with `tag`.
  virtual Error produce(int topic, std::string_view key, std::string_view value,
                        std::span<const Header> headers, uint64_t tag) noexcept = 0;
  /// The same, to one partition rather than the key's (a changelog follows its input partition).
  virtual Error produce_to(int topic, int32_t partition, std::string_view key, std::string_view value,
                           std::span<const Header> headers, uint64_t tag) noexcept = 0;
  /// Serves delivery reports; returns how many.
  virtual int poll(int timeout_ms) noexcept = 0;
  /// Waits until every enqueued record is reported, or the timeout passes.
  virtual Error flush(int timeout_ms) noexcept = 0;
  /// Records enqueued and not yet reported.
  [[nodiscard]] virtual int queue_length() const noexcept = 0;
  /// The error after which the producer cannot go on, or "".
  [[nodiscard]] virtual std::string fatal_error() const = 0;
};

/// The outcome of a transaction call: what may be done next.
struct TxnStatus {
  bool ok = true;
  bool retriable = false;       ///< the same call may be tried again
  bool requires_abort = false;  ///< abort the transaction, rewind the inputs, start again
  bool fatal = false;           ///< the producer cannot go on: stop
  std::string message;
};

/// Kafka transactions of the output, with the input's offsets (exactly-once).
class Transactions {
 public:
  virtual ~Transactions() = default;
  virtual TxnStatus init(int timeout_ms) noexcept = 0;
  virtual TxnStatus begin() noexcept = 0;
  /// Adds the input's next offsets to the open transaction, under the input's group.
  virtual TxnStatus send_offsets(std::span<const TopicPartition> offsets, int timeout_ms) noexcept = 0;
  virtual TxnStatus commit(int timeout_ms) noexcept = 0;
  virtual TxnStatus abort(int timeout_ms) noexcept = 0;
};

}  // namespace dlr::kafka

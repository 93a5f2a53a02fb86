// Thin RAII over librdkafka's C API: configuration, a producer with delivery reports, a group
// consumer with cooperative rebalancing. No domain code: callers decide what to produce and when
// an offset may be stored.
#pragma once

#include <librdkafka/rdkafka.h>

#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <unordered_map>
#include <utility>
#include <vector>

#include "dlr/kafka/io.h"

namespace dlr::kafka {

/// librdkafka properties in the order they are applied; a later value for a key wins.
using Properties = std::vector<std::pair<std::string, std::string>>;

struct ConfDeleter {
  void operator()(rd_kafka_conf_t* conf) const noexcept { rd_kafka_conf_destroy(conf); }
};
using ConfPtr = std::unique_ptr<rd_kafka_conf_t, ConfDeleter>;

/// Builds a configuration. On an unknown property or a bad value returns null and sets `error`
/// to "property: librdkafka's message".
[[nodiscard]] ConfPtr make_conf(const Properties& properties, std::string& error);

struct MessageDeleter {
  void operator()(rd_kafka_message_t* message) const noexcept { rd_kafka_message_destroy(message); }
};
using MessagePtr = std::unique_ptr<rd_kafka_message_t, MessageDeleter>;

/// An owned topic-partition list.
class PartitionList {
 public:
  explicit PartitionList(int capacity = 8) : list_(rd_kafka_topic_partition_list_new(capacity)) {}
  explicit PartitionList(rd_kafka_topic_partition_list_t* adopted) : list_(adopted) {}
  PartitionList(PartitionList&& other) noexcept : list_(std::exchange(other.list_, nullptr)) {}
  PartitionList& operator=(PartitionList&& other) noexcept {
    std::swap(list_, other.list_);
    return *this;
  }
  PartitionList(const PartitionList&) = delete;
  PartitionList& operator=(const PartitionList&) = delete;
  ~PartitionList() {
    if (list_) rd_kafka_topic_partition_list_destroy(list_);
  }
  rd_kafka_topic_partition_t& add(const char* topic, int32_t partition) {
    return *rd_kafka_topic_partition_list_add(list_, topic, partition);
  }
  [[nodiscard]] int size() const noexcept { return list_ ? list_->cnt : 0; }
  [[nodiscard]] std::span<rd_kafka_topic_partition_t> items() const noexcept {
    return list_ ? std::span(list_->elems, static_cast<size_t>(list_->cnt))
                 : std::span<rd_kafka_topic_partition_t>();
  }
  [[nodiscard]] rd_kafka_topic_partition_list_t* get() const noexcept { return list_; }

 private:
  rd_kafka_topic_partition_list_t* list_;
};

/// Receives every delivery report, success or failure, on the thread that calls Producer::poll()
/// or flush(). The message (payload, key, headers, opaque) is valid only during the call.
class DeliveryHandler {
 public:
  virtual ~DeliveryHandler() = default;
  virtual void on_delivery(const rd_kafka_message_t& message) noexcept = 0;
};

class Consumer;

/// A producer. Thread-compatible: one thread produces and polls.
class Producer {
 public:
  /// Creates the client; on failure returns null and sets `error`.
  static std::unique_ptr<Producer> create(const Properties& properties, DeliveryHandler& handler,
                                          std::string& error);
  ~Producer();
  Producer(const Producer&) = delete;
  Producer& operator=(const Producer&) = delete;

  /// The topic's handle, created on first use and kept for the producer's life.
  rd_kafka_topic_t* topic(const std::string& name);

  /// Enqueues one record (payload, key and headers are copied); an empty key is a null key.
  /// Returns RD_KAFKA_RESP_ERR__QUEUE_FULL when the local queue is full, or the error that
  /// stopped the record from being enqueued; its delivery report comes later otherwise.
  [[nodiscard]] rd_kafka_resp_err_t produce(rd_kafka_topic_t* topic, std::string_view key,
                                            std::string_view value, std::span<const Header> headers,
                                            void* opaque, int32_t partition = RD_KAFKA_PARTITION_UA) noexcept;

  /// Serves delivery reports; returns how many were served.
  int poll(int timeout_ms) noexcept { return rd_kafka_poll(rk_, timeout_ms); }
  /// Waits until every enqueued record has its delivery report, or the timeout passes.
  rd_kafka_resp_err_t flush(int timeout_ms) noexcept { return rd_kafka_flush(rk_, timeout_ms); }
  /// Records enqueued and not yet reported, plus reports not yet served.
  [[nodiscard]] int queue_length() const noexcept { return rd_kafka_outq_len(rk_); }
  /// librdkafka's fatal error (the idempotent producer cannot go on), or "" when there is none.
  [[nodiscard]] std::string fatal_error() const;
  [[nodiscard]] rd_kafka_t* handle() const noexcept { return rk_; }

  // Transactions (the producer needs transactional.id).
  TxnStatus init_transactions(int timeout_ms) noexcept;
  TxnStatus begin_transaction() noexcept;
  /// Adds the consumer's next offsets to the transaction, under the consumer's group.
  TxnStatus send_offsets_to_transaction(const PartitionList& offsets, const Consumer& consumer,
                                        int timeout_ms) noexcept;
  TxnStatus commit_transaction(int timeout_ms) noexcept;
  TxnStatus abort_transaction(int timeout_ms) noexcept;

 private:
  explicit Producer(rd_kafka_t* rk) : rk_(rk) {}
  rd_kafka_t* rk_;
  std::unordered_map<std::string, rd_kafka_topic_t*> topics_;
};

/// Told about assignment changes, on the thread that calls Consumer::poll().
class RebalanceHandler {
 public:
  virtual ~RebalanceHandler() = default;
  /// Partitions just added to the assignment (already assigned when this runs).
  virtual void on_assigned(const PartitionList& partitions) noexcept = 0;
  /// Partitions about to leave the assignment; `lost` when the group already gave them to
  /// another member, so their offsets must not be committed.
  virtual void on_revoking(const PartitionList& partitions, bool lost) noexcept = 0;
};

/// A group consumer. Cooperative and eager rebalancing both work; the handler hears of both
/// the same way. Thread-compatible: one thread polls.
class Consumer {
 public:
  static std::unique_ptr<Consumer> create(const Properties& properties, RebalanceHandler& handler,
                                          std::string& error);
  ~Consumer();
  Consumer(const Consumer&) = delete;
  Consumer& operator=(const Consumer&) = delete;

  [[nodiscard]] rd_kafka_resp_err_t subscribe(const std::vector<std::string>& topics);
  /// The next message or event (message->err set), or null after the timeout. Rebalance
  /// callbacks run inside this call.
  MessagePtr poll(int timeout_ms) noexcept { return MessagePtr(rd_kafka_consumer_poll(rk_, timeout_ms)); }
  /// Stores next-offsets to be committed (by the auto-commit timer or commit()).
  rd_kafka_resp_err_t store_offsets(const PartitionList& offsets) noexcept;
  /// Commits the stored offsets of the current assignment, synchronously.
  rd_kafka_resp_err_t commit() noexcept { return rd_kafka_commit(rk_, nullptr, 0); }
  rd_kafka_resp_err_t pause(const PartitionList& partitions) noexcept;
  rd_kafka_resp_err_t resume(const PartitionList& partitions) noexcept;
  [[nodiscard]] PartitionList assignment() const;
  /// Committed offsets of the given partitions, fetched from the group coordinator.
  rd_kafka_resp_err_t committed(PartitionList& partitions, int timeout_ms) noexcept;
  /// Leaves the group (revoking everything through the handler). Idempotent.
  rd_kafka_resp_err_t close() noexcept;
  [[nodiscard]] rd_kafka_t* handle() const noexcept { return rk_; }
  [[nodiscard]] bool cooperative() const noexcept;
  /// Moves the fetch position of assigned partitions (offsets in the list).
  rd_kafka_resp_err_t seek(const PartitionList& positions, int timeout_ms) noexcept;

 private:
  explicit Consumer(RebalanceHandler& handler) : handler_(handler) {}
  static void rebalance_trampoline(rd_kafka_t* rk, rd_kafka_resp_err_t err,
                                   rd_kafka_topic_partition_list_t* partitions, void* opaque);
  void rebalance(rd_kafka_resp_err_t err, rd_kafka_topic_partition_list_t* partitions) noexcept;
  rd_kafka_t* rk_ = nullptr;
  RebalanceHandler& handler_;
  bool closed_ = false;
};

/// "message (ERR_NAME)" for an error code.
[[nodiscard]] std::string describe(rd_kafka_resp_err_t err);

/// An error a cluster in motion answers with for a while (a leader moving, a broker restarting,
/// the connection not up yet): asking again later succeeds.
[[nodiscard]] bool transient(rd_kafka_resp_err_t err) noexcept;

/// The first authentication or TLS failure any client of this process met ("" while none).
/// librdkafka retries these forever; wrong credentials or certificates need an operator, so the
/// owner stops with this message instead of running without a connection.
[[nodiscard]] std::string configuration_error();

}  // namespace dlr::kafka

// The seams of io.h over librdkafka: a group consumer, a producer and its transactions.
#pragma once

#include <array>
#include <memory>
#include <string>
#include <vector>

#include "dlr/kafka/client.h"
#include "dlr/kafka/io.h"

namespace dlr::kafka {

class KafkaInput final : public Input, RebalanceHandler {
 public:
  /// Creates the consumer; null with `error` set on failure.
  static std::unique_ptr<KafkaInput> create(const Properties& properties, std::string& error);
  [[nodiscard]] Error subscribe(const std::vector<std::string>& topics) {
    return consumer_->subscribe(topics);
  }
  [[nodiscard]] Consumer& consumer() noexcept { return *consumer_; }

  void set_listener(AssignmentListener& listener) noexcept override { listener_ = &listener; }
  const InputRecord* poll(int timeout_ms) noexcept override;
  [[nodiscard]] std::optional<std::string_view> last_header(std::string_view name) const noexcept override;
  Error store_offsets(std::span<const TopicPartition> offsets) noexcept override;
  Error commit() noexcept override { return consumer_->commit(); }
  void pause(std::span<const TopicPartition> partitions) noexcept override;
  void resume(std::span<const TopicPartition> partitions) noexcept override;
  void pause_assignment() noexcept override { consumer_->pause(consumer_->assignment()); }
  void resume_assignment() noexcept override { consumer_->resume(consumer_->assignment()); }
  Error seek(std::span<const TopicPartition> positions, int timeout_ms) noexcept override;
  void close() noexcept override { consumer_->close(); }

 private:
  KafkaInput() = default;
  void on_assigned(const PartitionList& partitions) noexcept override;
  void on_revoking(const PartitionList& partitions, bool lost) noexcept override;
  const std::vector<TopicPartition>& view(const PartitionList& partitions);

  std::unique_ptr<Consumer> consumer_;
  AssignmentListener* listener_ = nullptr;
  MessagePtr current_;
  InputRecord record_;
  std::vector<TopicPartition> scratch_;
};

/// A consumer without a group, reading assigned partitions from chosen offsets.
class KafkaPartitionReader final : public PartitionReader {
 public:
  static std::unique_ptr<KafkaPartitionReader> create(const Properties& properties, std::string& error);
  ~KafkaPartitionReader() override;
  KafkaPartitionReader(const KafkaPartitionReader&) = delete;
  KafkaPartitionReader& operator=(const KafkaPartitionReader&) = delete;

  Error end_offset(std::string_view topic, int32_t partition, int64_t& end, int timeout_ms) noexcept override;
  Error start_offset(std::string_view topic, int32_t partition, int64_t& start,
                     int timeout_ms) noexcept override;
  Error start(std::string_view topic, int32_t partition, int64_t offset) noexcept override;
  const InputRecord* poll(int timeout_ms) noexcept override;
  [[nodiscard]] int64_t position() noexcept override;
  [[nodiscard]] std::optional<std::string_view> last_header(std::string_view name) const noexcept override;
  void stop() noexcept override;

 private:
  explicit KafkaPartitionReader(rd_kafka_t* rk) : rk_(rk) {}
  std::string topic_;
  int32_t partition_ = 0;
  rd_kafka_t* rk_;
  rd_kafka_t* watermarks_ = nullptr;  ///< read_uncommitted: the high watermark, not the stable offset
  bool connected_ = false;            ///< rk_ has asked the broker something
  MessagePtr current_;
  InputRecord record_;
};

/// A group's committed offsets through a consumer that never joins the group.
class KafkaGroupOffsets final : public GroupOffsets {
 public:
  /// `properties` name the group (group.id).
  static std::unique_ptr<KafkaGroupOffsets> create(const Properties& properties, std::string& error);
  ~KafkaGroupOffsets() override;
  KafkaGroupOffsets(const KafkaGroupOffsets&) = delete;
  KafkaGroupOffsets& operator=(const KafkaGroupOffsets&) = delete;

  Error partition_count(std::string_view topic, int32_t& count, int timeout_ms) noexcept override;
  Error committed(std::string_view topic, int32_t partition, int64_t& offset,
                  int timeout_ms) noexcept override;
  Error commit(std::string_view topic, int32_t partition, int64_t offset) noexcept override;
  Error partition_offsets(std::string_view topic, std::vector<PartitionOffsets>& out,
                          int timeout_ms) noexcept override;

 private:
  explicit KafkaGroupOffsets(rd_kafka_t* rk) : rk_(rk) {}
  rd_kafka_t* rk_;
};

class KafkaOutput final : public Output, DeliveryHandler {
 public:
  static std::unique_ptr<KafkaOutput> create(const Properties& properties, std::string& error);
  [[nodiscard]] Producer& producer() noexcept { return *producer_; }

  void set_listener(DeliveryListener& listener) noexcept override { listener_ = &listener; }
  int topic(const std::string& name) override;
  [[nodiscard]] std::string_view topic_name(int topic) const noexcept override {
    return names_[static_cast<size_t>(topic)];
  }
  Error produce_to(int topic, int32_t partition, std::string_view key, std::string_view value,
                   std::span<const Header> headers, uint64_t tag) noexcept override;
  Error produce(int topic, std::string_view key, std::string_view value, std::span<const Header> headers,
                uint64_t tag) noexcept override;
  int poll(int timeout_ms) noexcept override { return producer_->poll(timeout_ms); }
  Error flush(int timeout_ms) noexcept override { return producer_->flush(timeout_ms); }
  [[nodiscard]] int queue_length() const noexcept override { return producer_->queue_length(); }
  [[nodiscard]] std::string fatal_error() const override { return producer_->fatal_error(); }

 private:
  KafkaOutput() = default;
  void on_delivery(const rd_kafka_message_t& message) noexcept override;

  std::unique_ptr<Producer> producer_;
  DeliveryListener* listener_ = nullptr;
  std::vector<rd_kafka_topic_t*> topics_;
  std::vector<std::string> names_;
  std::array<Header, 16> failed_headers_{};
};

class KafkaTransactions final : public Transactions {
 public:
  KafkaTransactions(Producer& producer, Consumer& consumer) : producer_(producer), consumer_(consumer) {}
  TxnStatus init(int timeout_ms) noexcept override { return producer_.init_transactions(timeout_ms); }
  TxnStatus begin() noexcept override { return producer_.begin_transaction(); }
  TxnStatus send_offsets(std::span<const TopicPartition> offsets, int timeout_ms) noexcept override;
  TxnStatus commit(int timeout_ms) noexcept override { return producer_.commit_transaction(timeout_ms); }
  TxnStatus abort(int timeout_ms) noexcept override { return producer_.abort_transaction(timeout_ms); }

 private:
  Producer& producer_;
  Consumer& consumer_;
};

}  // namespace dlr::kafka

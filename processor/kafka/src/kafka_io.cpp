#include "dlr/kafka/kafka_io.h"

#include "dlr/kafka/properties.h"

namespace dlr::kafka {
namespace {

rd_kafka_t* new_consumer(const Properties& properties, std::string& error) {
  ConfPtr conf = make_conf(properties, error);
  if (!conf) return nullptr;
  char message[512];
  rd_kafka_t* rk = rd_kafka_new(RD_KAFKA_CONSUMER, conf.get(), message, sizeof message);
  if (!rk) {
    error = message;
    return nullptr;
  }
  (void)conf.release();  // rd_kafka_new took it
  return rk;
}

// Topic names in a list must be NUL-terminated for librdkafka.
PartitionList to_list(std::span<const TopicPartition> partitions) {
  PartitionList list(static_cast<int>(partitions.size()));
  for (const auto& p : partitions) list.add(std::string(p.topic).c_str(), p.partition).offset = p.offset;
  return list;
}

// The last value of header `name` on `message`.
std::optional<std::string_view> header_of(const rd_kafka_message_t* message, std::string_view name) noexcept {
  rd_kafka_headers_t* headers = nullptr;
  if (!message || rd_kafka_message_headers(message, &headers) != RD_KAFKA_RESP_ERR_NO_ERROR) return {};
  const void* value = nullptr;
  size_t size = 0;
  for (size_t i = 0;; ++i) {  // header_get_last needs a NUL-terminated name: scan instead
    const char* header_name = nullptr;
    const void* v = nullptr;
    size_t n = 0;
    if (rd_kafka_header_get_all(headers, i, &header_name, &v, &n) != RD_KAFKA_RESP_ERR_NO_ERROR) break;
    if (name == header_name) {
      value = v;
      size = n;
    }
  }
  if (!value) return {};
  return std::string_view(static_cast<const char*>(value), size);
}

// librdkafka answers a watermark query from the leader it has cached: after a leader change it
// asks the old one (NOT_LEADER_FOR_PARTITION) until its next periodic metadata refresh, minutes
// away. So on such an answer the topic's metadata is fetched now and the question asked again.
Error query_watermarks(rd_kafka_t* rk, const std::string& topic, int32_t partition, int64_t& low,
                       int64_t& high, int timeout_ms) noexcept {
  Error err = rd_kafka_query_watermark_offsets(rk, topic.c_str(), partition, &low, &high, timeout_ms);
  if (!err || !transient(err)) return err;
  if (rd_kafka_topic_t* rkt = rd_kafka_topic_new(rk, topic.c_str(), nullptr)) {
    const rd_kafka_metadata_t* metadata = nullptr;
    if (!rd_kafka_metadata(rk, 0, rkt, &metadata, timeout_ms)) rd_kafka_metadata_destroy(metadata);
    rd_kafka_topic_destroy(rkt);
  }
  return rd_kafka_query_watermark_offsets(rk, topic.c_str(), partition, &low, &high, timeout_ms);
}

}  // namespace

std::unique_ptr<KafkaInput> KafkaInput::create(const Properties& properties, std::string& error) {
  std::unique_ptr<KafkaInput> input(new KafkaInput());
  input->consumer_ = Consumer::create(properties, *input, error);
  if (!input->consumer_) return nullptr;
  return input;
}

const InputRecord* KafkaInput::poll(int timeout_ms) noexcept {
  current_ = consumer_->poll(timeout_ms);
  if (!current_) return nullptr;
  const rd_kafka_message_t& m = *current_;
  record_.err = m.err;
  record_.topic = m.rkt ? rd_kafka_topic_name(m.rkt) : std::string_view();
  record_.partition = m.partition;
  record_.offset = m.offset;
  rd_kafka_timestamp_type_t type{};
  record_.timestamp = m.err ? -1 : rd_kafka_message_timestamp(&m, &type);
  record_.key = m.key ? std::string_view(static_cast<const char*>(m.key), m.key_len) : std::string_view();
  record_.value =
      m.payload ? std::string_view(static_cast<const char*>(m.payload), m.len) : std::string_view();
  return &record_;
}

std::optional<std::string_view> KafkaInput::last_header(std::string_view name) const noexcept {
  return header_of(current_.get(), name);
}

Error KafkaInput::store_offsets(std::span<const TopicPartition> offsets) noexcept {
  return consumer_->store_offsets(to_list(offsets));
}

void KafkaInput::pause(std::span<const TopicPartition> partitions) noexcept {
  consumer_->pause(to_list(partitions));
}

void KafkaInput::resume(std::span<const TopicPartition> partitions) noexcept {
  consumer_->resume(to_list(partitions));
}

Error KafkaInput::seek(std::span<const TopicPartition> positions, int timeout_ms) noexcept {
  return consumer_->seek(to_list(positions), timeout_ms);
}

const std::vector<TopicPartition>& KafkaInput::view(const PartitionList& partitions) {
  scratch_.clear();
  for (const auto& p : partitions.items()) scratch_.push_back({p.topic, p.partition, p.offset});
  return scratch_;
}

void KafkaInput::on_assigned(const PartitionList& partitions) noexcept {
  if (listener_) listener_->on_assigned(view(partitions));
}

void KafkaInput::on_revoking(const PartitionList& partitions, bool lost) noexcept {
  if (listener_) listener_->on_revoking(view(partitions), lost);
}

std::unique_ptr<KafkaOutput> KafkaOutput::create(const Properties& properties, std::string& error) {
  std::unique_ptr<KafkaOutput> output(new KafkaOutput());
  output->producer_ = Producer::create(properties, *output, error);
  if (!output->producer_) return nullptr;
  return output;
}

int KafkaOutput::topic(const std::string& name) {
  topics_.push_back(producer_->topic(name));
  names_.push_back(name);
  return static_cast<int>(topics_.size()) - 1;
}

Error KafkaOutput::produce(int topic, std::string_view key, std::string_view value,
                           std::span<const Header> headers, uint64_t tag) noexcept {
  return produce_to(topic, RD_KAFKA_PARTITION_UA, key, value, headers, tag);
}

Error KafkaOutput::produce_to(int topic, int32_t partition, std::string_view key, std::string_view value,
                              std::span<const Header> headers, uint64_t tag) noexcept {
  // The tag is librdkafka's opaque: never dereferenced, handed back in the delivery report.
  void* opaque = reinterpret_cast<void*>(static_cast<uintptr_t>(tag));  // NOLINT(performance-no-int-to-ptr)
  return producer_->produce(topics_[static_cast<size_t>(topic)], key, value, headers, opaque, partition);
}

void KafkaOutput::on_delivery(const rd_kafka_message_t& m) noexcept {
  if (!listener_) return;
  Delivery d;
  d.tag = static_cast<uint64_t>(reinterpret_cast<uintptr_t>(m._private));
  d.err = m.err;
  d.partition = m.partition;
  d.offset = m.offset;
  for (size_t i = 0; i < topics_.size(); ++i)
    if (topics_[i] == m.rkt) d.topic = static_cast<int>(i);
  d.key = m.key ? std::string_view(static_cast<const char*>(m.key), m.key_len) : std::string_view();
  d.value = m.payload ? std::string_view(static_cast<const char*>(m.payload), m.len) : std::string_view();
  rd_kafka_headers_t* headers = nullptr;
  if (m.err && rd_kafka_message_headers(&m, &headers) == RD_KAFKA_RESP_ERR_NO_ERROR) {
    size_t n = 0;
    const char* name = nullptr;
    const void* value = nullptr;
    size_t size = 0;
    while (n < failed_headers_.size() &&
           rd_kafka_header_get_all(headers, n, &name, &value, &size) == RD_KAFKA_RESP_ERR_NO_ERROR) {
      failed_headers_[n++] = {name, {static_cast<const char*>(value), size}};
    }
    d.headers = std::span(failed_headers_.data(), n);
  }
  listener_->on_delivery(d);
}

TxnStatus KafkaTransactions::send_offsets(std::span<const TopicPartition> offsets, int timeout_ms) noexcept {
  return producer_.send_offsets_to_transaction(to_list(offsets), consumer_, timeout_ms);
}

std::unique_ptr<KafkaPartitionReader> KafkaPartitionReader::create(const Properties& properties,
                                                                   std::string& error) {
  rd_kafka_t* rk = new_consumer(properties, error);
  if (!rk) return nullptr;
  rd_kafka_poll_set_consumer(rk);
  std::unique_ptr<KafkaPartitionReader> reader(new KafkaPartitionReader(rk));
  if (property(properties, "isolation.level") != "read_uncommitted") {
    // Under read_committed the broker answers with the last stable offset, which stops before a
    // transaction still open: committed records written after it would be missed. The high
    // watermark comes from a handle that sees every record.
    Properties all = properties;
    all.emplace_back("isolation.level", "read_uncommitted");
    reader->watermarks_ = new_consumer(all, error);
    if (!reader->watermarks_) return nullptr;
  }
  return reader;
}

KafkaPartitionReader::~KafkaPartitionReader() {
  current_.reset();
  stop();
  rd_kafka_consumer_close(rk_);
  rd_kafka_destroy(rk_);
  if (watermarks_) rd_kafka_destroy(watermarks_);
}

Error KafkaPartitionReader::end_offset(std::string_view topic, int32_t partition, int64_t& end,
                                       int timeout_ms) noexcept {
  int64_t low = 0;
  const std::string name(topic);
  if (watermarks_ && !connected_) {
    // The reading handle asks once too: it connects and learns the leaders now, not at the first
    // fetch of a restore (which would count that second or so as restoring).
    int64_t stable = 0;
    connected_ = !query_watermarks(rk_, name, partition, low, stable, timeout_ms);
  }
  return query_watermarks(watermarks_ ? watermarks_ : rk_, name, partition, low, end, timeout_ms);
}

Error KafkaPartitionReader::start_offset(std::string_view topic, int32_t partition, int64_t& start,
                                         int timeout_ms) noexcept {
  int64_t high = 0;
  return query_watermarks(watermarks_ ? watermarks_ : rk_, std::string(topic), partition, start, high,
                          timeout_ms);
}

Error KafkaPartitionReader::start(std::string_view topic, int32_t partition, int64_t offset) noexcept {
  current_.reset();
  topic_.assign(topic);
  partition_ = partition;
  PartitionList list(1);
  list.add(topic_.c_str(), partition).offset = offset;
  return rd_kafka_assign(rk_, list.get());
}

int64_t KafkaPartitionReader::position() noexcept {
  PartitionList list(1);
  list.add(topic_.c_str(), partition_);
  if (rd_kafka_position(rk_, list.get()) != RD_KAFKA_RESP_ERR_NO_ERROR) return -1;
  return list.items()[0].offset;
}

const InputRecord* KafkaPartitionReader::poll(int timeout_ms) noexcept {
  current_.reset(rd_kafka_consumer_poll(rk_, timeout_ms));
  if (!current_) return nullptr;
  const rd_kafka_message_t& m = *current_;
  record_ = InputRecord{};
  record_.err = m.err;
  record_.topic = m.rkt ? rd_kafka_topic_name(m.rkt) : "";
  record_.partition = m.partition;
  record_.offset = m.offset;
  record_.timestamp = rd_kafka_message_timestamp(&m, nullptr);
  record_.key = m.key ? std::string_view(static_cast<const char*>(m.key), m.key_len) : std::string_view();
  record_.value =
      m.payload ? std::string_view(static_cast<const char*>(m.payload), m.len) : std::string_view();
  return &record_;
}

std::optional<std::string_view> KafkaPartitionReader::last_header(std::string_view name) const noexcept {
  return header_of(current_.get(), name);
}

void KafkaPartitionReader::stop() noexcept {
  current_.reset();
  (void)rd_kafka_assign(rk_, nullptr);
}

std::unique_ptr<KafkaGroupOffsets> KafkaGroupOffsets::create(const Properties& properties,
                                                             std::string& error) {
  rd_kafka_t* rk = new_consumer(properties, error);
  if (!rk) return nullptr;
  return std::unique_ptr<KafkaGroupOffsets>(new KafkaGroupOffsets(rk));
}

KafkaGroupOffsets::~KafkaGroupOffsets() {
  rd_kafka_destroy(rk_);
}

Error KafkaGroupOffsets::partition_count(std::string_view topic, int32_t& count, int timeout_ms) noexcept {
  rd_kafka_topic_t* handle = rd_kafka_topic_new(rk_, std::string(topic).c_str(), nullptr);
  const rd_kafka_metadata_t* metadata = nullptr;
  Error err = rd_kafka_metadata(rk_, 0, handle, &metadata, timeout_ms);
  if (!err) {
    err = metadata->topic_cnt == 1 ? metadata->topics[0].err : RD_KAFKA_RESP_ERR__UNKNOWN_TOPIC;
    count = metadata->topic_cnt == 1 ? metadata->topics[0].partition_cnt : 0;
    rd_kafka_metadata_destroy(metadata);
  }
  rd_kafka_topic_destroy(handle);
  return err;
}

Error KafkaGroupOffsets::committed(std::string_view topic, int32_t partition, int64_t& offset,
                                   int timeout_ms) noexcept {
  PartitionList list(1);
  list.add(std::string(topic).c_str(), partition);
  Error err = rd_kafka_committed(rk_, list.get(), timeout_ms);
  if (!err) err = list.items()[0].err;
  offset = list.items()[0].offset >= 0 ? list.items()[0].offset : -1;
  return err;
}

Error KafkaGroupOffsets::commit(std::string_view topic, int32_t partition, int64_t offset) noexcept {
  PartitionList list(1);
  list.add(std::string(topic).c_str(), partition).offset = offset;
  Error err = rd_kafka_commit(rk_, list.get(), 0);
  if (!err) err = list.items()[0].err;
  return err;
}

Error KafkaGroupOffsets::partition_offsets(std::string_view topic, std::vector<PartitionOffsets>& out,
                                           int timeout_ms) noexcept {
  out.clear();
  int32_t count = 0;
  if (Error err = partition_count(topic, count, timeout_ms)) return err;
  const std::string name(topic);
  PartitionList committed(count), earliest(count), latest(count);
  for (int32_t p = 0; p < count; ++p) {
    committed.add(name.c_str(), p);
    // A ListOffsets "timestamp" of -2 asks for the log's start, -1 for its end.
    earliest.add(name.c_str(), p).offset = RD_KAFKA_OFFSET_BEGINNING;
    latest.add(name.c_str(), p).offset = RD_KAFKA_OFFSET_END;
  }
  if (Error err = rd_kafka_committed(rk_, committed.get(), timeout_ms)) return err;
  if (Error err = rd_kafka_offsets_for_times(rk_, earliest.get(), timeout_ms)) return err;
  if (Error err = rd_kafka_offsets_for_times(rk_, latest.get(), timeout_ms)) return err;
  for (int32_t p = 0; p < count; ++p) {
    const auto& c = committed.items()[static_cast<size_t>(p)];
    const auto& lo = earliest.items()[static_cast<size_t>(p)];
    const auto& hi = latest.items()[static_cast<size_t>(p)];
    if (c.err) return c.err;
    if (lo.err) return lo.err;
    if (hi.err) return hi.err;
    out.push_back({p, c.offset >= 0 ? c.offset : -1, lo.offset, hi.offset});
  }
  return RD_KAFKA_RESP_ERR_NO_ERROR;
}

}  // namespace dlr::kafka

#include "dlr/kafka/client.h"

#include <spdlog/spdlog.h>

#include <array>
#include <atomic>
#include <chrono>
#include <mutex>

namespace dlr::kafka {
namespace {

// librdkafka's syslog levels onto spdlog's.
spdlog::level::level_enum to_spdlog(int level) {
  if (level <= 3) return spdlog::level::err;
  if (level == 4) return spdlog::level::warn;
  if (level <= 6) return spdlog::level::info;
  return spdlog::level::debug;
}

// librdkafka repeats connection failures and the like every few seconds while they last: each
// kind is said once per half minute, with how many were held back since.
bool allow_log(const std::string& kind, int& held_back) {
  static std::mutex mutex;
  static std::unordered_map<std::string, std::pair<std::chrono::steady_clock::time_point, int>> last;
  const auto now = std::chrono::steady_clock::now();
  std::lock_guard lock(mutex);
  auto [it, fresh] = last.try_emplace(kind, now, 0);
  if (!fresh && now - it->second.first < std::chrono::seconds(30)) {
    ++it->second.second;
    return false;
  }
  held_back = it->second.second;
  it->second = {now, 0};
  return true;
}

void log_callback(const rd_kafka_t* rk, int level, const char* facility, const char* message) {
  int held_back = 0;
  if (level <= 4 && !allow_log(std::string("log ") + rd_kafka_name(rk) + " " + facility, held_back)) return;
  if (held_back > 0) {
    spdlog::log(to_spdlog(level), "kafka {} {}: {} ({} more {} messages since last said)", rd_kafka_name(rk),
                facility, message, held_back, facility);
  } else {
    spdlog::log(to_spdlog(level), "kafka {} {}: {}", rd_kafka_name(rk), facility, message);
  }
}

std::mutex g_configuration_error_mutex;
std::string g_configuration_error;  ///< under g_configuration_error_mutex

void error_callback(rd_kafka_t* rk, int err, const char* reason, void*) {
  if (err == RD_KAFKA_RESP_ERR__AUTHENTICATION || err == RD_KAFKA_RESP_ERR__SSL) {
    // Retrying does not fix credentials or certificates: kept for the owner to stop on.
    std::lock_guard lock(g_configuration_error_mutex);
    if (g_configuration_error.empty())
      g_configuration_error =
          std::string(reason) + " (" + rd_kafka_err2name(static_cast<rd_kafka_resp_err_t>(err)) + ")";
  }
  int held_back = 0;
  if (err != RD_KAFKA_RESP_ERR__FATAL &&
      !allow_log(std::string("error ") + rd_kafka_name(rk) + " " + std::to_string(err), held_back))
    return;
  const auto code = static_cast<rd_kafka_resp_err_t>(err);
  if (held_back > 0) {
    spdlog::warn("kafka {}: {} ({}), {} more like it since last said", rd_kafka_name(rk), reason,
                 rd_kafka_err2name(code), held_back);
  } else {
    spdlog::warn("kafka {}: {} ({})", rd_kafka_name(rk), reason, rd_kafka_err2name(code));
  }
}

}  // namespace

std::string configuration_error() {
  std::lock_guard lock(g_configuration_error_mutex);
  return g_configuration_error;
}

std::string describe(rd_kafka_resp_err_t err) {
  return std::string(rd_kafka_err2str(err)) + " (" + rd_kafka_err2name(err) + ")";
}

bool transient(rd_kafka_resp_err_t err) noexcept {
  switch (err) {
    case RD_KAFKA_RESP_ERR_NOT_LEADER_FOR_PARTITION:
    case RD_KAFKA_RESP_ERR_LEADER_NOT_AVAILABLE:
    case RD_KAFKA_RESP_ERR_REPLICA_NOT_AVAILABLE:
    case RD_KAFKA_RESP_ERR_BROKER_NOT_AVAILABLE:
    case RD_KAFKA_RESP_ERR_REQUEST_TIMED_OUT:
    case RD_KAFKA_RESP_ERR_FENCED_LEADER_EPOCH:
    case RD_KAFKA_RESP_ERR_UNKNOWN_LEADER_EPOCH:
    case RD_KAFKA_RESP_ERR_OFFSET_NOT_AVAILABLE:
    case RD_KAFKA_RESP_ERR_NOT_ENOUGH_REPLICAS:
    case RD_KAFKA_RESP_ERR__TIMED_OUT:
    case RD_KAFKA_RESP_ERR__TRANSPORT:
    case RD_KAFKA_RESP_ERR__ALL_BROKERS_DOWN:
      return true;
    default:
      return false;
  }
}

ConfPtr make_conf(const Properties& properties, std::string& error) {
  ConfPtr conf(rd_kafka_conf_new());
  std::array<char, 512> message{};
  for (const auto& [key, value] : properties) {
    if (rd_kafka_conf_set(conf.get(), key.c_str(), value.c_str(), message.data(), message.size()) !=
        RD_KAFKA_CONF_OK) {
      error = key + ": " + message.data();
      return nullptr;
    }
  }
  rd_kafka_conf_set_log_cb(conf.get(), log_callback);
  rd_kafka_conf_set_error_cb(conf.get(), error_callback);
  return conf;
}

// ---------------------------------------------------------------------------------------------
// Producer

namespace {
void delivery_trampoline(rd_kafka_t*, const rd_kafka_message_t* message, void* opaque) {
  static_cast<DeliveryHandler*>(opaque)->on_delivery(*message);
}
}  // namespace

std::unique_ptr<Producer> Producer::create(const Properties& properties, DeliveryHandler& handler,
                                           std::string& error) {
  ConfPtr conf = make_conf(properties, error);
  if (!conf) return nullptr;
  rd_kafka_conf_set_opaque(conf.get(), &handler);
  rd_kafka_conf_set_dr_msg_cb(conf.get(), delivery_trampoline);
  std::array<char, 512> message{};
  rd_kafka_t* rk = rd_kafka_new(RD_KAFKA_PRODUCER, conf.get(), message.data(), message.size());
  if (!rk) {
    error = message.data();
    return nullptr;
  }
  (void)conf.release();  // owned by rk now
  return std::unique_ptr<Producer>(new Producer(rk));
}

Producer::~Producer() {
  // Whatever is still queued was not acknowledged, so its inputs were not committed: drop it
  // rather than let destroy wait out message.timeout.ms against a broker that may be gone.
  rd_kafka_purge(rk_, RD_KAFKA_PURGE_F_QUEUE | RD_KAFKA_PURGE_F_INFLIGHT | RD_KAFKA_PURGE_F_NON_BLOCKING);
  for (auto& [name, topic] : topics_) rd_kafka_topic_destroy(topic);
  rd_kafka_destroy(rk_);
}

rd_kafka_topic_t* Producer::topic(const std::string& name) {
  auto [it, fresh] = topics_.try_emplace(name, nullptr);
  if (fresh) it->second = rd_kafka_topic_new(rk_, name.c_str(), nullptr);
  return it->second;
}

rd_kafka_resp_err_t Producer::produce(rd_kafka_topic_t* topic, std::string_view key, std::string_view value,
                                      std::span<const Header> headers, void* opaque,
                                      int32_t partition) noexcept {
  rd_kafka_headers_t* hdrs = nullptr;
  if (!headers.empty()) {
    hdrs = rd_kafka_headers_new(headers.size());
    for (const auto& h : headers) {
      rd_kafka_header_add(hdrs, h.name.data(), static_cast<ssize_t>(h.name.size()), h.value.data(),
                          static_cast<ssize_t>(h.value.size()));
    }
  }
  const rd_kafka_resp_err_t err = rd_kafka_producev(
      rk_, RD_KAFKA_V_RKT(topic), RD_KAFKA_V_PARTITION(partition), RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY),
      RD_KAFKA_V_KEY(key.empty() ? nullptr : const_cast<char*>(key.data()), key.size()),
      RD_KAFKA_V_VALUE(const_cast<char*>(value.data()), value.size()), RD_KAFKA_V_HEADERS(hdrs),
      RD_KAFKA_V_OPAQUE(opaque), RD_KAFKA_V_END);
  if (err && hdrs) rd_kafka_headers_destroy(hdrs);  // ownership passes only on success
  return err;
}

namespace {
TxnStatus txn_status(rd_kafka_error_t* error) {
  TxnStatus s;
  if (!error) return s;
  s.ok = false;
  s.retriable = rd_kafka_error_is_retriable(error);
  s.requires_abort = rd_kafka_error_txn_requires_abort(error);
  s.fatal = rd_kafka_error_is_fatal(error);
  s.message = std::string(rd_kafka_error_string(error)) + " (" + rd_kafka_error_name(error) + ")";
  rd_kafka_error_destroy(error);
  return s;
}
}  // namespace

TxnStatus Producer::init_transactions(int timeout_ms) noexcept {
  return txn_status(rd_kafka_init_transactions(rk_, timeout_ms));
}
TxnStatus Producer::begin_transaction() noexcept {
  return txn_status(rd_kafka_begin_transaction(rk_));
}
TxnStatus Producer::commit_transaction(int timeout_ms) noexcept {
  return txn_status(rd_kafka_commit_transaction(rk_, timeout_ms));
}
TxnStatus Producer::abort_transaction(int timeout_ms) noexcept {
  return txn_status(rd_kafka_abort_transaction(rk_, timeout_ms));
}

TxnStatus Producer::send_offsets_to_transaction(const PartitionList& offsets, const Consumer& consumer,
                                                int timeout_ms) noexcept {
  rd_kafka_consumer_group_metadata_t* group = rd_kafka_consumer_group_metadata(consumer.handle());
  TxnStatus s = txn_status(rd_kafka_send_offsets_to_transaction(rk_, offsets.get(), group, timeout_ms));
  rd_kafka_consumer_group_metadata_destroy(group);
  return s;
}

std::string Producer::fatal_error() const {
  std::array<char, 512> message{};
  if (rd_kafka_fatal_error(rk_, message.data(), message.size()) == RD_KAFKA_RESP_ERR_NO_ERROR) return {};
  return message.data();
}

// ---------------------------------------------------------------------------------------------
// Consumer

std::unique_ptr<Consumer> Consumer::create(const Properties& properties, RebalanceHandler& handler,
                                           std::string& error) {
  ConfPtr conf = make_conf(properties, error);
  if (!conf) return nullptr;
  std::unique_ptr<Consumer> consumer(new Consumer(handler));
  rd_kafka_conf_set_opaque(conf.get(), consumer.get());
  rd_kafka_conf_set_rebalance_cb(conf.get(), rebalance_trampoline);
  std::array<char, 512> message{};
  rd_kafka_t* rk = rd_kafka_new(RD_KAFKA_CONSUMER, conf.get(), message.data(), message.size());
  if (!rk) {
    error = message.data();
    return nullptr;
  }
  (void)conf.release();
  consumer->rk_ = rk;
  rd_kafka_poll_set_consumer(rk);  // one queue: messages, events and rebalances through poll()
  return consumer;
}

Consumer::~Consumer() {
  close();
  rd_kafka_destroy(rk_);
}

rd_kafka_resp_err_t Consumer::subscribe(const std::vector<std::string>& topics) {
  PartitionList list(static_cast<int>(topics.size()));
  for (const auto& t : topics) list.add(t.c_str(), RD_KAFKA_PARTITION_UA);
  return rd_kafka_subscribe(rk_, list.get());
}

rd_kafka_resp_err_t Consumer::store_offsets(const PartitionList& offsets) noexcept {
  return rd_kafka_offsets_store(rk_, offsets.get());
}

rd_kafka_resp_err_t Consumer::pause(const PartitionList& partitions) noexcept {
  return rd_kafka_pause_partitions(rk_, partitions.get());
}

rd_kafka_resp_err_t Consumer::resume(const PartitionList& partitions) noexcept {
  return rd_kafka_resume_partitions(rk_, partitions.get());
}

PartitionList Consumer::assignment() const {
  rd_kafka_topic_partition_list_t* list = nullptr;
  if (rd_kafka_assignment(rk_, &list) != RD_KAFKA_RESP_ERR_NO_ERROR || !list) return PartitionList(0);
  return PartitionList(list);
}

rd_kafka_resp_err_t Consumer::committed(PartitionList& partitions, int timeout_ms) noexcept {
  return rd_kafka_committed(rk_, partitions.get(), timeout_ms);
}

rd_kafka_resp_err_t Consumer::seek(const PartitionList& positions, int timeout_ms) noexcept {
  rd_kafka_error_t* error = rd_kafka_seek_partitions(rk_, positions.get(), timeout_ms);
  if (!error) return RD_KAFKA_RESP_ERR_NO_ERROR;
  const rd_kafka_resp_err_t code = rd_kafka_error_code(error);
  rd_kafka_error_destroy(error);
  return code;
}

bool Consumer::cooperative() const noexcept {
  return std::string_view(rd_kafka_rebalance_protocol(rk_)) == "COOPERATIVE";
}

rd_kafka_resp_err_t Consumer::close() noexcept {
  if (closed_) return RD_KAFKA_RESP_ERR_NO_ERROR;
  closed_ = true;
  return rd_kafka_consumer_close(rk_);
}

void Consumer::rebalance_trampoline(rd_kafka_t*, rd_kafka_resp_err_t err,
                                    rd_kafka_topic_partition_list_t* partitions, void* opaque) {
  static_cast<Consumer*>(opaque)->rebalance(err, partitions);
}

void Consumer::rebalance(rd_kafka_resp_err_t err, rd_kafka_topic_partition_list_t* partitions) noexcept {
  // The handler sees a copy: librdkafka owns `partitions`.
  PartitionList view(rd_kafka_topic_partition_list_copy(partitions));
  const bool incremental = cooperative();
  if (err == RD_KAFKA_RESP_ERR__ASSIGN_PARTITIONS) {
    rd_kafka_error_t* error = nullptr;
    rd_kafka_resp_err_t assign_err = RD_KAFKA_RESP_ERR_NO_ERROR;
    if (incremental) {
      error = rd_kafka_incremental_assign(rk_, partitions);
    } else {
      assign_err = rd_kafka_assign(rk_, partitions);
    }
    if (error) {
      spdlog::error("kafka: assigning partitions failed: {}", rd_kafka_error_string(error));
      rd_kafka_error_destroy(error);
      return;
    }
    if (assign_err) {
      spdlog::error("kafka: assigning partitions failed: {}", describe(assign_err));
      return;
    }
    handler_.on_assigned(view);
    return;
  }
  const bool lost = err != RD_KAFKA_RESP_ERR__REVOKE_PARTITIONS || rd_kafka_assignment_lost(rk_);
  if (err != RD_KAFKA_RESP_ERR__REVOKE_PARTITIONS) spdlog::error("kafka: rebalance error: {}", describe(err));
  handler_.on_revoking(view, lost);
  if (incremental) {
    if (rd_kafka_error_t* error = rd_kafka_incremental_unassign(rk_, partitions)) {
      spdlog::error("kafka: unassigning partitions failed: {}", rd_kafka_error_string(error));
      rd_kafka_error_destroy(error);
    }
  } else {
    rd_kafka_assign(rk_, nullptr);
  }
}

}  // namespace dlr::kafka

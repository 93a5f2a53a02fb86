#include "stage.h"

#include <spdlog/spdlog.h>

#include <array>
#include <charconv>
#include <cstring>
#include <thread>

#include <unistd.h>

namespace dlr::app {
namespace {

using config::Destination;
using Clock = std::chrono::steady_clock;
using std::chrono::milliseconds;

constexpr const char* kOutcomeNames[] = {"delivered", "pending", "retryable", "permanent", "invalid"};
constexpr int kInvalidRoute = 4;  // Routing::routes index of invalid input

// A delivery report's opaque carries the input partition's slot, the destination and the
// ticket of the input message, so no per-record allocation is needed to find them again.
constexpr int kTicketBits = 40;
constexpr int kDestinationBits = 2;
void* encode(int slot, Destination destination, uint64_t ticket) noexcept {
  const uint64_t v = (static_cast<uint64_t>(slot) << (kTicketBits + kDestinationBits)) |
                     (static_cast<uint64_t>(destination) << kTicketBits) | (ticket & ((1ULL << kTicketBits) - 1));
  return reinterpret_cast<void*>(static_cast<uintptr_t>(v));  // NOLINT(performance-no-int-to-ptr): an opaque tag, never dereferenced
}
struct Decoded {
  int slot;
  Destination destination;
  uint64_t ticket;
};
Decoded decode(void* opaque) noexcept {
  const auto v = static_cast<uint64_t>(reinterpret_cast<uintptr_t>(opaque));
  return {static_cast<int>(v >> (kTicketBits + kDestinationBits)),
          static_cast<Destination>((v >> kTicketBits) & ((1U << kDestinationBits) - 1)),
          v & ((1ULL << kTicketBits) - 1)};
}

int64_t now_ms() {
  return std::chrono::duration_cast<milliseconds>(std::chrono::system_clock::now().time_since_epoch()).count();
}
int64_t steady_ms() { return std::chrono::duration_cast<milliseconds>(Clock::now().time_since_epoch()).count(); }

// Integer text in a caller's stack buffer: header values are copied by produce().
struct Number {
  std::array<char, 24> text{};
  size_t size = 0;
  explicit Number(int64_t v) { size = static_cast<size_t>(std::to_chars(text.data(), text.data() + text.size(), v).ptr - text.data()); }
  [[nodiscard]] std::string_view view() const noexcept { return {text.data(), size}; }
};

// Errors after which producing the same record again cannot succeed.
bool is_record_too_large(rd_kafka_resp_err_t err) {
  return err == RD_KAFKA_RESP_ERR_MSG_SIZE_TOO_LARGE || err == RD_KAFKA_RESP_ERR_RECORD_LIST_TOO_LARGE;
}

// What the stage sets itself; the config's librdkafka properties override all but the ones
// at-least-once depends on, which are applied last.
kafka::Properties consumer_properties(const config::Config& c) {
  kafka::Properties p = {
      {"partition.assignment.strategy", "cooperative-sticky"},
      {"auto.offset.reset", "earliest"},  // a new group starts from the beginning: nothing skipped
      {"enable.auto.commit", "true"},     // commits what store_offsets() stored, every interval
      {"auto.commit.interval.ms", "5000"},
      {"enable.partition.eof", "false"},
      {"queued.max.messages.kbytes", "32768"},  // prefetch: a fetch round trip's worth at full speed, RSS bounded
  };
  for (const auto& kv : c.kafka_common) p.emplace_back(kv);
  for (const auto& kv : c.kafka_consumer) p.emplace_back(kv);
  p.emplace_back("bootstrap.servers", c.brokers);
  p.emplace_back("group.id", c.group_id);
  p.emplace_back("enable.auto.offset.store", "false");  // offsets are stored only after outputs are acknowledged
  if (c.exactly_once) {
    p.emplace_back("enable.auto.commit", "false");  // offsets travel in the transactions
    p.emplace_back("isolation.level", "read_committed");
  }
  return p;
}

kafka::Properties producer_properties(const config::Config& c) {
  kafka::Properties p = {
      {"enable.idempotence", "true"},
      {"partitioner", "murmur2_random"},  // the Java client's partitioner: same key, same partition
      {"linger.ms", "5"},
      // About a quarter second of output at full speed: enough to keep batches full, small enough
      // that a slow broker pauses consumption before memory grows.
      {"queue.buffering.max.messages", "50000"},
      {"queue.buffering.max.kbytes", "65536"},
  };
  for (const auto& kv : c.kafka_common) p.emplace_back(kv);
  for (const auto& kv : c.kafka_producer) p.emplace_back(kv);
  p.emplace_back("bootstrap.servers", c.brokers);
  if (c.exactly_once) {
    // A transaction left open by a crashed instance holds its partitions until it times out:
    // keep that short (the stage commits every 100 ms).
    p.emplace(p.begin(), "transaction.timeout.ms", "10000");
    // Unique per process: with the group's metadata on every offset commit (KIP-447), zombie
    // fencing does not need the id to follow the partitions.
    std::array<char, 256> host{};
    gethostname(host.data(), host.size() - 1);
    p.emplace_back("transactional.id", c.group_id + "-" + host.data() + "-" + std::to_string(getpid()) + "-" +
                                           std::to_string(std::chrono::steady_clock::now().time_since_epoch().count()));
  }
  return p;
}

/// The value in force (the last one given), or "".
std::string property(const kafka::Properties& p, const std::string& key) {
  for (auto it = p.rbegin(); it != p.rend(); ++it)
    if (it->first == key) return it->second;
  return {};
}

// librdkafka before 2.6.1 builds a SCRAM proof that Kafka 4 brokers reject (it repeats the client
// nonce; confluentinc/librdkafka#4895): to the operator it looks exactly like a wrong password.
bool scram_broken_against_kafka4(const kafka::Properties& p) {
  const std::string mechanism = property(p, "sasl.mechanisms") + property(p, "sasl.mechanism");
  return mechanism.find("SCRAM") != std::string::npos && rd_kafka_version() < 0x02060100;
}
constexpr const char* kScramHint =
    "; note: this librdkafka ({}) cannot authenticate with SCRAM to Kafka 4.x brokers (fixed in librdkafka "
    "2.6.1): against such brokers use PLAIN over TLS, or build against a newer librdkafka";

int property_int(const kafka::Properties& p, const std::string& key, int fallback) {
  const std::string value = property(p, key);
  return value.empty() ? fallback : std::atoi(value.c_str());
}

}  // namespace

Stage::Stage(config::Config config, std::shared_ptr<const catalog::Catalog> catalog, Metrics& metrics)
    : config_(std::move(config)),
      metrics_(metrics),
      processor_(std::move(catalog), core::ProcessorOptions{config_.max_document_bytes, 64}) {
  for (const auto& input : config_.inputs) bindings_.push_back(core::parse_channel(input.channel));
  slot_index_.resize(config_.inputs.size());
}

Stage::~Stage() = default;

std::string Stage::start() {
  std::string error;
  const kafka::Properties producer_props = producer_properties(config_);
  producer_ = kafka::Producer::create(producer_props, *this, error);
  if (!producer_) return "producer: " + error;
  if (scram_broken_against_kafka4(producer_props)) {
    scram_hint_ = fmt::format(fmt::runtime(kScramHint), rd_kafka_version_str());
    spdlog::warn("SCRAM with librdkafka {}: fine with Kafka 3.x brokers, rejected by Kafka 4.x brokers (fixed in "
                 "librdkafka 2.6.1)", rd_kafka_version_str());
  }
  // Hold back with room left for the records of one more batch (up to 50 reports, 4 outputs each).
  hold_above_ = std::max(1, property_int(producer_props, "queue.buffering.max.messages", 50000) * 3 / 4);
  topics_[static_cast<int>(Destination::enriched)] = producer_->topic(config_.outputs.enriched);
  topics_[static_cast<int>(Destination::retry)] = producer_->topic(config_.outputs.retry);
  topics_[static_cast<int>(Destination::dead_letter)] = producer_->topic(config_.outputs.dead_letter);
  topics_[static_cast<int>(Destination::analytics)] = producer_->topic(config_.outputs.analytics);

  if (config_.exactly_once) {
    if (const auto s = producer_->init_transactions(30000); !s.ok) return "producer transactions: " + s.message;
  }
  consumer_ = kafka::Consumer::create(consumer_properties(config_), *this, error);
  if (!consumer_) return "consumer: " + error;
  std::vector<std::string> topics;
  for (const auto& input : config_.inputs) topics.push_back(input.topic);
  if (auto err = consumer_->subscribe(topics)) return "subscribe: " + kafka::describe(err);
  return {};
}

int Stage::input_of(const char* topic) const noexcept {
  for (size_t i = 0; i < config_.inputs.size(); ++i)
    if (std::strcmp(config_.inputs[i].topic.c_str(), topic) == 0) return static_cast<int>(i);
  return -1;
}

int Stage::slot_of(int input, int32_t partition) {
  auto& index = slot_index_[static_cast<size_t>(input)];
  if (static_cast<size_t>(partition) >= index.size()) index.resize(static_cast<size_t>(partition) + 1, -1);
  int& slot = index[static_cast<size_t>(partition)];
  if (slot < 0) {
    slot = static_cast<int>(slots_.size());
    auto s = std::make_unique<Slot>();
    s->topic = config_.inputs[static_cast<size_t>(input)].topic;
    s->partition = partition;
    s->input = input;
    slots_.push_back(std::move(s));
  }
  return slot;
}

size_t Stage::in_flight() const noexcept {
  size_t n = 0;
  for (const auto& s : slots_)
    if (s->assigned) n += s->progress.in_flight();
  return n;
}

// ---------------------------------------------------------------------------------------------
// The loop

int Stage::run(const std::atomic<bool>& stop) {
  auto last_refresh = Clock::now();
  auto last_stats = Clock::now();
  uint64_t reports_at_last_stats = 0;
  const auto total_reports = [this] {
    uint64_t n = 0;
    for (const auto& c : metrics_.reports) n += c.load(std::memory_order_relaxed);
    return n;
  };
  spdlog::info("consuming {} input topic(s) as group '{}' from {}; catalogue {}", config_.inputs.size(),
               config_.group_id, config_.brokers, processor_.catalog().version());
  while (!stop.load(std::memory_order_relaxed) && fatal_.empty()) {
    // Between two messages: every message is processed whole by one catalogue.
    if (catalog_feed_) {
      if (auto next = catalog_feed_()) apply_catalog(std::move(next));
    }
    producer_->poll(0);  // delivery reports: acknowledgements move offsets
    if (!deferred_.empty()) produce_deferred();
    store_offsets();

    if (backlogged()) {
      // Backpressure: take nothing new until the producer catches up. Holding back keeps the
      // consumer's prefetched data (pausing would throw it away); only a long hold, such as a
      // broker that is gone, pauses the partitions so the loop can keep serving the group.
      hold();
      producer_->poll(20);  // wait for acknowledgements, do not spin
      if (paused_) {
        if (kafka::MessagePtr event = consumer_->poll(0)) handle(*event);  // rebalances and errors only
      }
    } else {
      release();
      // A turn takes up to a batch of messages without blocking; it waits only when idle, and
      // briefly when outputs are in flight so their acknowledgements are served soon.
      const int idle_wait_ms = producer_->queue_length() > 0 ? 5 : 100;
      for (int taken = 0; taken < 1000; ++taken) {
        kafka::MessagePtr message = consumer_->poll(taken == 0 ? idle_wait_ms : 0);
        if (!message) break;
        handle(*message);
        if (backlogged()) break;
      }
    }

    if (txn_open_ && (txn_failed_ || Clock::now() - txn_started_ >= kTransactionPeriod)) commit_transaction();

    const auto now = Clock::now();
    if (now - last_refresh >= std::chrono::seconds(1)) {
      last_refresh = now;
      refresh_gauges();
      if (const std::string error = producer_->fatal_error(); !error.empty()) fatal_ = "producer: " + error;
      if (const std::string error = kafka::configuration_error(); !error.empty())
        fatal_ = "cannot connect securely to the brokers: " + error +
                 "; check security.protocol, sasl.* and ssl.* (and the secrets they reference)" + scram_hint_;
    }
    if (config_.stats_interval_s > 0 && now - last_stats >= std::chrono::seconds(config_.stats_interval_s)) {
      const double seconds = std::chrono::duration<double>(now - last_stats).count();
      const uint64_t reports = total_reports();
      metrics_.reports_per_second.store(static_cast<double>(reports - reports_at_last_stats) / seconds);
      reports_at_last_stats = reports;
      last_stats = now;
      log_stats(seconds);
    }
  }
  if (!fatal_.empty()) {
    metrics_.fatal = true;
    spdlog::error("fatal: {}; stopping without committing anything not acknowledged", fatal_);
  }
  const int code = shutdown();
  return fatal_.empty() ? code : 1;
}

void Stage::apply_catalog(std::shared_ptr<const catalog::Catalog> next) {
  const std::string previous(processor_.catalog().version());
  processor_.set_catalog(std::move(next));  // the old one is freed here: no output record refers to it
  metrics_.set_catalog_version(processor_.catalog().version());
  spdlog::info("catalogue {} active (was {})", processor_.catalog().version(), previous);
}

void Stage::handle(const rd_kafka_message_t& message) noexcept {
  if (message.err) {
    metrics_.consumer_errors.fetch_add(1, std::memory_order_relaxed);
    if (uint64_t held_back = 0; consumer_error_log_.allow(held_back))
      spdlog::warn("consumer: {}{} ({} similar error(s) not logged)", kafka::describe(message.err),
                   message.rkt ? std::string(" on ") + rd_kafka_topic_name(message.rkt) : std::string(), held_back);
    if (message.err == RD_KAFKA_RESP_ERR__FATAL) fatal_ = "consumer: " + kafka::describe(message.err);
    return;
  }
  const int input = input_of(rd_kafka_topic_name(message.rkt));
  if (input < 0) return;  // subscribed topics only; cannot happen
  const int slot = slot_of(input, message.partition);
  Slot& s = *slots_[static_cast<size_t>(slot)];
  s.next_offset = message.offset + 1;
  if (config_.exactly_once) {
    if (!txn_open_) begin_transaction();
    if (s.txn_first < 0) s.txn_first = message.offset;
  }
  metrics_.input_messages[input].fetch_add(1, std::memory_order_relaxed);

  const std::string_view bytes(static_cast<const char*>(message.payload), message.payload ? message.len : 0);
  processor_.process(bytes, bindings_[static_cast<size_t>(input)], result_);

  // Count the outputs first: the ticket must know them all before any acknowledgement arrives.
  uint32_t outputs = 0;
  for (const auto& report : result_.reports) {
    if (report.verdict == core::Verdict::skipped) {
      metrics_.reports[5].fetch_add(1, std::memory_order_relaxed);
      metrics_.reasons[static_cast<size_t>(report.reason)].fetch_add(1, std::memory_order_relaxed);
      continue;
    }
    const bool invalid = report.verdict == core::Verdict::invalid;
    if (invalid) metrics_.reasons[static_cast<size_t>(report.reason)].fetch_add(1, std::memory_order_relaxed);
    if (report.unknown_code) metrics_.unknown_codes.fetch_add(1, std::memory_order_relaxed);
    metrics_.reports[invalid ? 4 : static_cast<size_t>(report.outcome)].fetch_add(1, std::memory_order_relaxed);
    const auto& route = config_.routing.routes[invalid ? kInvalidRoute : static_cast<size_t>(report.outcome)];
    for (Destination d : route)
      if (d != Destination::analytics || report.analytics.length > 0) ++outputs;
  }
  const uint64_t ticket = s.progress.begin(message.offset, outputs);
  if (outputs == 0) {
    s.dirty = true;
    return;
  }
  for (const auto& report : result_.reports)
    if (report.verdict != core::Verdict::skipped) produce_report(slot, message, report, ticket);
}

void Stage::produce_report(int slot, const rd_kafka_message_t& message, const core::Report& report,
                           uint64_t ticket) noexcept {
  const bool invalid = report.verdict == core::Verdict::invalid;
  const std::string_view input(static_cast<const char*>(message.payload), message.payload ? message.len : 0);
  std::string_view key = result_.key(report);
  if (key.empty() && message.key) key = {static_cast<const char*>(message.key), message.key_len};
  const std::string_view outcome = invalid ? "invalid" : kOutcomeNames[static_cast<size_t>(report.outcome)];
  const Number partition(message.partition), offset(message.offset);
  Number not_before(0), attempt_text(0), max_attempts(0), timestamp(0), index(0), position(0);  // header values
  const std::string_view original = report.raw.in(input);

  // Headers every output carries, then room for the destination's own.
  std::array<kafka::Header, 16> headers;
  // Two headers only: librdkafka allocates each header on its own, and these records are most
  // of the stage's output. The outcome and the version are in the record's JSON as well.
  const std::string& topic = config_.inputs[static_cast<size_t>(slots_[static_cast<size_t>(slot)]->input)].topic;
  source_.assign(topic).append(1, '/').append(partition.view()).append(1, '/').append(offset.view());
  size_t common = 0;
  headers[common++] = {header::catalog_version, processor_.catalog().version()};
  headers[common++] = {header::source, source_};

  const auto& route = config_.routing.routes[invalid ? kInvalidRoute : static_cast<size_t>(report.outcome)];
  for (Destination d : route) {
    size_t n = common;
    std::string_view value;
    switch (d) {
      case Destination::enriched:
        value = result_.enriched_of(report);
        break;
      case Destination::analytics:
        if (report.analytics.length == 0) continue;  // invalid input has no analytics record
        value = result_.analytics_of(report);
        break;
      case Destination::retry: {
        value = result_.enriched_of(report);
        const catalog::RetryHint hint = report.decision ? report.decision->retry : catalog::RetryHint{};
        // An upstream retrier that feeds the record back says which attempt it was.
        int64_t attempt = 1;
        rd_kafka_headers_t* in_headers = nullptr;
        if (rd_kafka_message_headers(&message, &in_headers) == RD_KAFKA_RESP_ERR_NO_ERROR) {
          const void* v = nullptr;
          size_t size = 0;
          if (rd_kafka_header_get_last(in_headers, header::retry_attempt.data(), &v, &size) == RD_KAFKA_RESP_ERR_NO_ERROR && v) {
            int64_t previous = 0;
            const char* text = static_cast<const char*>(v);
            if (std::from_chars(text, text + size, previous).ec == std::errc()) attempt = previous + 1;
          }
        }
        not_before = Number(now_ms() + int64_t{hint.not_before_s} * 1000);
        attempt_text = Number(attempt);
        headers[n++] = {header::retry_not_before, not_before.view()};
        headers[n++] = {header::retry_attempt, attempt_text.view()};
        if (hint.max_attempts > 0) {
          max_attempts = Number(hint.max_attempts);
          headers[n++] = {header::retry_max_attempts, max_attempts.view()};
        }
        break;
      }
      case Destination::dead_letter: {
        value = original;  // the original bytes: a batch's failing report, or the whole message
        rd_kafka_timestamp_type_t type{};
        timestamp = Number(rd_kafka_message_timestamp(&message, &type));
        index = Number(report.index);
        headers[n++] = {header::outcome, outcome};
        headers[n++] = {header::reason, invalid ? core::to_string(report.reason) : std::string_view("PERMANENT_FAILURE")};
        if (invalid && *report.detail) headers[n++] = {header::detail, report.detail};
        if (!invalid && report.decision) headers[n++] = {header::rule, report.decision->rule};
        if (report.position >= 0) {
          position = Number(report.position);
          headers[n++] = {header::position, position.view()};
        }
        if (result_.document_error == core::Reason::none) headers[n++] = {header::report_index, index.view()};
        headers[n++] = {header::source_topic, topic};
        headers[n++] = {header::source_partition, partition.view()};
        headers[n++] = {header::source_offset, offset.view()};
        headers[n++] = {header::source_timestamp, timestamp.view()};
        headers[n++] = {header::consumer_group, config_.group_id};
        break;
      }
    }
    produce(slot, d, ticket, key, value, original, std::span(headers.data(), n));
  }
}

void Stage::produce(int slot, Destination destination, uint64_t ticket, std::string_view key, std::string_view value,
                    std::string_view original, std::span<const kafka::Header> headers) noexcept {
  void* opaque = encode(slot, destination, ticket);
  auto err = producer_->produce(topics_[static_cast<size_t>(destination)], key, value, headers, opaque);
  if (config_.exactly_once) {
    // Inside a transaction the record must go in now: wait for room rather than set it aside.
    while (err == RD_KAFKA_RESP_ERR__QUEUE_FULL && fatal_.empty()) {
      producer_->poll(20);
      err = producer_->produce(topics_[static_cast<size_t>(destination)], key, value, headers, opaque);
    }
    if (err && !is_record_too_large(err)) {
      metrics_.produce_errors[static_cast<size_t>(destination)].fetch_add(1, std::memory_order_relaxed);
      txn_failed_ = true;  // aborted and its inputs read again
      return;
    }
  }
  if (!err) return;
  if (err == RD_KAFKA_RESP_ERR__QUEUE_FULL) {
    // Backpressure: keep the record, stop consuming until the queue drains.
    defer(slot, destination, opaque, key, value, headers, milliseconds(0));
    return;
  }
  if (is_record_too_large(err) && destination != Destination::dead_letter) {
    // The enriched form outgrew the limit: the report goes to the dead-letter topic instead, as
    // its original bytes with the reason; the ticket still counts one output.
    std::array<kafka::Header, 16> dlq;
    size_t n = 0;
    for (const auto& h : headers)
      if (n < dlq.size() - 3 && h.name.starts_with("dlr-") && !h.name.starts_with("dlr-retry")) dlq[n++] = h;
    dlq[n++] = {header::outcome, "invalid"};
    dlq[n++] = {header::reason, core::to_string(core::Reason::output_too_large)};
    dlq[n++] = {header::consumer_group, config_.group_id};
    if (uint64_t held_back = 0; oversize_log_.allow(held_back))
      spdlog::warn("an output record of {} bytes is over message.max.bytes; its report goes to {} as OUTPUT_TOO_LARGE "
                   "({} more not logged)", value.size(), config_.outputs.dead_letter, held_back);
    produce(slot, Destination::dead_letter, ticket, key, original, original, std::span(dlq.data(), n));
    return;
  }
  if (is_record_too_large(err)) {
    fatal_ = "a dead-letter record of " + std::to_string(value.size()) +
             " bytes is over the producer's message.max.bytes; raise it (and the topic's max.message.bytes)";
    return;
  }
  metrics_.produce_errors[static_cast<size_t>(destination)].fetch_add(1, std::memory_order_relaxed);
  if (uint64_t held_back = 0; produce_failure_log_.allow(held_back))
    spdlog::warn("produce to {} failed: {}; will try again ({} similar failure(s) not logged)",
                 rd_kafka_topic_name(topics_[static_cast<size_t>(destination)]), kafka::describe(err), held_back);
  defer(slot, destination, opaque, key, value, headers, milliseconds(500));
}

void Stage::defer(int slot, Destination destination, void* opaque, std::string_view key, std::string_view value,
                  std::span<const kafka::Header> headers, milliseconds delay) {
  Deferred d;
  d.slot = slot;
  d.destination = destination;
  d.opaque = opaque;
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
    const auto err = producer_->produce(topics_[static_cast<size_t>(d.destination)], d.key, d.value,
                                        std::span(headers.data(), n), d.opaque);
    if (err == RD_KAFKA_RESP_ERR__QUEUE_FULL) break;  // still full: try on the next turn
    if (err) {
      metrics_.produce_errors[static_cast<size_t>(d.destination)].fetch_add(1, std::memory_order_relaxed);
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

void Stage::on_delivery(const rd_kafka_message_t& message) noexcept {
  const Decoded d = decode(message._private);
  if (static_cast<size_t>(d.slot) >= slots_.size()) return;
  Slot& s = *slots_[static_cast<size_t>(d.slot)];
  if (!message.err) {
    metrics_.produced[static_cast<size_t>(d.destination)].fetch_add(1, std::memory_order_relaxed);
    if (s.progress.complete(d.ticket)) s.dirty = true;
    return;
  }
  metrics_.produce_errors[static_cast<size_t>(d.destination)].fetch_add(1, std::memory_order_relaxed);
  if (config_.exactly_once) {
    txn_failed_ = true;  // the transaction is aborted and its inputs read again
    return;
  }
  if (!s.assigned || !s.progress.holds(d.ticket)) return;  // revoked meanwhile: the new owner reprocesses it
  // A failed delivery never advances the offset: the record is produced again, with backoff,
  // for as long as it takes; its partition waits.
  if (uint64_t held_back = 0; produce_failure_log_.allow(held_back))
    spdlog::warn("delivery to {} failed: {}; the record is produced again and its input offset waits "
                 "({} similar failure(s) not logged)",
                 rd_kafka_topic_name(message.rkt), kafka::describe(message.err), held_back);
  std::array<kafka::Header, 16> headers;
  size_t n = 0;
  rd_kafka_headers_t* hdrs = nullptr;
  if (rd_kafka_message_headers(&message, &hdrs) == RD_KAFKA_RESP_ERR_NO_ERROR) {
    const char* name = nullptr;
    const void* value = nullptr;
    size_t size = 0;
    for (size_t i = 0; n < headers.size() && rd_kafka_header_get_all(hdrs, i, &name, &value, &size) == RD_KAFKA_RESP_ERR_NO_ERROR; ++i)
      headers[n++] = {name, {static_cast<const char*>(value), size}};
  }
  defer(d.slot, d.destination, message._private,
        {static_cast<const char*>(message.key), message.key ? message.key_len : 0},
        {static_cast<const char*>(message.payload), message.payload ? message.len : 0}, std::span(headers.data(), n),
        milliseconds(500));
}

void Stage::store_offsets() noexcept {
  if (config_.exactly_once) return;  // offsets go with the transactions
  kafka::PartitionList list(0);
  bool any = false;
  for (auto& s : slots_) {
    if (!s->dirty) continue;
    s->dirty = false;
    if (!s->assigned || s->progress.committable() < 0) continue;
    list.add(s->topic.c_str(), s->partition).offset = s->progress.committable();
    any = true;
  }
  if (!any) return;
  if (auto err = consumer_->store_offsets(list)) {
    spdlog::debug("offset store: {}", kafka::describe(err));
    return;
  }
  metrics_.offsets_stored.fetch_add(static_cast<uint64_t>(list.size()), std::memory_order_relaxed);
}

bool Stage::backlogged() const noexcept {
  return !deferred_.empty() || producer_->queue_length() >= hold_above_;
}

void Stage::hold() noexcept {
  const auto now = Clock::now();
  if (!held_) {
    held_ = true;
    held_since_ = now;
    metrics_.paused = true;
    spdlog::debug("backpressure: holding back ({} records queued, {} to produce again)", producer_->queue_length(),
                  deferred_.size());
    return;
  }
  if (!paused_ && now - held_since_ >= std::chrono::seconds(10)) {
    paused_ = true;
    consumer_->pause(consumer_->assignment());
    spdlog::warn("backpressure: outputs not written for 10s ({} records queued, {} to produce again); partitions "
                 "paused until they are",
                 producer_->queue_length(), deferred_.size());
  }
}

void Stage::release() noexcept {
  if (!held_) return;
  held_ = false;
  metrics_.paused = false;
  if (paused_) {
    paused_ = false;
    consumer_->resume(consumer_->assignment());
    spdlog::info("backpressure: partitions resumed");
  }
}

// ---------------------------------------------------------------------------------------------
// Exactly-once: consume-transform-produce in transactions

void Stage::begin_transaction() noexcept {
  if (const auto s = producer_->begin_transaction(); !s.ok) {
    fatal_ = "begin transaction: " + s.message;
    return;
  }
  txn_open_ = true;
  txn_failed_ = false;
  txn_started_ = Clock::now();
}

void Stage::commit_transaction() noexcept {
  if (!txn_open_) return;
  if (txn_failed_) {
    abort_transaction();
    return;
  }
  kafka::PartitionList offsets(0);
  for (const auto& s : slots_)
    if (s->txn_first >= 0) offsets.add(s->topic.c_str(), s->partition).offset = s->next_offset;
  kafka::TxnStatus status = producer_->send_offsets_to_transaction(offsets, *consumer_, 30000);
  for (int attempt = 0; status.ok || status.retriable; ++attempt) {
    if (status.ok) status = producer_->commit_transaction(60000);
    if (status.ok) {
      for (auto& s : slots_) s->txn_first = -1;
      txn_open_ = false;
      metrics_.transactions_committed.fetch_add(1, std::memory_order_relaxed);
      return;
    }
    if (!status.retriable || attempt >= 5) break;
  }
  if (status.fatal) {
    fatal_ = "commit transaction: " + status.message;
    return;
  }
  if (uint64_t held_back = 0; transaction_log_.allow(held_back))
    spdlog::warn("commit transaction: {}; aborting it and reading its inputs again ({} similar not logged)",
                 status.message, held_back);
  abort_transaction();
}

void Stage::abort_transaction() noexcept {
  if (!txn_open_) return;
  if (const auto s = producer_->abort_transaction(60000); !s.ok) {
    fatal_ = "abort transaction: " + s.message;
    return;
  }
  // Read the aborted transaction's inputs again, from where it began.
  kafka::PartitionList rewind(0);
  for (auto& s : slots_) {
    if (s->txn_first < 0) continue;
    if (s->assigned) rewind.add(s->topic.c_str(), s->partition).offset = s->txn_first;
    s->next_offset = s->txn_first;
    s->txn_first = -1;
  }
  if (rewind.size() > 0) {
    if (auto err = consumer_->seek(rewind, 10000)) fatal_ = "rewind after abort: " + kafka::describe(err);
  }
  txn_open_ = false;
  txn_failed_ = false;
  metrics_.transactions_aborted.fetch_add(1, std::memory_order_relaxed);
}

// ---------------------------------------------------------------------------------------------
// Rebalances

void Stage::on_assigned(const kafka::PartitionList& partitions) noexcept {
  metrics_.rebalances.fetch_add(1, std::memory_order_relaxed);
  for (const auto& p : partitions.items()) {
    const int input = input_of(p.topic);
    if (input < 0) continue;
    Slot& s = *slots_[static_cast<size_t>(slot_of(input, p.partition))];
    s.progress.reset();
    s.txn_first = -1;
    s.assigned = true;
    s.dirty = false;
    s.next_offset = -1;
  }
  if (paused_) consumer_->pause(partitions);
  refresh_gauges();
  spdlog::info("assigned {} partition(s); {} in all", partitions.size(), metrics_.assigned_partitions.load());
}

void Stage::on_revoking(const kafka::PartitionList& partitions, bool lost) noexcept {
  metrics_.rebalances.fetch_add(1, std::memory_order_relaxed);
  if (config_.exactly_once && txn_open_) {
    // Before the partitions move: their outputs and offsets commit together, or not at all.
    if (lost) abort_transaction();
    else commit_transaction();
  }
  if (!lost && !config_.exactly_once) {
    // Give the outputs of these partitions a bounded chance to be acknowledged, then commit
    // what is done, so the next owner repeats as little as possible.
    producer_->flush(std::min(10, config_.shutdown_timeout_s) * 1000);
    store_offsets();
    if (auto err = consumer_->commit(); err && err != RD_KAFKA_RESP_ERR__NO_OFFSET)
      spdlog::warn("commit on revoke: {}", kafka::describe(err));
  }
  size_t unfinished = 0;
  for (const auto& p : partitions.items()) {
    const int input = input_of(p.topic);
    if (input < 0) continue;
    const int slot = slot_of(input, p.partition);
    Slot& s = *slots_[static_cast<size_t>(slot)];
    unfinished += s.progress.in_flight();
    s.progress.reset();
    s.assigned = false;
    s.dirty = false;
    std::erase_if(deferred_, [slot](const Deferred& d) { return d.slot == slot; });
  }
  metrics_.deferred_records.store(static_cast<int64_t>(deferred_.size()), std::memory_order_relaxed);
  spdlog::info("{} {} partition(s){}", lost ? "lost" : "revoked", partitions.size(),
               unfinished ? "; " + std::to_string(unfinished) + " message(s) not done will be processed again by the next owner"
                          : std::string());
}

// ---------------------------------------------------------------------------------------------
// Gauges, stats, shutdown

void Stage::refresh_gauges() noexcept {
  std::vector<PartitionLag> lag;
  int assigned = 0;
  size_t in_flight_total = 0;
  for (const auto& s : slots_) {
    if (!s->assigned) continue;
    ++assigned;
    int64_t low = -1, high = -1;
    PartitionLag p{s->topic, s->partition, 0, s->progress.committable(), s->progress.in_flight()};
    if (rd_kafka_get_watermark_offsets(consumer_->handle(), s->topic.c_str(), s->partition, &low, &high) ==
            RD_KAFKA_RESP_ERR_NO_ERROR && high >= 0) {
      const int64_t next = s->next_offset >= 0 ? s->next_offset : (s->progress.committable() >= 0 ? s->progress.committable() : low);
      p.lag = std::max<int64_t>(0, high - next);
    }
    in_flight_total += p.in_flight;
    lag.push_back(std::move(p));
  }
  metrics_.assigned_partitions.store(assigned, std::memory_order_relaxed);
  metrics_.in_flight_messages.store(static_cast<int64_t>(in_flight_total), std::memory_order_relaxed);
  metrics_.loop_heartbeat_ms.store(steady_ms(), std::memory_order_relaxed);
  std::lock_guard lock(metrics_.lag_mutex);
  metrics_.lag = std::move(lag);
}

void Stage::log_stats(double seconds) noexcept {
  const auto load = [](const auto& a) { return a.load(std::memory_order_relaxed); };
  int64_t lag = 0;
  {
    std::lock_guard lock(metrics_.lag_mutex);
    for (const auto& p : metrics_.lag) lag += p.lag;
  }
  uint64_t errors = 0;
  for (const auto& c : metrics_.produce_errors) errors += load(c);
  spdlog::info(
      "stats: {:.0f} reports/s over {:.0f}s; delivered={} pending={} retryable={} permanent={} invalid={} skipped={} "
      "unknown_codes={} produced: enriched={} retry={} dlq={} analytics={} produce_errors={} in_flight={} lag={} "
      "partitions={}{}",
      load(metrics_.reports_per_second), seconds, load(metrics_.reports[0]), load(metrics_.reports[1]),
      load(metrics_.reports[2]), load(metrics_.reports[3]), load(metrics_.reports[4]), load(metrics_.reports[5]),
      load(metrics_.unknown_codes), load(metrics_.produced[0]), load(metrics_.produced[1]), load(metrics_.produced[2]),
      load(metrics_.produced[3]), errors, load(metrics_.in_flight_messages), lag, load(metrics_.assigned_partitions),
      paused_ ? " paused" : (held_ ? " holding back" : ""));
}

int Stage::shutdown() noexcept {
  const auto deadline = Clock::now() + std::chrono::seconds(config_.shutdown_timeout_s);
  spdlog::info("stopping: draining {} message(s) in flight (at most {}s)", in_flight(), config_.shutdown_timeout_s);
  // Stop consuming, finish what was taken: produce what is owed, wait for acknowledgements.
  while (Clock::now() < deadline && (!deferred_.empty() || producer_->queue_length() > 0) && fatal_.empty()) {
    if (!deferred_.empty()) produce_deferred();
    producer_->poll(50);
    store_offsets();
  }
  store_offsets();
  if (config_.exactly_once) {
    if (txn_open_ && fatal_.empty()) commit_transaction();
    consumer_->close();
    refresh_gauges();
    if (txn_open_ || !fatal_.empty()) {
      spdlog::error("stopped with a transaction not committed; its inputs will be processed again");
      return 1;
    }
    spdlog::info("stopped cleanly: every consumed message's outputs and offsets committed in a transaction");
    return 0;
  }
  const size_t unfinished = in_flight();
  if (auto err = consumer_->commit(); err && err != RD_KAFKA_RESP_ERR__NO_OFFSET)
    spdlog::warn("commit at shutdown: {}", kafka::describe(err));
  consumer_->close();  // leaves the group; revocation commits once more
  refresh_gauges();
  if (unfinished > 0) {
    spdlog::error("stopped with {} message(s) whose outputs were not all acknowledged; their offsets were not "
                  "committed, so they will be processed again",
                  unfinished);
    return 1;
  }
  spdlog::info("stopped cleanly: every consumed message's outputs acknowledged and committed");
  return 0;
}

}  // namespace dlr::app

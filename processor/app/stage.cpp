#include "stage.h"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <array>
#include <charconv>

#include "dlr/kafka/client.h"
#include "run_loop.h"

namespace dlr::app {

using config::Destination;
using Clock = std::chrono::steady_clock;

namespace {
std::vector<std::string> input_topics(const config::Config& c) {
  std::vector<std::string> topics;
  for (const auto& input : c.inputs) topics.push_back(input.topic);
  return topics;
}
int64_t now_ms() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}
}  // namespace

Stage::Stage(config::Config config, std::shared_ptr<const catalog::Catalog> catalog, Metrics& metrics,
             StageIo io)
    : config_(std::move(config)),
      io_(std::move(io)),
      metrics_(metrics),
      processor_(std::move(catalog), core::ProcessorOptions{config_.max_document_bytes, 64, true}),
      fanout_(config_.group_id, config_.outputs.source_headers),
      offsets_(input_topics(config_)),
      backpressure_(io_.input, metrics_.paused, io_.pause_after),
      txn_(config_.exactly_once ? io_.transactions : nullptr, io_.input, offsets_,
           metrics_.transactions_committed, metrics_.transactions_aborted,
           std::chrono::milliseconds(config_.transaction_ms)) {
  for (const auto& input : config_.inputs) bindings_.push_back(core::parse_channel(input.channel));
  topics_[Destination::enriched] = io_.output.topic(config_.outputs.enriched);
  topics_[Destination::retry] = io_.output.topic(config_.outputs.retry);
  topics_[Destination::dead_letter] = io_.output.topic(config_.outputs.dead_letter);
  topics_[Destination::analytics] = io_.output.topic(config_.outputs.analytics);
  io_.output.set_listener(*this);
  io_.input.set_listener(*this);
  last_refresh_ = last_stats_ = Clock::now();
}

Stage::~Stage() = default;

int Stage::run(const std::atomic<bool>& stop) {
  spdlog::info("consuming {} input topic(s) as group '{}' from {}; catalogue {}", config_.inputs.size(),
               config_.group_id, config_.brokers, processor_.catalog().version());
  return run_until_stopped(*this, stop, metrics_.fatal);
}

void Stage::turn() {
  // Between two messages: every message is processed whole by one catalogue.
  if (catalog_feed_) {
    if (auto next = catalog_feed_()) apply_catalog(std::move(next));
  }
  io_.output.poll(0);  // delivery reports: acknowledgements move offsets
  if (!deferred_.empty()) produce_deferred();
  store_offsets();

  if (backlogged()) {
    backpressure_.hold(io_.output.queue_length(), deferred_.size());
    io_.output.poll(20);  // wait for acknowledgements, do not spin
    if (backpressure_.paused()) {
      if (const kafka::InputRecord* event = io_.input.poll(0)) handle(*event);  // rebalances and errors only
    }
  } else {
    backpressure_.release();
    // A turn takes up to a batch of messages without blocking; it waits only when idle, and
    // briefly when outputs are in flight so their acknowledgements are served soon.
    const int idle_wait_ms = io_.output.queue_length() > 0 ? 5 : 100;
    for (int taken = 0; taken < 1000; ++taken) {
      const kafka::InputRecord* record = io_.input.poll(taken == 0 ? idle_wait_ms : 0);
      if (!record) break;
      handle(*record);
      if (backlogged()) break;
    }
  }

  if (txn_.due()) (void)txn_.commit(fatal_);

  const auto now = Clock::now();
  if (now - last_refresh_ >= std::chrono::seconds(1)) {
    last_refresh_ = now;
    refresh_gauges();
    check_clients();
  }
  if (config_.stats_interval_s > 0 && now - last_stats_ >= std::chrono::seconds(config_.stats_interval_s)) {
    const double seconds = std::chrono::duration<double>(now - last_stats_).count();
    uint64_t reports = metrics_.skipped.load(std::memory_order_relaxed);
    for (const auto& c : metrics_.reports) reports += c.load(std::memory_order_relaxed);
    metrics_.reports_per_second.store(static_cast<double>(reports - reports_at_last_stats_) / seconds);
    reports_at_last_stats_ = reports;
    last_stats_ = now;
    log_stats(seconds);
  }
}

void Stage::check_clients() noexcept {
  if (const std::string error = io_.output.fatal_error(); !error.empty()) fatal_ = "producer: " + error;
  if (const std::string error = kafka::configuration_error(); !error.empty())
    fatal_ = "cannot connect securely to the brokers: " + error +
             "; check security.protocol, sasl.* and ssl.* (and the secrets they reference)" + io_.scram_hint;
}

void Stage::apply_catalog(std::shared_ptr<const catalog::Catalog> next) {
  const std::string previous(processor_.catalog().version());
  processor_.set_catalog(std::move(next));  // the old one is freed here: no output record refers to it
  // Version first, then the count: a scrape that sees the reload applied sees its version too.
  metrics_.set_catalog_version(processor_.catalog().version());
  metrics_.catalog_reloads_applied.fetch_add(1, std::memory_order_relaxed);
  spdlog::info("catalogue {} active (was {})", processor_.catalog().version(), previous);
}

void Stage::count(const core::Report& report) noexcept {
  if (report.verdict == core::Verdict::skipped) {
    metrics_.skipped.fetch_add(1, std::memory_order_relaxed);
    metrics_.reasons[static_cast<size_t>(report.reason)].fetch_add(1, std::memory_order_relaxed);
    return;
  }
  if (report.verdict == core::Verdict::invalid)
    metrics_.reasons[static_cast<size_t>(report.reason)].fetch_add(1, std::memory_order_relaxed);
  if (report.unknown_code) metrics_.unknown_codes.fetch_add(1, std::memory_order_relaxed);
  if (report.unknown_channel) metrics_.unknown_channels.fetch_add(1, std::memory_order_relaxed);
  metrics_.reports[route_of(report)].fetch_add(1, std::memory_order_relaxed);
  if (report.error_id >= 0) count_error(report);
}

namespace {
constexpr size_t kMaxErrorCodes = 500;  // series of dlr_error_reports_total; the rest are "other"
constexpr uint64_t kOtherErrors = ~uint64_t{0};
}  // namespace

void Stage::count_error(const core::Report& report) noexcept {
  const uint64_t family = report.error_known ? static_cast<uint64_t>(report.error_family) + 1 : 0;
  uint64_t key = family << 32 | static_cast<uint32_t>(report.error_id);
  if (error_counts_.size() >= kMaxErrorCodes && !error_counts_.contains(key)) key = kOtherErrors;
  ++error_counts_[key];  // allocates only for a code not seen before
}

// Names from the active catalogue: a code counted under an older one keeps its family and id.
void Stage::publish_error_codes() noexcept {
  std::vector<ErrorCodeCount> codes;
  codes.reserve(error_counts_.size());
  for (const auto& [key, reports] : error_counts_) {
    if (key == kOtherErrors) {
      codes.push_back({"", "other", reports});
      continue;
    }
    const auto id = static_cast<int32_t>(key & 0xFFFFFFFFu);
    if ((key >> 32) == 0) {
      codes.push_back({"unknown", std::to_string(id), reports});
      continue;
    }
    const auto family = static_cast<catalog::Family>((key >> 32) - 1);
    const std::array<catalog::Family, 1> families = {family};
    const catalog::Match match = processor_.catalog().find(catalog::Kind::error, families, id, -1);
    codes.push_back({std::string(catalog::to_string(family)),
                     match.entry ? match.entry->entry.name : std::to_string(id), reports});
  }
  std::sort(codes.begin(), codes.end(), [](const auto& a, const auto& b) { return a.reports > b.reports; });
  std::lock_guard lock(metrics_.error_codes_mutex);
  metrics_.error_codes = std::move(codes);
}

// An upstream retrier that feeds a record back says which attempt it was.
int64_t Stage::previous_attempt() const noexcept {
  bool retried = false;
  for (const auto& report : result_.reports)
    retried |= report.verdict == core::Verdict::classified && report.outcome == catalog::Outcome::retryable;
  if (!retried) return 0;
  const auto text = io_.input.last_header(header::retry_attempt);
  int64_t previous = 0;
  if (!text || std::from_chars(text->data(), text->data() + text->size(), previous).ec != std::errc())
    return 0;
  return previous;
}

void Stage::handle(const kafka::InputRecord& record) noexcept {
  if (record.err) {
    metrics_.consumer_errors.fetch_add(1, std::memory_order_relaxed);
    if (uint64_t held_back = 0; consumer_error_log_.allow(held_back))
      spdlog::warn("consumer: {}{} ({} similar error(s) not logged)", kafka::describe(record.err),
                   record.topic.empty() ? std::string() : " on " + std::string(record.topic), held_back);
    if (record.err == RD_KAFKA_RESP_ERR__FATAL) fatal_ = "consumer: " + kafka::describe(record.err);
    return;
  }
  const int input = offsets_.input_of(record.topic);
  if (input < 0) return;  // subscribed topics only; cannot happen
  const int slot = offsets_.slot_of(input, record.partition);
  txn_.add(slot, record.offset, fatal_);
  metrics_.input_messages[input].fetch_add(1, std::memory_order_relaxed);
  const std::string_view replay_of = io_.input.last_header(header::replay_of).value_or(std::string_view());
  if (!replay_of.empty()) metrics_.replayed_messages.fetch_add(1, std::memory_order_relaxed);
  const std::string_view source =
      write_source_text(record.topic, record.partition, record.offset, source_text_);
  processor_.process(record.value, bindings_[static_cast<size_t>(input)], result_, source);

  // Count the outputs first: the ticket must know them all before any acknowledgement arrives.
  uint32_t outputs = 0;
  for (const auto& report : result_.reports) {
    count(report);
    outputs += output_count(report, config_.routing);
  }
  const uint64_t ticket = offsets_.begin(slot, record.offset, outputs);
  if (outputs == 0) return;
  fanout_.begin({record.topic, record.partition, record.offset, record.timestamp, record.key, record.value,
                 previous_attempt(), replay_of, source},
                processor_.catalog().version(), now_ms());
  for (const auto& report : result_.reports)
    for (const OutputRecord& out : fanout_.records(result_, report, config_.routing))
      produce(slot, out, ticket);
}

bool Stage::backlogged() const noexcept {
  return !deferred_.empty() || io_.output.queue_length() >= io_.hold_above;
}

}  // namespace dlr::app

// The Kafka commands: `dlr-enricher run` (the enrichment stage), `track` (the tracking stage) and
// `check-config`.
#include <malloc.h>
#include <spdlog/spdlog.h>

#include <csignal>
#include <cstdio>

#include "args.h"
#include "commands.h"
#include "dlr/catalog/loader.h"
#include "dlr/config/config.h"
#include "endpoint.h"
#include "group_lag.h"
#include "help.h"
#include "logging.h"
#include "metrics.h"
#include "reloader.h"
#include "stage_clients.h"
#include "state_dir_claim.h"
#include "status_pages.h"
#include "tracker.h"
#include "watchdog.h"

namespace dlr::app {
namespace {

std::atomic<bool> g_stop{false};
std::atomic<bool> g_reload{false};

extern "C" void on_stop_signal(int) {
  g_stop.store(true);
}
extern "C" void on_reload_signal(int) {
  g_reload.store(true);
}

// librdkafka allocates and frees every record and fetch buffer. glibc's defaults hand large
// blocks back to the kernel and map them again, which costs more CPU than the processing (pages
// zeroed each time); keeping them in the heap bounds memory by the queue sizes instead.
void tune_allocator() {
  mallopt(M_MMAP_THRESHOLD, 32 << 20);
  mallopt(M_TRIM_THRESHOLD, 128 << 20);
}

void install_signal_handlers() {
  struct sigaction action {};
  action.sa_handler = on_stop_signal;
  sigemptyset(&action.sa_mask);
  sigaction(SIGTERM, &action, nullptr);
  sigaction(SIGINT, &action, nullptr);
  action.sa_handler = on_reload_signal;
  sigaction(SIGHUP, &action, nullptr);
  std::signal(SIGPIPE, SIG_IGN);
}

// What `run` and `track` start from: the config (with --brokers applied) and its catalogue.
struct Start {
  int exit_code = -1;  ///< 0 or more: stop with it (0: the help was asked for)
  config::Config config;
  catalog::Loaded catalog;
};

Start start(int argc, char** argv, const char* command) {
  Start s;
  Args args(argc, argv, 2, {"config", "brokers"}, {});
  if (const int code = help_or_usage_error(args, command); code >= 0) {
    s.exit_code = code;
    return s;
  }
  if (!args.get("config")) {
    s.exit_code = usage_error(command, "--config FILE is required");
    return s;
  }
  if (!args.positionals().empty()) {
    s.exit_code = usage_error(command, "unexpected argument '" + args.positionals()[0] + "'");
    return s;
  }
  config::LoadResult loaded;
  if (!load_all(*args.get("config"), loaded, &s.catalog)) {
    s.exit_code = 1;
    return s;
  }
  s.config = std::move(loaded.config);
  if (auto brokers = args.get("brokers")) s.config.brokers = *brokers;
  setup_logging(s.config.log_format);
  install_signal_handlers();
  tune_allocator();
  return s;
}

}  // namespace

bool load_all(const std::string& path, config::LoadResult& loaded, catalog::Loaded* catalog_out,
              bool with_catalog) {
  loaded = config::load_config(path);
  if (with_catalog && loaded.diagnostics.empty()) {
    auto catalog = catalog::load_catalog(loaded.config.codes_path, loaded.config.policy_path);
    for (auto& d : catalog.diagnostics) loaded.diagnostics.push_back(std::move(d));
    if (catalog_out) *catalog_out = std::move(catalog);
  }
  for (const auto& d : loaded.diagnostics) std::fprintf(stderr, "%s\n", catalog::format(d).c_str());
  if (!loaded.diagnostics.empty()) {
    std::fprintf(stderr, "%zu problem(s): the config is not valid\n", loaded.diagnostics.size());
    return false;
  }
  return true;
}

int run_command(int argc, char** argv) {
  Start started = start(argc, argv, "run");
  if (started.exit_code >= 0) return started.exit_code;
  config::Config& cfg = started.config;
  catalog::Loaded& catalog = started.catalog;

  std::vector<std::string> topics;
  for (const auto& input : cfg.inputs) topics.push_back(input.topic);
  Metrics metrics(topics);
  std::shared_ptr<const catalog::Catalog> shared = std::move(catalog.catalog);
  metrics.catalog_loaded = true;
  CatalogReloader reloader(
      {cfg.codes_path, cfg.policy_path,
       cfg.catalog_watch ? std::chrono::seconds(cfg.catalog_watch_interval_s) : std::chrono::seconds(0)},
      *shared, metrics, g_reload);

  Endpoint endpoint;
  metrics.loop_heartbeat_ms = steady_now_ms();
  const std::string endpoint_error = endpoint.start(cfg.metrics_address, [&metrics](const std::string& path) {
    return status_page(metrics, path, steady_now_ms());
  });
  if (!endpoint_error.empty()) {
    spdlog::error("{}", endpoint_error);
    return 2;
  }
  spdlog::info("metrics on http://{}/metrics (port {}), /healthz, /readyz", cfg.metrics_address,
               endpoint.port());

  std::string client_error;
  auto clients = StageClients::connect(cfg, client_error);
  if (!clients) {
    spdlog::error("cannot start: {}", client_error);
    return 2;
  }
  const kafka::Properties lag_props = kafka::lag_properties(client_settings(cfg));
  auto group_offsets = kafka::KafkaGroupOffsets::create(lag_props, client_error);
  if (!group_offsets) {
    spdlog::error("cannot start: the lag reader: {}", client_error);
    return 2;
  }
  const std::string reset = kafka::property(lag_props, "auto.offset.reset");
  GroupLag lag({topics, reset == "earliest" || reset == "smallest" || reset == "beginning",
                std::chrono::seconds(cfg.lag_interval_s)},
               *group_offsets, metrics);
  lag.start();
  auto stage = std::make_unique<Stage>(cfg, shared, metrics, clients->io());
  stage->set_catalog_feed([&reloader] { return reloader.take(); });
  reloader.start();
  if (cfg.catalog_watch)
    spdlog::info("catalogue files watched every {}s; SIGHUP reloads too", cfg.catalog_watch_interval_s);

  ShutdownWatchdog watchdog(g_stop, std::chrono::seconds(cfg.shutdown_timeout_s + 15));
  const int code = stage->run(g_stop);
  watchdog.run_returned();
  reloader.stop();
  lag.stop();
  stage.reset();
  clients.reset();  // the clients' destruction is under the watchdog too
  watchdog.finished();
  endpoint.stop();
  return code;
}

int track_command(int argc, char** argv) {
  Start started = start(argc, argv, "track");
  if (started.exit_code >= 0) return started.exit_code;
  const config::Config& cfg = started.config;
  const catalog::Loaded& catalog = started.catalog;
  TrackerMetrics metrics;
  metrics.catalog_version = std::string(catalog.catalog->version());
  metrics.loop_heartbeat_ms = steady_now_ms();
  Endpoint endpoint;
  const std::string endpoint_error = endpoint.start(
      cfg.tracking.metrics_address,
      [&metrics](const std::string& path) { return status_page(metrics, path, steady_now_ms()); });
  if (!endpoint_error.empty()) {
    spdlog::error("{}", endpoint_error);
    return 2;
  }
  spdlog::info("metrics on http://{}/metrics (port {}), /healthz, /readyz", cfg.tracking.metrics_address,
               endpoint.port());

  std::string error;
  const auto claim = StateDirClaim::claim(cfg.tracking.state_dir, error);
  if (!claim) {
    spdlog::error("cannot start: {}", error);
    return 2;
  }
  // The tracker's clients: its own group, the guarantee of the config, and a reader for the changelog.
  const kafka::ClientSettings settings{cfg.brokers,
                                       cfg.tracking.group_id,
                                       cfg.exactly_once,
                                       cfg.kafka_common,
                                       cfg.kafka_consumer,
                                       cfg.kafka_producer,
                                       cfg.tracking.group_id + "-" + claim->instance_id()};
  auto output = kafka::KafkaOutput::create(kafka::producer_properties(settings), error);
  auto input = output ? kafka::KafkaInput::create(kafka::consumer_properties(settings), error) : nullptr;
  auto restore =
      input ? kafka::KafkaPartitionReader::create(kafka::reader_properties(settings), error) : nullptr;
  if (!restore) {
    spdlog::error("cannot start: {}", error);
    return 2;
  }
  std::unique_ptr<kafka::KafkaTransactions> transactions;
  if (cfg.exactly_once) {
    transactions = std::make_unique<kafka::KafkaTransactions>(output->producer(), input->consumer());
    if (const auto s = transactions->init(30000); !s.ok) {
      spdlog::error("cannot start: producer transactions: {}", s.message);
      return 2;
    }
  }
  if (auto err = input->subscribe({cfg.tracking_input()})) {
    spdlog::error("cannot start: subscribe: {}", kafka::describe(err));
    return 2;
  }
  TrackerIo io{*input, *output, *restore};
  io.transactions = transactions.get();
  auto tracker = std::make_unique<Tracker>(cfg, catalog.catalog, metrics, io);
  ShutdownWatchdog watchdog(g_stop, std::chrono::seconds(cfg.shutdown_timeout_s + 15));
  const int code = tracker->run(g_stop);
  watchdog.run_returned();
  tracker.reset();
  transactions.reset();
  restore.reset();
  input.reset();  // the consumer leaves before the producer goes
  output.reset();
  watchdog.finished();
  endpoint.stop();
  return code;
}

int check_config_command(int argc, char** argv) {
  Args args(argc, argv, 2, {}, {});
  if (const int code = help_or_usage_error(args, "check-config"); code >= 0) return code;
  if (args.positionals().size() != 1) return usage_error("check-config", "one config FILE is expected");
  config::LoadResult loaded;
  // The catalogue it names must load too: a config is only valid if the stage could start on it.
  if (!load_all(args.positionals()[0], loaded, nullptr)) return 1;
  const std::string text = config::describe(loaded.config);
  std::fputs(text.c_str(), stdout);
  std::fprintf(stderr, "config OK\n");
  return 0;
}

}  // namespace dlr::app

// The one YAML configuration of the Kafka stage: plain structs with defaults, and a loader that
// reports every problem with its line.
#pragma once

#include <array>
#include <map>
#include <string>
#include <vector>

#include "dlr/catalog/model.h"
#include "dlr/core/verdict.h"

namespace dlr::config {

/// An input topic and the channel its reports come from (the channel binding).
struct Input {
  std::string topic;
  std::string channel;  ///< a channel name (sms, email, voice, whatsapp, ...); "" for none
};

/// Output topics, one per destination.
struct Outputs {
  std::string enriched = "dlr.enriched";
  std::string retry = "dlr.retry";
  std::string dead_letter = "dlr.dlq";
  std::string analytics = "dlr.analytics";
  /// dlr-catalog-version and dlr-source headers on enriched and analytics records as well. Off by
  /// default: librdkafka allocates every header on its own and these records are most of the
  /// output; their JSON names the catalogue version and the source anyway.
  bool source_headers = false;
};

using core::Destination;
using core::Route;

/// Which destinations each route is written to.
struct Routing {
  core::EnumArray<Route, std::vector<Destination>> routes = {{{
      {Destination::enriched, Destination::analytics},                            // delivered
      {Destination::enriched, Destination::analytics},                            // pending
      {Destination::enriched, Destination::retry, Destination::analytics},        // retryable
      {Destination::enriched, Destination::dead_letter, Destination::analytics},  // permanent
      {Destination::dead_letter},                                                 // invalid
  }}};
};

/// The tracking stage (`dlr-enricher track`): its own group, topics, state folder and endpoint.
struct Tracking {
  std::string group_id = "dlr-tracker";
  std::string input;                         ///< the stage's analytics topic; "" means outputs.analytics
  std::string output = "dlr.message-state";  ///< latest state per messageId (compacted)
  std::string changelog = "dlr.message-state-changelog";  ///< the stores' changelog (compacted)
  std::string state_dir = "dlr-state";  ///< one RocksDB store per partition; relative to the config file
  int retention_days = 7;               ///< event time after a message's last report that its state is kept
  int block_cache_mb = 64;              ///< RocksDB memory, shared by every store of the process
  std::string metrics_address = "127.0.0.1:9465";
};

struct Config {
  std::string brokers = "127.0.0.1:9092";  ///< bootstrap servers; --brokers overrides
  std::string group_id = "dlr-enricher";   ///< consumer group shared by every instance
  std::vector<Input> inputs;               ///< at least one
  Outputs outputs;
  Routing routing;
  std::string codes_path;               ///< catalogue codes; default: the shipped catalog/codes.yaml
  std::string policy_path;              ///< classification policy; default: the shipped catalog/policy.yaml
  bool catalog_watch = false;           ///< reload when the catalogue files change (SIGHUP always reloads)
  int catalog_watch_interval_s = 5;     ///< how often the files are checked when watched
  size_t max_document_bytes = 1 << 20;  ///< larger messages go to the dead-letter topic as TOO_LARGE
  /// processing.guarantee: at_least_once (default) or exactly_once (Kafka transactions: outputs and
  /// input offsets committed together; read outputs with isolation.level=read_committed).
  bool exactly_once = false;
  /// processing.transaction_ms: how long an exactly-once transaction collects records before it
  /// commits. Longer: fewer commits (each waits for every record's acknowledgement), later
  /// visibility to read_committed consumers.
  int transaction_ms = 100;
  std::string metrics_address = "127.0.0.1:9464";     ///< Prometheus /metrics, /healthz, /readyz
  int lag_interval_s = 5;                             ///< how often the group's lag is read
  int stats_interval_s = 30;                          ///< one-line stats log period; 0 disables
  int shutdown_timeout_s = 30;                        ///< bound on drain, flush and commit at SIGTERM
  std::string log_format = "plain";                   ///< plain or json
  std::map<std::string, std::string> kafka_common;    ///< librdkafka properties for both clients
  std::map<std::string, std::string> kafka_consumer;  ///< consumer-only properties
  std::map<std::string, std::string> kafka_producer;  ///< producer-only properties
  /// Property values read from ${env:NAME} or ${file:PATH}: "kafka.common.sasl.password" -> the
  /// reference as written (shown by check-config instead of the value).
  std::map<std::string, std::string> references;
  Tracking tracking;
  /// The tracker's input topic: tracking.input, else outputs.analytics.
  [[nodiscard]] const std::string& tracking_input() const noexcept {
    return tracking.input.empty() ? outputs.analytics : tracking.input;
  }
};

struct LoadResult {
  Config config;
  std::vector<catalog::Diagnostic> diagnostics;  ///< empty when the config is valid
};

/// Parses and validates a config. Relative catalogue paths are taken from the config's folder.
[[nodiscard]] LoadResult load_config(const std::string& path);
[[nodiscard]] LoadResult parse_config(const std::string& yaml, const std::string& file,
                                      const std::string& base_dir);

/// librdkafka properties whose values are secrets: shown redacted, never logged.
[[nodiscard]] bool is_secret_property(const std::string& key);

/// The effective configuration as YAML, secrets redacted.
[[nodiscard]] std::string describe(const Config& config);

}  // namespace dlr::config

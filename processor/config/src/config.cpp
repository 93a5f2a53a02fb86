#include "dlr/config/config.h"

#include <yaml-cpp/yaml.h>

#include <cstdlib>
#include <optional>
#include <set>
#include <sstream>

#include "dlr/catalog/loader.h"
#include "dlr/core/channel.h"

namespace dlr::config {
namespace {

using catalog::Diagnostic;

// Paths in the config are relative to its folder.
std::string resolve_path(const std::string& base_dir, const std::string& path) {
  return path.empty() || path[0] == '/' ? path : base_dir + "/" + path;
}

class Reader {
 public:
  Reader(std::string file, std::vector<Diagnostic>& out) : file_(std::move(file)), out_(out) {}

  void error(const YAML::Node& at, const std::string& message) {
    out_.push_back({file_, at.Mark().line + 1, message});
  }

  void only(const YAML::Node& map, const std::set<std::string>& known, const std::string& where) {
    for (const auto& kv : map) {
      const auto key = kv.first.as<std::string>();
      if (!known.count(key)) {
        std::string list;
        for (const auto& k : known) list += (list.empty() ? "" : ", ") + k;
        error(kv.first, "unknown key '" + key + "' in " + where + " (known: " + list + ")");
      }
    }
  }

  bool map(const YAML::Node& node, const std::string& what) {
    if (node.IsMap()) return true;
    error(node, what + " must be a map");
    return false;
  }

  void string(const YAML::Node& node, const std::string& what, std::string& out) {
    if (!node) return;
    if (!node.IsScalar() || node.as<std::string>().empty()) {
      error(node, what + " must be a non-empty string");
      return;
    }
    out = node.as<std::string>();
  }

  void boolean(const YAML::Node& node, const std::string& what, bool& out) {
    if (!node) return;
    try {
      if (!node.IsScalar()) throw YAML::Exception(node.Mark(), "");
      out = node.as<bool>();
    } catch (const YAML::Exception&) {
      error(node, what + " must be true or false");
    }
  }

  template <typename Int>
  void number(const YAML::Node& node, const std::string& what, Int& out, long long min, long long max) {
    if (!node) return;
    try {
      const long long value = node.as<long long>();
      if (value < min || value > max) throw YAML::Exception(node.Mark(), "");
      out = static_cast<Int>(value);
    } catch (const YAML::Exception&) {
      error(node,
            what + " must be a whole number from " + std::to_string(min) + " to " + std::to_string(max));
    }
  }

  void properties(const YAML::Node& node, const std::string& what, std::map<std::string, std::string>& out,
                  std::map<std::string, std::string>& references, const std::string& base_dir) {
    if (!node) return;
    if (!map(node, what)) return;
    for (const auto& kv : node) {
      const auto key = kv.first.as<std::string>();
      if (!kv.second.IsScalar()) {
        error(kv.second, what + "." + key + " must be a scalar (librdkafka properties are strings)");
        continue;
      }
      std::string value = kv.second.as<std::string>();
      if (value.starts_with("${") && value.ends_with("}")) {
        const std::string reference = value;
        if (!resolve_reference(kv.second, what + "." + key, base_dir, value)) continue;
        references[what + "." + key] = reference;
      }
      out[key] = std::move(value);
    }
  }

  // ${env:NAME}, ${env:NAME:-DEFAULT} or ${file:PATH} (relative to the config's folder; one trailing newline
  // dropped, as secret files usually end with one). The value itself never appears in a message.
  bool resolve_reference(const YAML::Node& at, const std::string& what, const std::string& base_dir,
                         std::string& value) {
    const std::string inner = value.substr(2, value.size() - 3);
    if (inner.starts_with("env:")) {
      // ${env:NAME:-DEFAULT}: DEFAULT when NAME is not set, as in the shell.
      std::string name = inner.substr(4);
      std::optional<std::string> fallback;
      if (const auto dash = name.find(":-"); dash != std::string::npos) {
        fallback = name.substr(dash + 2);
        name.resize(dash);
      }
      const char* found = name.empty() ? nullptr : std::getenv(name.c_str());
      if (!found && !fallback) {
        error(at, what + " refers to environment variable '" + name + "', which is not set");
        return false;
      }
      value = found ? std::string(found) : *fallback;
      return true;
    }
    if (inner.starts_with("file:")) {
      std::string path = inner.substr(5);
      if (path.empty()) {
        error(at, what + ": ${file:} needs a path");
        return false;
      }
      path = resolve_path(base_dir, path);
      std::string text, problem;
      if (!catalog::read_file(path, text, problem)) {
        error(at, what + " refers to file '" + path + "': " + problem);
        return false;
      }
      if (text.ends_with("\n")) text.pop_back();
      if (text.ends_with("\r")) text.pop_back();
      value = std::move(text);
      return true;
    }
    error(at, what + ": '" + value + "' is neither ${env:NAME}, ${env:NAME:-DEFAULT} nor ${file:PATH}");
    return false;
  }

 private:
  std::string file_;
  std::vector<Diagnostic>& out_;
};

void read_inputs(Reader& r, const YAML::Node& root, Config& c) {
  if (const auto inputs = root["inputs"]; !inputs || !inputs.IsSequence() || inputs.size() == 0) {
    r.error(inputs ? inputs : root, "inputs must be a list of {topic, channel}, at least one");
  } else {
    std::set<std::string> topics;
    for (const auto& node : inputs) {
      if (!r.map(node, "each input")) continue;
      r.only(node, {"topic", "channel"}, "an input");
      Input input;
      r.string(node["topic"], "input topic", input.topic);
      if (!node["topic"]) r.error(node, "an input needs a topic");
      r.string(node["channel"], "input channel", input.channel);
      if (!input.channel.empty() && core::parse_channel(input.channel) == core::Channel::unknown) {
        r.error(node["channel"],
                "unknown channel '" + input.channel + "'; known: " + std::string(core::channel_names()));
      }
      if (!input.topic.empty() && !topics.insert(input.topic).second)
        r.error(node, "topic '" + input.topic + "' is bound twice");
      c.inputs.push_back(input);
    }
  }
}

void read_routing(Reader& r, const YAML::Node& routing, Routing& routing_out) {
  r.only(routing, {"delivered", "pending", "retryable", "permanent", "invalid"}, "routing");
  for (const Route name : core::all<Route>()) {
    const auto route = routing[std::string(core::to_string(name))];
    if (!route) continue;
    if (!route.IsSequence()) {
      r.error(route, "routing." + std::string(core::to_string(name)) + " must be a list of destinations");
      continue;
    }
    routing_out.routes[name].clear();
    for (const auto& d : route) {
      const auto destination = d.IsScalar() ? core::parse_destination(d.as<std::string>()) : std::nullopt;
      if (!destination) {
        r.error(d, "unknown destination (enriched, retry, dead_letter, analytics)");
        continue;
      }
      routing_out.routes[name].push_back(*destination);
    }
  }
  // Invalid input must land somewhere: never dropped.
  bool invalid_kept = false;
  for (auto d : routing_out.routes[Route::invalid]) invalid_kept |= d == Destination::dead_letter;
  if (!invalid_kept)
    r.error(routing, "routing.invalid must include dead_letter: unprocessable input is never dropped");
}

void read_tracking(Reader& r, const YAML::Node& node, Config& c) {
  Tracking& t = c.tracking;
  r.only(node,
         {"group_id", "input", "output", "changelog", "state_dir", "retention_days", "block_cache_mb",
          "metrics_address"},
         "tracking");
  r.string(node["group_id"], "tracking.group_id", t.group_id);
  r.string(node["input"], "tracking.input", t.input);
  r.string(node["output"], "tracking.output", t.output);
  r.string(node["changelog"], "tracking.changelog", t.changelog);
  r.string(node["state_dir"], "tracking.state_dir", t.state_dir);
  r.number(node["retention_days"], "tracking.retention_days", t.retention_days, 1, 3650);
  r.number(node["block_cache_mb"], "tracking.block_cache_mb", t.block_cache_mb, 8, 65536);
  r.string(node["metrics_address"], "tracking.metrics_address", t.metrics_address);
  if (t.metrics_address.rfind(':') == std::string::npos) {
    r.error(node["metrics_address"], "tracking.metrics_address must be HOST:PORT");
  }
  if (t.output == t.changelog)
    r.error(node, "tracking.output and tracking.changelog must be different topics");
  if (t.group_id == c.group_id) {
    r.error(node,
            "tracking.group_id must differ from group_id: the tracker reads other topics than the stage");
  }
}

// The sections about running the stage rather than what it computes.
void read_operations(Reader& r, const YAML::Node& root, Config& c, const std::string& base_dir) {
  if (const auto processing = root["processing"]; processing && r.map(processing, "processing")) {
    r.only(processing, {"max_document_bytes", "guarantee", "transaction_ms"}, "processing");
    // Well inside the producer's transaction.timeout.ms (30 s), or the broker aborts it first.
    r.number(processing["transaction_ms"], "processing.transaction_ms", c.transaction_ms, 10, 5000);
    r.number(processing["max_document_bytes"], "processing.max_document_bytes", c.max_document_bytes, 64,
             64LL << 20);
    if (const auto g = processing["guarantee"]; g) {
      const std::string value = g.IsScalar() ? g.as<std::string>() : std::string();
      if (value == "at_least_once")
        c.exactly_once = false;
      else if (value == "exactly_once")
        c.exactly_once = true;
      else
        r.error(g, "processing.guarantee must be at_least_once or exactly_once");
    }
  }
  if (const auto metrics = root["metrics"]; metrics && r.map(metrics, "metrics")) {
    r.only(metrics, {"address", "lag_interval_s"}, "metrics");
    r.string(metrics["address"], "metrics.address", c.metrics_address);
    if (c.metrics_address.rfind(':') == std::string::npos)
      r.error(metrics["address"], "metrics.address must be HOST:PORT");
    r.number(metrics["lag_interval_s"], "metrics.lag_interval_s", c.lag_interval_s, 1, 300);
  }
  if (const auto logging = root["logging"]; logging && r.map(logging, "logging")) {
    r.only(logging, {"format", "stats_interval_s"}, "logging");
    r.string(logging["format"], "logging.format", c.log_format);
    if (c.log_format != "plain" && c.log_format != "json")
      r.error(logging["format"], "logging.format must be plain or json");
    r.number(logging["stats_interval_s"], "logging.stats_interval_s", c.stats_interval_s, 0, 86400);
  }
  r.number(root["shutdown_timeout_s"], "shutdown_timeout_s", c.shutdown_timeout_s, 1, 3600);
  if (const auto kafka = root["kafka"]; kafka && r.map(kafka, "kafka")) {
    r.only(kafka, {"common", "consumer", "producer"}, "kafka");
    r.properties(kafka["common"], "kafka.common", c.kafka_common, c.references, base_dir);
    r.properties(kafka["consumer"], "kafka.consumer", c.kafka_consumer, c.references, base_dir);
    r.properties(kafka["producer"], "kafka.producer", c.kafka_producer, c.references, base_dir);
  }
}

}  // namespace

bool is_secret_property(const std::string& key) {
  return key.find("password") != std::string::npos || key.find("secret") != std::string::npos ||
         key == "ssl.key.pem" || key == "sasl.oauthbearer.config";
}

LoadResult parse_config(const std::string& yaml, const std::string& file, const std::string& base_dir) {
  LoadResult result;
  Config& c = result.config;
  YAML::Node root;
  try {
    root = YAML::Load(yaml);
  } catch (const YAML::ParserException& e) {
    result.diagnostics.push_back({file, e.mark.line + 1, "YAML syntax: " + e.msg});
    return result;
  }
  Reader r(file, result.diagnostics);
  if (!root.IsMap()) {
    r.error(root, "the config must be a map");
    return result;
  }
  r.only(root,
         {"brokers", "group_id", "inputs", "outputs", "routing", "catalog", "processing", "metrics",
          "logging", "shutdown_timeout_s", "kafka", "tracking"},
         "the config");
  r.string(root["brokers"], "brokers", c.brokers);
  r.string(root["group_id"], "group_id", c.group_id);

  read_inputs(r, root, c);

  if (const auto outputs = root["outputs"]; outputs && r.map(outputs, "outputs")) {
    r.only(outputs, {"enriched", "retry", "dead_letter", "analytics", "source_headers"}, "outputs");
    r.string(outputs["enriched"], "outputs.enriched", c.outputs.enriched);
    r.string(outputs["retry"], "outputs.retry", c.outputs.retry);
    r.string(outputs["dead_letter"], "outputs.dead_letter", c.outputs.dead_letter);
    r.string(outputs["analytics"], "outputs.analytics", c.outputs.analytics);
    r.boolean(outputs["source_headers"], "outputs.source_headers", c.outputs.source_headers);
  }
  for (const auto& input : c.inputs) {
    for (const auto& out :
         {c.outputs.enriched, c.outputs.retry, c.outputs.dead_letter, c.outputs.analytics}) {
      if (input.topic == out) r.error(root["inputs"], "topic '" + out + "' is both an input and an output");
    }
  }

  if (const auto routing = root["routing"]; routing && r.map(routing, "routing"))
    read_routing(r, routing, c.routing);

  if (const auto cat = root["catalog"]; cat && r.map(cat, "catalog")) {
    r.only(cat, {"codes", "policy", "watch", "watch_interval_s"}, "catalog");
    r.string(cat["codes"], "catalog.codes", c.codes_path);
    r.string(cat["policy"], "catalog.policy", c.policy_path);
    r.boolean(cat["watch"], "catalog.watch", c.catalog_watch);
    r.number(cat["watch_interval_s"], "catalog.watch_interval_s", c.catalog_watch_interval_s, 1, 3600);
  }
  c.codes_path = c.codes_path.empty() ? catalog::default_codes_path() : resolve_path(base_dir, c.codes_path);
  c.policy_path =
      c.policy_path.empty() ? catalog::default_policy_path() : resolve_path(base_dir, c.policy_path);

  read_operations(r, root, c, base_dir);
  if (const auto tracking = root["tracking"]; tracking && r.map(tracking, "tracking")) {
    read_tracking(r, tracking, c);
  }
  c.tracking.state_dir = resolve_path(base_dir, c.tracking.state_dir);
  return result;
}

LoadResult load_config(const std::string& path) {
  std::string text, error;
  if (!catalog::read_file(path, text, error)) {
    LoadResult result;
    result.diagnostics.push_back({path, 0, error});
    return result;
  }
  const auto slash = path.find_last_of('/');
  return parse_config(text, path, slash == std::string::npos ? "." : path.substr(0, slash));
}

std::string describe(const Config& c) {
  std::ostringstream out;
  out << "brokers: " << c.brokers << "\ngroup_id: " << c.group_id << "\ninputs:\n";
  for (const auto& i : c.inputs)
    out << "  - {topic: " << i.topic << ", channel: " << (i.channel.empty() ? "none" : i.channel) << "}\n";
  out << "outputs: {enriched: " << c.outputs.enriched << ", retry: " << c.outputs.retry
      << ", dead_letter: " << c.outputs.dead_letter << ", analytics: " << c.outputs.analytics
      << ", source_headers: " << (c.outputs.source_headers ? "true" : "false") << "}\nrouting:\n";
  for (const Route route : core::all<Route>()) {
    out << "  " << core::to_string(route) << ": [";
    const auto& destinations = c.routing.routes[route];
    for (size_t j = 0; j < destinations.size(); ++j)
      out << (j ? ", " : "") << core::to_string(destinations[j]);
    out << "]\n";
  }
  out << "catalog: {codes: " << c.codes_path << ", policy: " << c.policy_path
      << ", watch: " << (c.catalog_watch ? "true" : "false")
      << ", watch_interval_s: " << c.catalog_watch_interval_s << "}\n"
      << "processing: {max_document_bytes: " << c.max_document_bytes
      << ", guarantee: " << (c.exactly_once ? "exactly_once" : "at_least_once")
      << ", transaction_ms: " << c.transaction_ms << "}\n"
      << "metrics: {address: " << c.metrics_address << ", lag_interval_s: " << c.lag_interval_s << "}\n"
      << "logging: {format: " << c.log_format << ", stats_interval_s: " << c.stats_interval_s << "}\n"
      << "shutdown_timeout_s: " << c.shutdown_timeout_s << "\n"
      << "tracking: {group_id: " << c.tracking.group_id << ", input: " << c.tracking_input()
      << ", output: " << c.tracking.output << ", changelog: " << c.tracking.changelog
      << ", state_dir: " << c.tracking.state_dir << ", retention_days: " << c.tracking.retention_days
      << ", block_cache_mb: " << c.tracking.block_cache_mb
      << ", metrics_address: " << c.tracking.metrics_address << "}\nkafka:\n";
  for (const auto& [name, props] :
       {std::pair{"common", &c.kafka_common}, std::pair{"consumer", &c.kafka_consumer},
        std::pair{"producer", &c.kafka_producer}}) {
    out << "  " << name << ":" << (props->empty() ? " {}" : "") << "\n";
    for (const auto& [k, v] : *props) {
      out << "    " << k << ": " << (is_secret_property(k) ? "\"***\"" : v);
      if (auto ref = c.references.find(std::string("kafka.") + name + "." + k); ref != c.references.end())
        out << "  # from " << ref->second;
      else if (is_secret_property(k))
        out << "  # written in the config: prefer ${env:NAME} or ${file:PATH}";
      out << "\n";
    }
  }
  return out.str();
}

}  // namespace dlr::config

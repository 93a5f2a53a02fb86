// `dlr-enricher replay`: dead letters written back to their input topics (replay.h).
#include <unistd.h>

#include <atomic>
#include <csignal>
#include <cstdio>
#include <sstream>

#include "args.h"
#include "commands.h"
#include "dlr/catalog/model.h"
#include "dlr/config/config.h"
#include "dlr/core/reason.h"
#include "dlr/core/timestamp.h"
#include "dlr/kafka/kafka_io.h"
#include "dlr/kafka/properties.h"
#include "help.h"
#include "replay.h"

namespace dlr::app {
namespace {

std::atomic<bool> g_replay_stop{false};
extern "C" void on_replay_stop(int) {
  g_replay_stop.store(true);
}

std::set<std::string> split_list(const std::string& text) {
  std::set<std::string> out;
  std::stringstream in(text);
  for (std::string item; std::getline(in, item, ',');)
    if (!item.empty()) out.insert(item);
  return out;
}

// The values --reason accepts: every reason a dead letter can carry.
std::set<std::string> dead_letter_reasons() {
  std::set<std::string> names = {"PERMANENT_FAILURE"};
  for (int r = 1; r < core::kReasonCount; ++r)
    if (!core::is_skip_reason(static_cast<core::Reason>(r)))
      names.emplace(core::to_string(static_cast<core::Reason>(r)));
  return names;
}

// Options into `options`; a usage error's text, or "".
std::string parse_options(const Args& args, const config::Config& cfg, ReplayOptions& options) {
  options.dead_letter_topic = cfg.outputs.dead_letter;
  for (const auto& input : cfg.inputs) options.input_topics.push_back(input.topic);
  if (auto reasons = args.get("reason")) {
    options.reasons = split_list(*reasons);
    const auto valid = dead_letter_reasons();
    for (const auto& r : options.reasons) {
      if (valid.contains(r)) continue;
      std::string list;
      for (const auto& v : valid) list += (list.empty() ? "" : ", ") + v;
      return "unknown reason '" + r + "'; one of: " + list;
    }
  }
  if (auto topics = args.get("source-topic")) options.source_topics = split_list(*topics);
  for (const auto& [name, target] :
       {std::pair{"since", &options.since_ms}, std::pair{"until", &options.until_ms}}) {
    if (auto text = args.get(name)) {
      const auto ms = core::parse_timestamp_ms(*text);
      if (!ms)
        return "--" + std::string(name) + " '" + *text +
               "': expected a time like 2026-12-01T10:00:00Z or epoch milliseconds";
      *target = *ms;
    }
  }
  if (options.since_ms >= options.until_ms) return "--since must be before --until";
  options.to_topic = args.get("to").value_or("");
  if (options.to_topic == options.dead_letter_topic) return "--to names the dead-letter topic itself";
  options.dry_run = args.has("dry-run");
  options.include_replayed = args.has("include-replayed");
  options.from_beginning = args.has("from-beginning");
  return {};
}

void print_progress(const ReplayTally& t, bool dry_run) {
  std::fprintf(stderr, "\rreplay: partition %d of %d, %llu of %llu dead letters read, %llu %s   ",
               t.partition < 0 ? t.partitions : t.partition + 1, t.partitions,
               static_cast<unsigned long long>(t.read), static_cast<unsigned long long>(t.to_read),
               static_cast<unsigned long long>(t.replayed), dry_run ? "to replay" : "replayed");
}

void print_summary(const ReplayTally& t, const ReplayOptions& options, const std::string& group) {
  std::printf("%s %s (%d partitions) with group %s: %llu dead letters read\n",
              options.dry_run ? "dry run of" : "replayed", options.dead_letter_topic.c_str(), t.partitions,
              group.c_str(), static_cast<unsigned long long>(t.read));
  if (!t.selected.empty()) {
    std::printf("  %-24s %-32s %s\n", "reason", "source topic", options.dry_run ? "to replay" : "selected");
    for (const auto& [key, count] : t.selected)
      std::printf("  %-24s %-32s %llu\n", key.first.c_str(), key.second.empty() ? "-" : key.second.c_str(),
                  static_cast<unsigned long long>(count));
  }
  std::printf("%s %llu%s\n", options.dry_run ? "would replay" : "replayed",
              static_cast<unsigned long long>(t.replayed),
              options.to_topic.empty() ? " to their source topics" : (" to " + options.to_topic).c_str());
  for (size_t s = 0; s < kSkipCount; ++s)
    if (t.skipped[s])
      std::printf("passed over %llu: %.*s\n", static_cast<unsigned long long>(t.skipped[s]),
                  static_cast<int>(describe(static_cast<Skip>(s)).size()),
                  describe(static_cast<Skip>(s)).data());
}

}  // namespace

int replay_command(int argc, char** argv) {
  Args args(argc, argv, 2, {"config", "brokers", "reason", "source-topic", "since", "until", "to", "group"},
            {"dry-run", "include-replayed", "from-beginning"});
  if (const int code = help_or_usage_error(args, "replay"); code >= 0) return code;
  if (!args.get("config")) return usage_error("replay", "--config FILE is required");
  if (!args.positionals().empty())
    return usage_error("replay", "unexpected argument '" + args.positionals()[0] + "'");
  config::LoadResult loaded;
  if (!load_all(*args.get("config"), loaded, nullptr, false)) return 1;
  config::Config cfg = loaded.config;
  if (auto brokers = args.get("brokers")) cfg.brokers = *brokers;
  ReplayOptions options;
  if (const std::string error = parse_options(args, cfg, options); !error.empty())
    return usage_error("replay", error);
  const std::string group = args.get("group").value_or(cfg.group_id + "-replay");

  // Reads like the stage (read_committed under exactly-once: no aborted dead letter is replayed);
  // writes plain records, which every reader sees.
  kafka::ClientSettings settings{
      cfg.brokers, group, cfg.exactly_once, cfg.kafka_common, cfg.kafka_consumer, cfg.kafka_producer, ""};
  std::string error;
  kafka::Properties reading = kafka::reader_properties(settings);
  reading.emplace_back("auto.offset.reset", "earliest");  // dead letters removed meanwhile: the next ones
  auto reader = kafka::KafkaPartitionReader::create(reading, error);
  auto offsets =
      reader ? kafka::KafkaGroupOffsets::create(kafka::consumer_properties(settings), error) : nullptr;
  settings.exactly_once = false;
  auto output = offsets ? kafka::KafkaOutput::create(kafka::producer_properties(settings), error) : nullptr;
  if (!output) {
    std::fprintf(stderr, "dlr-enricher replay: cannot start: %s\n", error.c_str());
    return 2;
  }
  struct sigaction action {};
  action.sa_handler = on_replay_stop;
  sigemptyset(&action.sa_mask);
  sigaction(SIGTERM, &action, nullptr);
  sigaction(SIGINT, &action, nullptr);

  Replay replay(options, *reader, *output, *offsets);
  const bool terminal = isatty(STDERR_FILENO) == 1;
  const int code = replay.run(g_replay_stop, [&](const ReplayTally& t) {
    if (terminal) print_progress(t, options.dry_run);
  });
  if (terminal) std::fputs("\n", stderr);
  if (code == 2) {
    std::fprintf(stderr, "dlr-enricher replay: %s\n", replay.error().c_str());
    return 2;
  }
  print_summary(replay.tally(), options, group);
  if (code != 0) {
    std::fprintf(stderr,
                 "dlr-enricher replay: %s; what was acknowledged is committed, run it again to resume\n",
                 replay.error().empty() ? "interrupted" : replay.error().c_str());
  }
  return code;
}

}  // namespace dlr::app

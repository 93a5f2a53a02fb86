#include "help.h"

#include <librdkafka/rdkafka.h>
#include <simdjson.h>

#include <cstdio>

#include "version.h"

namespace dlr::app {
namespace {

constexpr std::string_view kOverview =
    "dlr-enricher: enriches and classifies delivery reports, as a Kafka stream stage or on files\n"
    "\n"
    "usage:\n"
    "  dlr-enricher run --config FILE [--brokers HOST:PORT]   run the Kafka stage\n"
    "  dlr-enricher track --config FILE [--brokers HOST:PORT] run the tracking stage (state per message)\n"
    "  dlr-enricher replay --config FILE [--reason R] [--dry-run] ...\n"
    "                                                          write dead letters back to their inputs\n"
    "  dlr-enricher check-config FILE                          validate a config without running\n"
    "  dlr-enricher enrich [--channel NAME] [--analytics] [FILE...]\n"
    "                                                          enrich JSON documents (stdin if no FILE)\n"
    "  dlr-enricher catalog (import|diff|dump|lookup|check|explain|review) ...\n"
    "                                                          the catalogue (catalog --help)\n"
    "  dlr-enricher --version                                  version, commit, librdkafka, simdjson\n"
    "\n"
    "COMMAND --help says more about each. Exit codes: 0 done, 1 a negative answer (an invalid\n"
    "config, differences, nothing found, a stage that stopped with work undone), 2 a usage error or\n"
    "a failure to start.\n";

constexpr std::string_view kRun =
    "usage: dlr-enricher run --config FILE [--brokers HOST:PORT]\n"
    "\n"
    "Runs the enrichment stage: consumes the config's input topics, enriches and classifies every\n"
    "report, produces the enriched, retry, dead-letter and analytics records. --brokers overrides\n"
    "the config's brokers. Stops cleanly on SIGTERM or SIGINT; SIGHUP reloads the catalogue.\n"
    "Exit: 0 stopped with everything committed; 1 an invalid config, or stopped with work undone\n"
    "or on a fatal error; 2 a usage error, or clients or the endpoint that cannot start.\n";

constexpr std::string_view kTrack =
    "usage: dlr-enricher track --config FILE [--brokers HOST:PORT]\n"
    "\n"
    "Runs the tracking stage: consumes the analytics records keyed by messageId and keeps every\n"
    "message's state in RocksDB stores backed by a compacted changelog; writes the state topic.\n"
    "Reads the config's tracking: section. Stops cleanly on SIGTERM or SIGINT.\n"
    "Exit: 0 stopped with everything committed; 1 an invalid config, or stopped with work undone\n"
    "or on a fatal error; 2 a usage error, or clients or the endpoint that cannot start.\n";

constexpr std::string_view kReplay =
    "usage: dlr-enricher replay --config FILE [--brokers HOST:PORT] [--reason R[,R...]]\n"
    "                           [--source-topic T[,T...]] [--since TIME] [--until TIME] [--to TOPIC]\n"
    "                           [--group NAME] [--dry-run] [--include-replayed] [--from-beginning]\n"
    "\n"
    "Writes dead letters from the config's dead-letter topic back, original key and bytes, to the\n"
    "input topic each came from (dlr-source-topic; only the config's inputs) or to --to TOPIC, with a\n"
    "dlr-replay-of header naming the dead letter, for the stage to process again after a fix.\n"
    "  --reason            only these dlr-reason values (PERMANENT_FAILURE, INVALID_JSON, ...)\n"
    "  --source-topic      only dead letters of these input topics\n"
    "  --since, --until    only dead letters written in [since, until): 2026-12-01T10:00:00Z or epoch ms\n"
    "  --dry-run           count by reason and source topic; write and commit nothing\n"
    "  --include-replayed  also dead letters of replayed input (passed over by default: no loops)\n"
    "  --group             the replay's consumer group (default: the config's group_id + \"-replay\")\n"
    "  --from-beginning    read from the start, not from where the group's last replay stopped\n"
    "Reads each partition up to its end when the replay reaches it, then stops. At-least-once: the\n"
    "group's offsets move only past dead letters written and acknowledged (or passed over), so an\n"
    "interrupted replay resumes; the tracker's dedupe makes a repeated replay harmless. A progress\n"
    "line on a terminal, a summary on stdout. Exit: 0 done; 1 an invalid config, interrupted (SIGINT,\n"
    "SIGTERM) or a failed delivery, with what was acknowledged committed; 2 a usage error, or clients\n"
    "or a dead-letter topic that cannot be reached.\n";

constexpr std::string_view kCheckConfig =
    "usage: dlr-enricher check-config FILE\n"
    "\n"
    "Validates a config and the catalogue it names without connecting to anything, and prints the\n"
    "settings in effect. Exit: 0 valid, 1 invalid, 2 a usage error.\n";

constexpr std::string_view kEnrich =
    "usage: dlr-enricher enrich [--channel NAME] [--analytics] [--max-bytes N] [--codes FILE]\n"
    "                           [--policy FILE] [FILE...]\n"
    "\n"
    "Enriches delivery-report documents from files (stdin when none, or '-'), one enriched JSON\n"
    "record per report on stdout (--analytics: analytics records). --channel binds the documents to\n"
    "a channel as an input topic would; a report that cannot be classified is written with its\n"
    "reason. Exit: 0 every file read, 2 a usage error, a file that cannot be read or a catalogue\n"
    "that does not load.\n";

constexpr std::string_view kCatalog =
    "usage:\n"
    "  dlr-enricher catalog import PAGE.md [--date YYYY-MM-DD] [--output FILE] [--partial]\n"
    "                                   codes YAML from the vendor's page; a page that looks cut\n"
    "                                   short (a section missing, a row cut off, far fewer entries\n"
    "                                   than the edition it replaces) is refused unless --partial\n"
    "  dlr-enricher catalog diff OLD NEW  what changed; OLD/NEW: codes YAML or vendor page .md\n"
    "  dlr-enricher catalog dump          every entry with its decision, one JSON object per line\n"
    "  dlr-enricher catalog lookup [--kind K] [--family F] [--group G] (--id N | --name NAME)\n"
    "  dlr-enricher catalog check         validates the codes and the policy\n"
    "  dlr-enricher catalog explain --kind K --id N [--family F] [--group G]\n"
    "                                   [--status S [--status-group G]]\n"
    "                                   a code's decision, its rule and the vendor's words it rests\n"
    "                                   on; with --status, which of the pair decides and why\n"
    "  dlr-enricher catalog review        every decision against the vendor's flag (catalog/REVIEW.md)\n"
    "\n"
    "Every subcommand takes --codes FILE and --policy FILE (default: the shipped catalog/).\n"
    "Exit: 0 done; 1 a page that does not import, differences (diff), nothing found (lookup, explain) or\n"
    "an invalid catalogue (check); 2 a usage error or a file that cannot be read.\n";

}  // namespace

std::string_view usage(std::string_view command) {
  if (command == "run") return kRun;
  if (command == "track") return kTrack;
  if (command == "check-config") return kCheckConfig;
  if (command == "replay") return kReplay;
  if (command == "enrich") return kEnrich;
  if (command == "catalog") return kCatalog;
  return kOverview;
}

std::string version_text() {
  return std::string("dlr-enricher ") + DLR_VERSION + " (commit " + DLR_GIT_COMMIT + ")\nlibrdkafka " +
         rd_kafka_version_str() + "\nsimdjson " + std::to_string(simdjson::SIMDJSON_VERSION_MAJOR) + "." +
         std::to_string(simdjson::SIMDJSON_VERSION_MINOR) + "." +
         std::to_string(simdjson::SIMDJSON_VERSION_REVISION) + "\n";
}

int help_or_usage_error(const Args& args, std::string_view command) {
  if (args.help()) {
    const std::string_view text = usage(command);
    std::fwrite(text.data(), 1, text.size(), stdout);
    return 0;
  }
  if (!args.ok()) return usage_error(command, args.error());
  return -1;
}

int usage_error(std::string_view command, const std::string& error) {
  const std::string_view text = usage(command);
  std::fprintf(stderr, "dlr-enricher %.*s: %s\n\n%.*s", static_cast<int>(command.size()), command.data(),
               error.c_str(), static_cast<int>(text.size()), text.data());
  return 2;
}

}  // namespace dlr::app

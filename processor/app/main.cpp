#include <cstdio>
#include <string>

#include "commands.h"

namespace {
constexpr const char* kUsage =
    "dlr-enricher: enriches and classifies delivery reports, as a Kafka stream stage or on files\n"
    "\n"
    "usage:\n"
    "  dlr-enricher run --config FILE [--brokers HOST:PORT]   run the Kafka stage\n"
    "  dlr-enricher track --config FILE [--brokers HOST:PORT] run the tracking stage (state per message)\n"
    "  dlr-enricher check-config FILE                          validate a config without running\n"
    "  dlr-enricher enrich [--channel NAME] [--analytics] [FILE...]\n"
    "                                                          enrich JSON documents (stdin if no FILE)\n"
    "  dlr-enricher catalog import PAGE.md [--date D] [--output FILE]\n"
    "  dlr-enricher catalog diff OLD NEW                       OLD/NEW: codes YAML or vendor page\n"
    "  dlr-enricher catalog dump                               every entry, one JSON object per line\n"
    "  dlr-enricher catalog lookup [--kind K] [--family F] [--group G] (--id N | --name NAME)\n"
    "  dlr-enricher catalog check                              validate codes and policy\n"
    "\n"
    "catalog subcommands take --codes FILE and --policy FILE (default: the shipped catalog/).\n";
}

int main(int argc, char** argv) {
  if (argc < 2) {
    std::fputs(kUsage, stderr);
    return 2;
  }
  const std::string command = argv[1];
  if (command == "catalog") return dlr::app::catalog_command(argc, argv);
  if (command == "enrich") return dlr::app::enrich_command(argc, argv);
  if (command == "run") return dlr::app::run_command(argc, argv);
  if (command == "track") return dlr::app::track_command(argc, argv);
  if (command == "check-config") return dlr::app::check_config_command(argc, argv);
  if (command == "--help" || command == "-h" || command == "help") {
    std::fputs(kUsage, stdout);
    return 0;
  }
  std::fprintf(stderr, "dlr-enricher: unknown command '%s'\n\n%s", command.c_str(), kUsage);
  return 2;
}

#include <cstdio>
#include <string>

#include "commands.h"
#include "help.h"

int main(int argc, char** argv) {
  using dlr::app::usage;
  if (argc < 2) {
    std::fputs(std::string(usage("")).c_str(), stderr);
    return 2;
  }
  const std::string command = argv[1];
  if (command == "catalog") return dlr::app::catalog_command(argc, argv);
  if (command == "enrich") return dlr::app::enrich_command(argc, argv);
  if (command == "run") return dlr::app::run_command(argc, argv);
  if (command == "track") return dlr::app::track_command(argc, argv);
  if (command == "replay") return dlr::app::replay_command(argc, argv);
  if (command == "check-config") return dlr::app::check_config_command(argc, argv);
  if (command == "--help" || command == "-h" || command == "help") {
    std::fputs(std::string(usage("")).c_str(), stdout);
    return 0;
  }
  if (command == "--version" || command == "version") {
    std::fputs(dlr::app::version_text().c_str(), stdout);
    return 0;
  }
  std::fprintf(stderr, "dlr-enricher: unknown command '%s'\n\n%s", command.c_str(),
               std::string(usage("")).c_str());
  return 2;
}

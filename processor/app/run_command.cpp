// `dlr-enricher run` and `dlr-enricher check-config`.
#include <cstdio>

#include "args.h"
#include "commands.h"
#include "dlr/catalog/loader.h"
#include "dlr/config/config.h"

namespace dlr::app {

int run_command(int argc, char** argv) {
  Args args(argc, argv, 2, {"config", "brokers"}, {});
  if (!args.ok() || !args.get("config")) {
    std::fprintf(stderr, "usage: dlr-enricher run --config FILE [--brokers HOST:PORT]\n");
    return 2;
  }
  std::fprintf(stderr, "dlr-enricher run: the Kafka stage is not implemented yet; check-config validates its config\n");
  return 2;
}

int check_config_command(int argc, char** argv) {
  Args args(argc, argv, 2, {}, {});
  if (!args.ok() || args.positionals().size() != 1) {
    std::fprintf(stderr, "usage: dlr-enricher check-config FILE\n");
    return 2;
  }
  auto loaded = config::load_config(args.positionals()[0]);
  // The catalogue it names must load too: a config is only valid if the stage could start on it.
  if (loaded.diagnostics.empty()) {
    auto catalog = catalog::load_catalog(loaded.config.codes_path, loaded.config.policy_path);
    for (auto& d : catalog.diagnostics) loaded.diagnostics.push_back(std::move(d));
  }
  for (const auto& d : loaded.diagnostics) std::fprintf(stderr, "%s\n", catalog::format(d).c_str());
  if (!loaded.diagnostics.empty()) {
    std::fprintf(stderr, "%zu problem(s): the config is not valid\n", loaded.diagnostics.size());
    return 1;
  }
  const std::string text = config::describe(loaded.config);
  std::fputs(text.c_str(), stdout);
  std::fprintf(stderr, "config OK\n");
  return 0;
}

}  // namespace dlr::app

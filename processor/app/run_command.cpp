#include <cstdio>

#include "commands.h"

namespace dlr::app {

int run_command(int, char**) {
  std::fprintf(stderr, "dlr-enricher run: the Kafka stage is not implemented yet; use `dlr-enricher enrich` on files\n");
  return 2;
}

int check_config_command(int, char**) {
  std::fprintf(stderr, "dlr-enricher check-config: the Kafka stage's configuration is not implemented yet\n");
  return 2;
}

}  // namespace dlr::app

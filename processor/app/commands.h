// The subcommands of dlr-enricher. Each returns the process exit code:
// 0 success, 1 a negative answer (nothing found, differences, invalid config), 2 usage or I/O error.
#pragma once

namespace dlr::app {

int catalog_command(int argc, char** argv);
int enrich_command(int argc, char** argv);
int run_command(int argc, char** argv);
int track_command(int argc, char** argv);
int replay_command(int argc, char** argv);
int check_config_command(int argc, char** argv);

}  // namespace dlr::app

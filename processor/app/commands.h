// The subcommands of dlr-enricher. Each returns the process exit code:
// 0 success, 1 a negative answer (nothing found, differences, invalid config), 2 usage or I/O error.
#pragma once

#include <string>

#include "dlr/catalog/loader.h"
#include "dlr/config/config.h"

namespace dlr::app {

int catalog_command(int argc, char** argv);
int enrich_command(int argc, char** argv);
int run_command(int argc, char** argv);
int track_command(int argc, char** argv);
int replay_command(int argc, char** argv);
int check_config_command(int argc, char** argv);

/// Loads a config and, unless `with_catalog` is false, the catalogue it names (into `catalog_out`
/// when given); prints every problem to stderr. False when there was one.
bool load_all(const std::string& path, config::LoadResult& loaded, catalog::Loaded* catalog_out,
              bool with_catalog = true);

}  // namespace dlr::app

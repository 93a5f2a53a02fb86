#include <cstdio>
#include "commands.h"
namespace dlr::app {
int run_command(int, char**) { std::fprintf(stderr, "not yet\n"); return 2; }
int check_config_command(int, char**) { std::fprintf(stderr, "not yet\n"); return 2; }
}

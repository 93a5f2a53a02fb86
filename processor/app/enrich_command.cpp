#include <cstdio>
#include "commands.h"
namespace dlr::app {
int enrich_command(int, char**) { std::fprintf(stderr, "not yet\n"); return 2; }
}

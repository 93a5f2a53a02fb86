// What the commands say about themselves: --help per command, --version, and the one way a
// command answers a usage error (the error and its usage on stderr, exit 2).
#pragma once

#include <string>
#include <string_view>

#include "args.h"

namespace dlr::app {

/// The usage of `command` ("" for the overview, "catalog" for every catalog subcommand); the
/// overview for a command it does not know.
[[nodiscard]] std::string_view usage(std::string_view command);
/// dlr-enricher's version, the commit it was built from, and the librdkafka and simdjson it uses.
[[nodiscard]] std::string version_text();
/// --help: the usage on stdout, 0. A parse error: the error and the usage on stderr, 2. Otherwise
/// -1 and the command goes on.
[[nodiscard]] int help_or_usage_error(const Args& args, std::string_view command);
/// A usage error found by the command itself: said on stderr with the usage; returns 2.
int usage_error(std::string_view command, const std::string& error);

}  // namespace dlr::app

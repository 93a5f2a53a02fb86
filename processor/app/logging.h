// spdlog on stderr, as plain lines or JSON lines. Logs never carry per-message content above debug.
#pragma once

#include <string>

namespace dlr::app {

/// `format` is "plain" or "json". DLR_LOG_LEVEL (trace, debug, info, warn, error) sets the level.
void setup_logging(const std::string& format);

}  // namespace dlr::app

// The one JSON text writer: every record and CLI output is written with these appends. Depends on
// nothing; used by the core serializers, the CLI and the JSON log format.
#pragma once

#include <charconv>
#include <cstdint>
#include <string>
#include <string_view>

namespace dlr::json {

/// Appends `text` as a JSON string literal (quotes included). Bytes >= 0x80 are copied as they
/// are: callers pass UTF-8 that the parser has already validated.
void append_string(std::string& out, std::string_view text);

/// Appends `text` quoted as-is: for text already known to need no escaping (enum names).
inline void append_plain(std::string& out, std::string_view text) {
  out.push_back('"');
  out.append(text);
  out.push_back('"');
}

inline void append_int(std::string& out, int64_t value) {
  char buf[24];
  auto [end, ec] = std::to_chars(buf, buf + sizeof buf, value);
  (void)ec;
  out.append(buf, static_cast<size_t>(end - buf));
}

/// Shortest round-trip representation; non-finite values become null.
void append_double(std::string& out, double value);

inline void append_bool(std::string& out, bool value) { out.append(value ? "true" : "false"); }

}  // namespace dlr::json

// The one JSON text writer: every record and CLI output is written with these appends. Depends on
// nothing; used by the core serializers, the CLI and the JSON log format.
#pragma once

#include <charconv>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <type_traits>

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

inline void append_bool(std::string& out, bool value) {
  out.append(value ? "true" : "false");
}

/// Writes an object's members one after another with the commas between; the braces are the
/// caller's, so members can be added to an object already begun.
class Members {
 public:
  explicit Members(std::string& out, bool first = true) : out_(out), first_(first) {}

  /// Writes `"key":` and returns the text to append the value to.
  std::string& key(std::string_view key) {
    if (!first_) out_.push_back(',');
    first_ = false;
    append_string(out_, key);
    out_.push_back(':');
    return out_;
  }
  Members& string(std::string_view k, std::string_view value) { return append_string(key(k), value), *this; }
  Members& plain(std::string_view k, std::string_view value) { return append_plain(key(k), value), *this; }
  Members& integer(std::string_view k, int64_t value) { return append_int(key(k), value), *this; }
  Members& boolean(std::string_view k, bool value) { return append_bool(key(k), value), *this; }
  Members& null(std::string_view k) { return key(k).append("null"), *this; }
  template <typename T>
  Members& optional(std::string_view k, const std::optional<T>& value) {
    if (!value) return null(k);
    if constexpr (std::is_same_v<T, bool>)
      return boolean(k, *value);
    else
      return integer(k, *value);
  }

 private:
  std::string& out_;
  bool first_;
};

}  // namespace dlr::json

// Writing the Prometheus text exposition format (0.0.4): the stage's and the tracker's metrics.
#pragma once

#include <fmt/format.h>

#include <iterator>
#include <string>
#include <string_view>

namespace dlr::app::prometheus {

inline void family(std::string& out, const char* name, const char* type, const char* help) {
  fmt::format_to(std::back_inserter(out), "# HELP {} {}\n# TYPE {} {}\n", name, help, name, type);
}

/// A family of one sample without labels.
template <typename T>
void single(std::string& out, const char* name, const char* type, const char* help, T value) {
  family(out, name, type, help);
  fmt::format_to(std::back_inserter(out), "{} {}\n", name, value);
}

/// Label values here are topic names and fixed words; escaped anyway so a topic never breaks the page.
inline std::string label(std::string_view value) {
  std::string out;
  for (char c : value) {
    if (c == '\n') {
      out += "\\n";
      continue;
    }
    if (c == '\\' || c == '"') out += '\\';
    out += c;
  }
  return out;
}

}  // namespace dlr::app::prometheus

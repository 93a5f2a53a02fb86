// Small text helpers the page importer and the markup stripper share. Internal to the catalogue.
#pragma once

#include <cctype>
#include <string_view>

namespace dlr::catalog::text {

inline std::string_view trim(std::string_view text) {
  while (!text.empty() && std::isspace(static_cast<unsigned char>(text.front()))) text.remove_prefix(1);
  while (!text.empty() && std::isspace(static_cast<unsigned char>(text.back()))) text.remove_suffix(1);
  return text;
}

inline bool starts_with(std::string_view text, std::string_view prefix) {
  return text.substr(0, prefix.size()) == prefix;
}

}  // namespace dlr::catalog::text

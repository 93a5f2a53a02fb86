// Whitespace trimming shared by the JSON and XML readers: JSON's insignificant whitespace, which
// XML text between elements uses too.
#pragma once

#include <string_view>

namespace dlr::core {

inline constexpr std::string_view kWhitespace = " \t\r\n";

[[nodiscard]] inline std::string_view trim_right(std::string_view text) noexcept {
  const size_t last = text.find_last_not_of(kWhitespace);
  return text.substr(0, last == std::string_view::npos ? 0 : last + 1);  // keeps data(): offsets use it
}

[[nodiscard]] inline std::string_view trim(std::string_view text) noexcept {
  const size_t first = text.find_first_not_of(kWhitespace);
  return trim_right(text.substr(first == std::string_view::npos ? text.size() : first));
}

}  // namespace dlr::core

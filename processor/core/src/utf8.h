// UTF-8 well-formedness, shared by the JSON and XML readers for the position of an encoding fault.
#pragma once

#include <cstdint>
#include <string_view>

namespace dlr::core {

/// The offset of the first byte that is not well-formed UTF-8 (RFC 3629: no overlong forms, no
/// surrogates, nothing above U+10FFFF), or the text's size when it is all well-formed.
[[nodiscard]] int64_t first_invalid_utf8(std::string_view text) noexcept;

}  // namespace dlr::core

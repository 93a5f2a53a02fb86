// Timestamps as delivery reports write them, to milliseconds since the Unix epoch (UTC).
#pragma once

#include <cstdint>
#include <optional>
#include <string_view>

namespace dlr::core {

/// Accepts "2019-11-09T16:00:00.000+0100", "+01:00", "Z", no offset (taken as UTC), any number of
/// fraction digits (or none), and a string of digits as epoch milliseconds. Nullopt otherwise.
[[nodiscard]] std::optional<int64_t> parse_timestamp_ms(std::string_view text) noexcept;

}  // namespace dlr::core

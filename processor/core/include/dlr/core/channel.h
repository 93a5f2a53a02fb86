// Messaging channels and the catalogue families each one looks codes up in.
#pragma once

#include <cstdint>
#include <span>
#include <string_view>

#include "dlr/catalog/model.h"

namespace dlr::core {

enum class Channel : uint8_t {
  unknown,
  sms,
  mms,
  voice,
  email,
  push,
  whatsapp,
  viber,
  rcs,
  messenger,
  line,
  zalo,
  kakao,
  telegram,
  instagram,
  apple_messages,
  mobile_identity,
  live_chat,
  moments,
  people,
};
inline constexpr int kChannelCount = 20;

/// Where the channel of a report came from.
enum class ChannelSource : uint8_t { none, report, binding, inferred };

[[nodiscard]] std::string_view to_string(Channel channel) noexcept;
[[nodiscard]] std::string_view to_string(ChannelSource source) noexcept;

/// Reads a channel name as reports ("WHATSAPP", "VIBER_BM") and configs ("whatsapp") spell it;
/// case-insensitive, no allocation. Unknown names give Channel::unknown.
[[nodiscard]] Channel parse_channel(std::string_view text) noexcept;

/// The families to look a code up in before the general tables, most specific first.
[[nodiscard]] std::span<const catalog::Family> families_of(Channel channel) noexcept;

}  // namespace dlr::core

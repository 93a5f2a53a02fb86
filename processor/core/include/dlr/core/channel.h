// Messaging channels and the catalogue families each one looks codes up in. The channels are
// every one the vendor's API specifications deliver reports for (catalog/source/channels.md),
// under the vendor's own spellings.
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
  tiktok,
  web_push,
  open_channel,
  vkontakte,
  parseco,
};
inline constexpr int kChannelCount = 25;

/// Where the channel of a report came from.
enum class ChannelSource : uint8_t { none, report, binding, inferred };

[[nodiscard]] std::string_view to_string(Channel channel) noexcept;
[[nodiscard]] std::string_view to_string(ChannelSource source) noexcept;

/// Reads a channel name as reports ("WHATSAPP", "VIBER_BM") and configs ("whatsapp") spell it:
/// our names and the vendor's spellings, case-insensitive, '_' and '-' alike, no allocation.
/// Unknown names give Channel::unknown.
[[nodiscard]] Channel parse_channel(std::string_view text) noexcept;

/// Our channel names, comma-separated: what an error about an unknown name lists.
[[nodiscard]] std::string_view channel_names() noexcept;

/// The families to look a code up in before the general tables, most specific first. Empty
/// for a channel the catalogue has no family for: its codes come from the general tables.
[[nodiscard]] std::span<const catalog::Family> families_of(Channel channel) noexcept;

}  // namespace dlr::core

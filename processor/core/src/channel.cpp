#include "dlr/core/channel.h"

#include <array>
#include <cctype>

namespace dlr::core {
namespace {

using catalog::Family;

constexpr std::array<std::string_view, kChannelCount> kNames = {"unknown",
                                                                "sms",
                                                                "mms",
                                                                "voice",
                                                                "email",
                                                                "push",
                                                                "whatsapp",
                                                                "viber",
                                                                "rcs",
                                                                "messenger",
                                                                "line",
                                                                "zalo",
                                                                "kakao",
                                                                "telegram",
                                                                "instagram",
                                                                "apple-messages",
                                                                "mobile-identity",
                                                                "live-chat",
                                                                "moments",
                                                                "people"};

constexpr Family kSms[] = {Family::dlt};
constexpr Family kMms[] = {Family::mms};
constexpr Family kVoice[] = {Family::voice, Family::voice_webrtc, Family::voice_deprecated};
constexpr Family kEmail[] = {Family::email};
constexpr Family kPush[] = {Family::push};
constexpr Family kChat[] = {Family::chat};
constexpr Family kMobileIdentity[] = {Family::mobile_identity};
constexpr Family kLiveChat[] = {Family::live_chat};
constexpr Family kMoments[] = {Family::moments};
constexpr Family kPeople[] = {Family::people_api};

// Case-insensitive prefix test; `prefix` is lower case.
bool starts_with_ci(std::string_view text, std::string_view prefix) noexcept {
  if (text.size() < prefix.size()) return false;
  for (size_t i = 0; i < prefix.size(); ++i) {
    char c = static_cast<char>(std::tolower(static_cast<unsigned char>(text[i])));
    if (c == '_') c = '-';
    if (c != prefix[i]) return false;
  }
  return true;
}

bool equals_ci(std::string_view text, std::string_view name) noexcept {
  return text.size() == name.size() && starts_with_ci(text, name);
}

}  // namespace

std::string_view to_string(Channel channel) noexcept {
  return kNames[static_cast<size_t>(channel)];
}

std::string_view to_string(ChannelSource source) noexcept {
  switch (source) {
    case ChannelSource::none:
      return "none";
    case ChannelSource::report:
      return "report";
    case ChannelSource::binding:
      return "binding";
    case ChannelSource::inferred:
      return "inferred";
  }
  return "none";
}

Channel parse_channel(std::string_view text) noexcept {
  for (size_t i = 1; i < kNames.size(); ++i) {
    if (equals_ci(text, kNames[i])) return static_cast<Channel>(i);
  }
  // Vendor spellings with product suffixes: VIBER_BM, LINE_ON, KAKAO_ALIMTALK, APPLE_MB, ...
  struct Prefix {
    std::string_view prefix;
    Channel channel;
  };
  static constexpr Prefix kPrefixes[] = {
      {"viber", Channel::viber},
      {"kakao", Channel::kakao},
      {"line-", Channel::line},
      {"apple", Channel::apple_messages},
      {"instagram", Channel::instagram},
      {"telegram", Channel::telegram},
      {"whatsapp", Channel::whatsapp},
      {"messenger", Channel::messenger},
      {"facebook", Channel::messenger},
      {"rcs", Channel::rcs},
      {"zalo", Channel::zalo},
      {"webrtc", Channel::voice},
      {"voice", Channel::voice},
      {"mobile-push", Channel::push},
      {"push", Channel::push},
      {"mail", Channel::email},
      {"sms", Channel::sms},
      {"mms", Channel::mms},
  };
  for (const auto& p : kPrefixes) {
    if (starts_with_ci(text, p.prefix)) return p.channel;
  }
  return Channel::unknown;
}

std::span<const Family> families_of(Channel channel) noexcept {
  switch (channel) {
    case Channel::sms:
      return kSms;
    case Channel::mms:
      return kMms;
    case Channel::voice:
      return kVoice;
    case Channel::email:
      return kEmail;
    case Channel::push:
      return kPush;
    case Channel::whatsapp:
    case Channel::viber:
    case Channel::rcs:
    case Channel::messenger:
    case Channel::line:
    case Channel::zalo:
    case Channel::kakao:
    case Channel::telegram:
    case Channel::instagram:
    case Channel::apple_messages:
      return kChat;
    case Channel::mobile_identity:
      return kMobileIdentity;
    case Channel::live_chat:
      return kLiveChat;
    case Channel::moments:
      return kMoments;
    case Channel::people:
      return kPeople;
    case Channel::unknown:
      break;
  }
  return {};
}

}  // namespace dlr::core

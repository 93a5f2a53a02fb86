#include "dlr/core/channel.h"

#include <array>
#include <cctype>
#include <string>

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
                                                                "people",
                                                                "tiktok",
                                                                "web-push",
                                                                "open-channel",
                                                                "vkontakte",
                                                                "parseco"};

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
  // The vendor's spellings across its APIs (enum values and path segments), lower case.
  struct Alias {
    std::string_view name;
    Channel channel;
  };
  static constexpr Alias kAliases[] = {
      {"voice-video", Channel::voice},
      {"voice-outbound-tts", Channel::voice},
      {"tts", Channel::voice},
      {"calls", Channel::voice},
      {"webrtc", Channel::voice},
      {"mobile-push", Channel::push},
      {"new-push-notif", Channel::push},
      {"viber-bm", Channel::viber},
      {"viber-bot", Channel::viber},
      {"viber-bots", Channel::viber},
      {"facebook", Channel::messenger},
      {"facebook-messenger", Channel::messenger},
      {"instagram-dm", Channel::instagram},
      {"instagram-messaging", Channel::instagram},
      {"apple-mb", Channel::apple_messages},
      {"apple-bc", Channel::apple_messages},
      {"apple-business-chat", Channel::apple_messages},
      {"apple-messages-for-business", Channel::apple_messages},
      {"apple-mfb", Channel::apple_messages},
      {"apple", Channel::apple_messages},
      {"line-on", Channel::line},
      {"line-oa", Channel::line},
      {"kakao-alim", Channel::kakao},
      {"kakao-alimtalk", Channel::kakao},
      {"kakao-chingu", Channel::kakao},
      {"kakao-brand-message", Channel::kakao},
      {"kakao-brand-messages", Channel::kakao},
      {"kakao-sangdam", Channel::kakao},
      {"kakao-talk", Channel::kakao},
      {"zalo-notification-service", Channel::zalo},
      {"zalo-zns", Channel::zalo},
      {"zalo-follower", Channel::zalo},
      {"tiktok-bm", Channel::tiktok},
  };
  for (const auto& a : kAliases) {
    if (equals_ci(text, a.name)) return a.channel;
  }
  return Channel::unknown;
}

std::string_view channel_names() noexcept {
  static const std::string list = [] {
    std::string out;
    for (size_t i = 1; i < kNames.size(); ++i) (out += i > 1 ? ", " : "") += kNames[i];
    return out + " (or the vendor's spellings, e.g. VIBER_BM, LINE_ON, KAKAO_ALIM, TIKTOK_BM)";
  }();
  return list;
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
    // The page's chat error codes are for "RCS, WhatsApp, Messenger, LINE, Viber, Zalo, KakaoTalk".
    case Channel::whatsapp:
    case Channel::viber:
    case Channel::rcs:
    case Channel::messenger:
    case Channel::line:
    case Channel::zalo:
    case Channel::kakao:
      return kChat;
    case Channel::mobile_identity:
      return kMobileIdentity;
    case Channel::live_chat:
      return kLiveChat;
    case Channel::moments:
      return kMoments;
    case Channel::people:
      return kPeople;
    // No family of their own on the page: the general tables (then a code only one family has).
    case Channel::telegram:
    case Channel::instagram:
    case Channel::apple_messages:
    case Channel::tiktok:
    case Channel::web_push:
    case Channel::open_channel:
    case Channel::vkontakte:
    case Channel::parseco:
    case Channel::unknown:
      break;
  }
  return {};
}

}  // namespace dlr::core

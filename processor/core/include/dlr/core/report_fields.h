// What the reader takes from one delivery report: the fields classification and the serializers
// need, as views into the message being processed. Plain data: valid while that message is.
#pragma once

#include <cmath>
#include <cstdint>
#include <optional>
#include <string_view>

#include "dlr/core/channel.h"

namespace dlr::core {

/// A status or error object as found in a report.
struct CodeObject {
  bool keyed = false;    ///< the key was met (null included): a second one is ambiguous
  bool present = false;  ///< an object (not null)
  bool has_id = false;
  bool has_group = false;
  int64_t id = 0;
  int64_t group_id = -1;
  int8_t permanent = -1;  ///< the report's own flag: -1 absent, 0 false, 1 true
  std::string_view name;
  std::string_view raw;  ///< the object's bytes, '{' to '}'
};

struct ReportFields {
  CodeObject status;
  CodeObject error;
  bool has_message_id = false;
  std::string_view message_id;         ///< unescaped
  Channel channel = Channel::unknown;  ///< the report's own "channel", when it names a known one
  bool has_channel_field = false;
  bool voice_call = false;  ///< a "voiceCall" member: a voice report
  bool smtp = false;        ///< an "smtp" member: an email report
  bool seen = false;        ///< a "seenAt" member
  bool has_event = false;
  std::string_view event;
  std::optional<int64_t> sent_ms;
  std::optional<int64_t> done_ms;
  char mcc_mnc[24] = {};
  uint8_t mcc_mnc_len = 0;
  double price = NAN;
  std::string_view currency;

  [[nodiscard]] std::string_view mcc_mnc_text() const noexcept { return {mcc_mnc, mcc_mnc_len}; }
};

}  // namespace dlr::core

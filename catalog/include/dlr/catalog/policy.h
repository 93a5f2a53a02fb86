// The classification policy: data that says what each code means for the sender.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "dlr/catalog/model.h"

namespace date {
class time_zone;
}

namespace dlr::catalog {

enum class Outcome : uint8_t { delivered, pending, retryable, permanent };
[[nodiscard]] std::string_view to_string(Outcome outcome) noexcept;
[[nodiscard]] bool parse_outcome(std::string_view text, Outcome& out) noexcept;

/// Local hours, in a named time zone, outside which a send is refused (a regulator's or the
/// sender's own sending hours). A retry of a refusal waits for them: a fixed delay would land back
/// outside them for some sending times.
struct SendingWindow {
  std::string name;     ///< its name in the policy's `windows`
  int opens_min = 0;    ///< minutes after local midnight
  int closes_min = 0;   ///< at or before opens_min: the window runs past midnight
  uint8_t days = 0x7f;  ///< bit d: the window opens on ISO weekday d + 1 (bit 0 Monday, bit 6 Sunday)
  std::string zone;     ///< IANA time zone name, e.g. Asia/Kolkata
  const date::time_zone* tz = nullptr;  ///< resolved from `zone` on load

  /// A retry scheduled this close to the closing time goes to the next opening: on its way
  /// through a retrier and the platform it would be refused again.
  static constexpr int kMinimumLeftMin = 5;

  /// The first instant (Unix ms) at or after `earliest_ms` inside the window, at least
  /// kMinimumLeftMin before it closes. Needs `tz`.
  [[nodiscard]] int64_t next_open(int64_t earliest_ms) const noexcept;
  /// "10:00-21:00 Asia/Kolkata", with the days when not every day ("09:00-17:00 UTC, mon tue wed thu fri").
  [[nodiscard]] std::string describe() const;
  /// "10:00" for a minute of the day.
  [[nodiscard]] static std::string clock_text(int minute_of_day);
  /// "mon" ... "sun" for bit 0 ... 6 of `days`.
  [[nodiscard]] static std::string_view day_name(int bit) noexcept;
};

/// When a failed message may be sent again, and how often at most.
struct RetryHint {
  int not_before_s = 0;  ///< seconds to wait before the next attempt
  int max_attempts = 0;  ///< attempts in all, the first one included
  /// Present: the next attempt is also inside this window (the first opening after the wait).
  std::shared_ptr<const SendingWindow> window;

  /// When the next attempt may go, for a refusal seen at `now_ms`.
  [[nodiscard]] int64_t not_before_ms(int64_t now_ms) const noexcept {
    const int64_t earliest = now_ms + int64_t{not_before_s} * 1000;
    return window ? window->next_open(earliest) : earliest;
  }
};

/// One policy rule. Every match field that is set must hold; the most specific matching rule
/// (id or name 8, group 4, family 2, kind 1, summed) decides, the first in the file on a tie.
struct Rule {
  std::string name;  ///< stable identifier, stamped on every report the rule decides
  std::optional<Kind> kind;
  std::optional<Family> family;
  std::optional<int> group;
  std::optional<int> id;
  std::optional<std::string> code_name;
  std::optional<Outcome> outcome;  ///< absent: the vendor's permanent flag decides
  std::optional<bool> final;       ///< absent: delivered/retryable/permanent are final, pending is not
  std::optional<RetryHint> retry;  ///< absent: the policy's default for retryable outcomes
  std::string reason;
  /// The vendor's words the rule rests on. Required where the rule overrides the vendor's flag:
  /// each entry it overrides must contain one of them (description, resolution or group).
  std::vector<std::string> quotes;
  /// A status rule whose verdict stands whatever the report's error says (see classify).
  bool firm = false;
  int line = 0;

  [[nodiscard]] int specificity() const noexcept;
  [[nodiscard]] bool matches(const Entry& entry) const noexcept;
};

struct Policy {
  RetryHint default_retry{600, 5, nullptr};
  std::vector<std::shared_ptr<const SendingWindow>> windows;
  std::vector<Rule> rules;
};

}  // namespace dlr::catalog

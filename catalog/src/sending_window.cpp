// Local sending hours in a named time zone, through the system's time zone database (tzdata):
// offsets and daylight-saving rules change by decree, so they are read, not written down here.
#include <date/tz.h>

#include <array>

#include "dlr/catalog/policy.h"

namespace dlr::catalog {

int64_t SendingWindow::next_open(int64_t earliest_ms) const noexcept {
  using std::chrono::milliseconds;
  using std::chrono::minutes;
  const date::sys_time<milliseconds> earliest{milliseconds(earliest_ms)};
  const date::local_time<milliseconds> local = tz->to_local(earliest);
  const date::local_days today = date::floor<date::days>(local);
  // From yesterday: a window that runs past midnight may have opened then.
  for (int d = -1; d <= 7; ++d) {
    const date::local_days day = today + date::days(d);
    if (!(days & (1U << (date::weekday(day).iso_encoding() - 1)))) continue;
    const date::local_time<milliseconds> opens = day + minutes(opens_min);
    const date::local_time<milliseconds> closes =
        day + minutes(closes_min) + (closes_min <= opens_min ? date::days(1) : date::days(0));
    if (local >= closes - minutes(kMinimumLeftMin)) continue;
    if (local >= opens) return earliest_ms;
    // An opening inside a daylight-saving gap maps to the end of the gap.
    return tz->to_sys(opens, date::choose::earliest).time_since_epoch().count();
  }
  return earliest_ms;  // no day set: refused on load, never reached
}

std::string_view SendingWindow::day_name(int bit) noexcept {
  static constexpr std::array<std::string_view, 7> kNames = {"mon", "tue", "wed", "thu", "fri", "sat", "sun"};
  return kNames[static_cast<size_t>(bit) % kNames.size()];
}

std::string SendingWindow::clock_text(int minute_of_day) {
  const auto two = [](int v) {
    return std::string(1, static_cast<char>('0' + v / 10)) + static_cast<char>('0' + v % 10);
  };
  return two(minute_of_day / 60) + ":" + two(minute_of_day % 60);
}

std::string SendingWindow::describe() const {
  std::string out = clock_text(opens_min) + "-" + clock_text(closes_min) + " " + zone;
  if (days != 0x7f) {
    out += ",";
    for (int bit = 0; bit < 7; ++bit)
      if (days & (1U << bit)) (out += ' ') += day_name(bit);
  }
  return out;
}

}  // namespace dlr::catalog

// Sending windows: the next attempt's time for a refusal outside local sending hours.
#include <date/tz.h>
#include <gtest/gtest.h>

#include <string>

#include "dlr/catalog/loader.h"
#include "dlr/catalog/policy.h"

using namespace dlr::catalog;

namespace {

// Unix ms of a UTC wall time "YYYY-MM-DD HH:MM".
int64_t utc(const std::string& text) {
  const auto number = [&](size_t at, size_t length) { return std::stoi(text.substr(at, length)); };
  const date::year_month_day day{date::year(number(0, 4)), date::month(static_cast<unsigned>(number(5, 2))),
                                 date::day(static_cast<unsigned>(number(8, 2)))};
  EXPECT_TRUE(day.ok() && text.size() == 16) << text;
  const auto t =
      date::sys_days(day) + std::chrono::hours(number(11, 2)) + std::chrono::minutes(number(14, 2));
  return std::chrono::duration_cast<std::chrono::milliseconds>(t.time_since_epoch()).count();
}

SendingWindow window(const std::string& opens, const std::string& closes, const std::string& zone,
                     const std::string& days = "") {
  std::vector<Diagnostic> diagnostics;
  const Policy policy =
      parse_policy("windows:\n  w: {opens: \"" + opens + "\", closes: \"" + closes + "\", zone: " + zone +
                       (days.empty() ? "" : ", days: " + days) + "}\nrules: []\n",
                   "policy.yaml", diagnostics);
  for (const auto& d : diagnostics) ADD_FAILURE() << format(d);
  EXPECT_EQ(policy.windows.size(), 1u);
  return policy.windows.empty() ? SendingWindow{} : *policy.windows.front();
}

std::vector<Diagnostic> problems(const std::string& policy_text) {
  std::vector<Diagnostic> diagnostics;
  (void)parse_policy(policy_text, "policy.yaml", diagnostics);
  return diagnostics;
}

}  // namespace

// India time is UTC+5:30 all year: the window 10:00-21:00 IST is 04:30-15:30 UTC.
TEST(SendingWindow, ARefusalAfterClosingWaitsForTheNextOpening) {
  const SendingWindow india = window("10:00", "21:00", "Asia/Kolkata");
  EXPECT_EQ(india.next_open(utc("2026-12-03 16:00")), utc("2026-12-04 04:30")) << "21:30 IST";
  EXPECT_EQ(india.next_open(utc("2026-12-03 00:00")), utc("2026-12-03 04:30")) << "05:30 IST, same day";
}

TEST(SendingWindow, InsideTheWindowTheAttemptNeedNotWait) {
  const SendingWindow india = window("10:00", "21:00", "Asia/Kolkata");
  EXPECT_EQ(india.next_open(utc("2026-12-03 05:00")), utc("2026-12-03 05:00")) << "10:30 IST";
}

TEST(SendingWindow, TooCloseToClosingGoesToTheNextOpening) {
  const SendingWindow india = window("10:00", "21:00", "Asia/Kolkata");
  EXPECT_EQ(india.next_open(utc("2026-12-03 15:24")), utc("2026-12-03 15:24")) << "20:54 IST, 6 minutes left";
  EXPECT_EQ(india.next_open(utc("2026-12-03 15:26")), utc("2026-12-04 04:30")) << "20:56 IST, 4 minutes left";
}

TEST(SendingWindow, AWindowPastMidnightBelongsToTheDayItOpens) {
  const SendingWindow night = window("22:00", "06:00", "UTC", "[mon]");
  // 2026-12-07 is a Monday: open from Monday 22:00 to Tuesday 06:00.
  EXPECT_EQ(night.next_open(utc("2026-12-08 03:00")), utc("2026-12-08 03:00")) << "Tuesday 03:00, still open";
  EXPECT_EQ(night.next_open(utc("2026-12-08 07:00")), utc("2026-12-14 22:00")) << "closed until next Monday";
}

TEST(SendingWindow, ClosedDaysAreSkipped) {
  const SendingWindow office = window("09:00", "17:00", "UTC", "[mon, tue, wed, thu, fri]");
  // 2026-12-04 is a Friday.
  EXPECT_EQ(office.next_open(utc("2026-12-04 18:00")), utc("2026-12-07 09:00")) << "Friday evening to Monday";
  EXPECT_EQ(office.next_open(utc("2026-12-05 12:00")), utc("2026-12-07 09:00")) << "Saturday noon to Monday";
}

TEST(SendingWindow, DaylightSavingTimeMovesTheOpeningInUtc) {
  const SendingWindow berlin = window("09:00", "17:00", "Europe/Berlin");
  EXPECT_EQ(berlin.next_open(utc("2026-01-15 20:00")), utc("2026-01-16 08:00")) << "CET, UTC+1";
  EXPECT_EQ(berlin.next_open(utc("2026-07-15 20:00")), utc("2026-07-16 07:00")) << "CEST, UTC+2";
  // 2026-03-29 02:00 CET jumps to 03:00 CEST: an opening at 02:30 does not exist that day and
  // maps to the end of the gap, 01:00 UTC.
  const SendingWindow gap = window("02:30", "05:00", "Europe/Berlin");
  EXPECT_EQ(gap.next_open(utc("2026-03-28 23:00")), utc("2026-03-29 01:00"));
}

TEST(SendingWindow, ARetryHintWaitsThenLooksForTheWindow) {
  RetryHint hint;
  hint.not_before_s = 3600;
  hint.window = std::make_shared<SendingWindow>(window("10:00", "21:00", "Asia/Kolkata"));
  EXPECT_EQ(hint.not_before_ms(utc("2026-12-03 14:45")), utc("2026-12-04 04:30"))
      << "20:15 IST plus an hour is past closing";
  hint.window.reset();
  EXPECT_EQ(hint.not_before_ms(utc("2026-12-03 14:45")), utc("2026-12-03 15:45"));
}

TEST(SendingWindow, DescribesItselfForOperators) {
  EXPECT_EQ(window("09:00", "17:30", "UTC", "[mon, fri]").describe(), "09:00-17:30 UTC, mon fri");
  EXPECT_EQ(window("10:00", "21:00", "Asia/Kolkata").describe(), "10:00-21:00 Asia/Kolkata");
}

TEST(SendingWindow, BadWindowsAndReferencesAreAllReported) {
  const auto bad = problems(
      "windows:\n"
      "  a: {opens: \"25:00\", closes: \"9\", zone: UTC}\n"
      "  b: {opens: \"09:00\", closes: \"17:00\", zone: Mars/Olympus_Mons}\n"
      "  c: {opens: \"09:00\", closes: \"09:00\", zone: UTC, days: [mon, someday]}\n"
      "rules:\n"
      "  - {name: r, match: {id: 1}, reason: x, retry: {window: nowhere, max_attempts: 2}}\n");
  std::string all;
  for (const auto& d : bad) all += format(d) + "\n";
  EXPECT_NE(all.find("opens must be a local time HH:MM, got '25:00'"), std::string::npos) << all;
  EXPECT_NE(all.find("closes must be a local time HH:MM, got '9'"), std::string::npos) << all;
  EXPECT_NE(all.find("unknown time zone 'Mars/Olympus_Mons'"), std::string::npos) << all;
  EXPECT_NE(all.find("opens and closes at the same time"), std::string::npos) << all;
  EXPECT_NE(all.find("unknown day 'someday'"), std::string::npos) << all;
  EXPECT_NE(all.find("unknown window 'nowhere' (the policy's windows: none)"), std::string::npos) << all;
}

TEST(SendingWindow, AWindowRetryMayLeaveOutTheWaitButNotTheAttempts) {
  const std::string windows = "windows:\n  w: {opens: \"09:00\", closes: \"17:00\", zone: UTC}\n";
  EXPECT_TRUE(problems(windows + "rules:\n  - {name: r, match: {id: 1}, reason: x, retry: {window: w, "
                                 "max_attempts: 2}}\n")
                  .empty());
  const auto missing =
      problems(windows + "rules:\n  - {name: r, match: {id: 1}, reason: x, retry: {window: w}}\n");
  ASSERT_EQ(missing.size(), 1u);
  EXPECT_NE(missing[0].message.find("missing required field 'max_attempts'"), std::string::npos);
}

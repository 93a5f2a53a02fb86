// The merge of delivery reports into a message's state: one test per rule, a property test over
// random histories, the encoding, and the reader of the stage's own analytics records.
#include <gtest/gtest.h>

#include <algorithm>
#include <random>
#include <string>
#include <vector>

#include "dlr/catalog/loader.h"
#include "dlr/core/processor.h"
#include "dlr/tracking/report.h"
#include "dlr/tracking/state.h"

namespace dlr::tracking {
namespace {

using catalog::Outcome;

const catalog::Catalog& shipped() {
  static auto loaded =
      catalog::load_catalog(DLR_SOURCE_DIR "/catalog/codes.yaml", DLR_SOURCE_DIR "/catalog/policy.yaml");
  return *loaded.catalog;
}

// Reports as the shipped catalogue classifies them (general family, status group, id).
TrackedReport report(Rank rank, Outcome outcome, int32_t group, int32_t status, bool has_error, int32_t error,
                     int64_t t) {
  TrackedReport r;
  static_cast<ReportCodes&>(r) = {rank, outcome, rank == Rank::final, {}, group, status, has_error,
                                  {},   error};
  r.message_id = "m";
  r.time_ms = t;
  r.channel = "sms";
  return r;
}
TrackedReport pending_enroute(int64_t t) {
  return report(Rank::intermediate, Outcome::pending, 1, 7, false, 0, t);
}
TrackedReport to_operator(int64_t t) {
  return report(Rank::handed_on, Outcome::pending, 3, 2, false, 0, t);
}
TrackedReport to_handset(int64_t t) {
  return report(Rank::final, Outcome::delivered, 3, 5, true, 0, t);
}
TrackedReport undeliverable(int64_t t) {
  return report(Rank::final, Outcome::permanent, 2, 4, true, 27, t);
}

MessageState fold(const std::vector<TrackedReport>& reports) {
  MessageState state;
  int64_t offset = 0;
  for (const auto& r : reports) (void)merge(state, r, offset++);
  return state;
}

TEST(Merge, ALateIntermediateIsCountedNotApplied) {
  MessageState state;
  EXPECT_EQ(merge(state, to_handset(20), 1), Effect::applied);
  EXPECT_EQ(merge(state, pending_enroute(10), 2), Effect::late);
  EXPECT_EQ(state.status_id, 5);
  EXPECT_EQ(state.outcome, Outcome::delivered);
  EXPECT_EQ(state.late, 1u);
  EXPECT_EQ(state.reports(), 2u);
  EXPECT_EQ(state.first_report_ms, 10);
  EXPECT_EQ(state.last_report_ms, 20);
}

TEST(Merge, ARepeatedReportIsADuplicateAndChangesNothingShown) {
  MessageState state;
  (void)merge(state, to_operator(10), 1);
  const MessageState before = state;
  EXPECT_EQ(merge(state, to_operator(10), 2), Effect::duplicate);
  EXPECT_EQ(state.duplicates(), 1u);
  EXPECT_EQ(state.reports(), 1u);
  EXPECT_EQ(state.status_id, before.status_id);
  EXPECT_EQ(state.report_time_ms, before.report_time_ms);
}

TEST(Merge, ASecondConflictingFinalKeepsTheFirst) {
  MessageState state;
  (void)merge(state, to_handset(10), 1);
  EXPECT_EQ(merge(state, undeliverable(30), 2), Effect::conflict);
  EXPECT_EQ(state.outcome, Outcome::delivered);
  EXPECT_EQ(state.conflicts(), 1u);
  // Arriving in the other order, the earlier final still wins.
  MessageState reversed = fold({undeliverable(30), to_handset(10)});
  EXPECT_EQ(reversed.outcome, Outcome::delivered);
  EXPECT_EQ(reversed.conflicts(), 1u);
}

TEST(Merge, TheSameFinalAgainAtAnotherTimeIsNoConflict) {
  MessageState state = fold({to_handset(10), to_handset(12)});
  EXPECT_EQ(state.conflicts(), 0u);
  EXPECT_EQ(state.report_time_ms, 10);
  EXPECT_EQ(state.reports(), 2u);
}

TEST(Merge, HandedToTheOperatorOutranksPendingButNotAFinal) {
  EXPECT_EQ(fold({to_operator(10), pending_enroute(20)}).status_id, 2);
  EXPECT_EQ(fold({pending_enroute(20), to_operator(10)}).status_id, 2);
  EXPECT_EQ(fold({to_handset(5), to_operator(10)}).status_id, 5);
}

TEST(Merge, AReplayedInputChangesNothing) {
  MessageState state;
  (void)merge(state, to_operator(10), 7);
  const uint32_t total = state.total;
  EXPECT_EQ(merge(state, to_handset(20), 7), Effect::replayed);
  EXPECT_EQ(merge(state, to_operator(10), 3), Effect::replayed);
  EXPECT_EQ(state.total, total);
  EXPECT_EQ(state.duplicates(), 0u);
  EXPECT_EQ(state.status_id, 2);
}

TEST(Rank, ComesFromTheCataloguesGroupsAndFinalVerdicts) {
  EXPECT_EQ(rank_of(shipped(), true, 3), Rank::final);
  EXPECT_EQ(rank_of(shipped(), false, 3), Rank::handed_on);     // DELIVERED group, not final
  EXPECT_EQ(rank_of(shipped(), false, 1), Rank::intermediate);  // PENDING group
  EXPECT_EQ(rank_of(shipped(), false, 99), Rank::intermediate);
}

// What the state shows and counts, apart from what depends on arrival order by definition.
struct Visible {
  Rank rank;
  Outcome outcome;
  bool final;
  int32_t status_id, error_id;
  int64_t report_time, first, last;
  uint32_t reports, duplicates, conflicts;
  friend bool operator==(const Visible&, const Visible&) = default;
};
Visible visible(const MessageState& s) {
  return {s.rank,      s.outcome,        s.final,           s.status_id,
          s.error_id,  s.report_time_ms, s.first_report_ms, s.last_report_ms,
          s.reports(), s.duplicates(),   s.conflicts()};
}

TEST(Merge, AnyOrderWithAnyRepetitionsGivesTheSameState) {
  std::mt19937_64 random(20261202);
  const std::vector<TrackedReport (*)(int64_t)> kinds = {pending_enroute, to_operator, to_handset,
                                                         undeliverable};
  for (int history = 0; history < 2000; ++history) {
    std::vector<TrackedReport> distinct;
    const int n = 1 + static_cast<int>(random() % 6);
    for (int i = 0; i < n; ++i) {
      TrackedReport r = kinds[random() % kinds.size()](static_cast<int64_t>(random() % 5) * 1000);
      if (std::find_if(distinct.begin(), distinct.end(), [&](const TrackedReport& d) {
            return d.time_ms == r.time_ms && d.status_id == r.status_id;
          }) == distinct.end()) {
        distinct.push_back(r);
      }
    }
    const Visible once = visible(fold(distinct));
    for (int shuffle = 0; shuffle < 10; ++shuffle) {
      std::vector<TrackedReport> sequence = distinct;
      const size_t repeats = random() % 4;
      for (size_t i = 0; i < repeats; ++i) sequence.push_back(distinct[random() % distinct.size()]);
      std::shuffle(sequence.begin(), sequence.end(), random);
      Visible again = visible(fold(sequence));
      EXPECT_EQ(again.duplicates, repeats);
      again.duplicates = once.duplicates;
      ASSERT_EQ(again, once) << "history " << history << " shuffle " << shuffle;
    }
  }
}

TEST(Encoding, RoundTripsAndRefusesWhatItCannotRead) {
  MessageState state = fold({pending_enroute(1), to_handset(9), undeliverable(12), to_handset(9)});
  state.input_offset = 1234567890123;
  std::string bytes;
  encode(state, bytes);
  MessageState back;
  ASSERT_TRUE(decode(bytes, back));
  EXPECT_EQ(visible(back), visible(state));
  EXPECT_EQ(back.channel, "sms");
  EXPECT_EQ(back.input_offset, state.input_offset);
  EXPECT_EQ(back.seen.size(), state.seen.size());
  for (size_t cut = 0; cut < bytes.size(); ++cut) EXPECT_FALSE(decode(bytes.substr(0, cut), back)) << cut;
  EXPECT_FALSE(decode(bytes + "x", back));
  std::string other_format = bytes;
  other_format[0] = 9;
  EXPECT_FALSE(decode(other_format, back));
}

TEST(Encoding, ReadsTheLastReportTimeInPlace) {
  MessageState state = fold({to_handset(9), pending_enroute(1), undeliverable(12)});
  std::string bytes;
  encode(state, bytes);
  ASSERT_NE(state.first_report_ms, state.last_report_ms);
  EXPECT_EQ(encoded_last_report_ms(bytes), state.last_report_ms);
  EXPECT_FALSE(encoded_last_report_ms(bytes.substr(0, 20)));
  bytes[0] = 9;
  EXPECT_FALSE(encoded_last_report_ms(bytes));
}

TEST(AnalyticsReader, ReadsTheRecordsTheStageWrites) {
  auto loaded =
      catalog::load_catalog(DLR_SOURCE_DIR "/catalog/codes.yaml", DLR_SOURCE_DIR "/catalog/policy.yaml");
  core::Processor processor(loaded.catalog);
  core::Result result;
  processor.process(
      R"({"results":[{"messageId":"m-\"1","doneAt":"2026-01-02T03:04:05.000+0000","status":{"groupId":3,"id":2,"name":"DELIVERED_TO_OPERATOR"}},)"
      R"({"messageId":"m2","status":{"groupId":2,"id":4,"name":"UNDELIVERABLE_REJECTED_OPERATOR"},"error":{"groupId":1,"id":27,"name":"EC_ABSENT_SUBSCRIBER"}}]})",
      core::Channel::sms, result);
  ASSERT_EQ(result.reports.size(), 2u);
  AnalyticsReader reader;
  TrackedReport first, second;
  ASSERT_EQ(reader.read(result.analytics_of(result.reports[0]), 42, *loaded.catalog, first), ReadError::none);
  EXPECT_EQ(first.message_id, "m-\"1");
  EXPECT_EQ(first.time_ms, 1767323045000);
  EXPECT_EQ(first.status_id, 2);
  EXPECT_EQ(first.rank, Rank::handed_on);
  EXPECT_FALSE(first.final);
  ASSERT_EQ(reader.read(result.analytics_of(result.reports[1]), 42, *loaded.catalog, second),
            ReadError::none);
  EXPECT_EQ(second.time_ms, 42);  // no doneAt: the record's own time
  EXPECT_TRUE(second.has_error);
  EXPECT_EQ(second.error_id, 27);
  EXPECT_EQ(second.rank, Rank::final);
  EXPECT_EQ(reader.read("{\"time\":1,\"messageId\":null}", 0, *loaded.catalog, second),
            ReadError::no_message_id);
  EXPECT_EQ(reader.read("not json", 0, *loaded.catalog, second), ReadError::not_json);
  EXPECT_EQ(reader.read("{\"time\":\"x\"}", 0, *loaded.catalog, second), ReadError::bad_field);
}

}  // namespace
}  // namespace dlr::tracking

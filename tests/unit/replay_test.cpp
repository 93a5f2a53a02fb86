// `dlr-enricher replay` on fakes (tests/support/fake_io.h): which dead letters are written back and
// where, the replay header, offsets that never pass an unacknowledged record, a resumed replay and
// a dry run that writes and commits nothing.
#include "replay.h"

#include <gtest/gtest.h>

#include "fake_io.h"

using namespace dlr;
using fakes::FakeGroupOffsets;
using fakes::FakeOutput;
using fakes::FakePartitionReader;

namespace {

using Headers = std::vector<std::pair<std::string, std::string>>;

Headers dead_letter(const std::string& reason, const std::string& source) {
  return {{"dlr-outcome", "invalid"}, {"dlr-reason", reason}, {"dlr-source-topic", source}};
}

struct Replaying {
  explicit Replaying(app::ReplayOptions o = {}) : options(std::move(o)) {
    options.dead_letter_topic = "dlr.dlq";
    options.input_topics = {"in.sms", "in.email"};
  }
  int run() {
    app::Replay replay(options, dlq, output, group);
    const std::atomic<bool> stop{false};
    const int code = replay.run(stop, [this](const app::ReplayTally&) { ++progress_calls; });
    tally = replay.tally();
    error = replay.error();
    return code;
  }
  [[nodiscard]] std::vector<std::string> written_values() const {
    std::vector<std::string> out;
    for (const auto& r : output.written()) out.push_back(r.value);
    return out;
  }

  app::ReplayOptions options;
  FakePartitionReader dlq;
  FakeOutput output;
  FakeGroupOffsets group;
  app::ReplayTally tally;
  std::string error;
  int progress_calls = 0;
};

}  // namespace

TEST(Replay, WritesEachDeadLetterBackToItsSourceWithTheReplayHeader) {
  Replaying r;
  r.output.auto_acknowledge = true;
  r.dlq.append(0, "m1", "{\"results\":[", dead_letter("INVALID_JSON", "in.sms"));
  r.dlq.append(0, "m2", "<x", dead_letter("INVALID_XML", "in.email"));
  ASSERT_EQ(r.run(), 0) << r.error;
  ASSERT_EQ(r.output.written().size(), 2u);
  const auto& first = r.output.written()[0];
  EXPECT_EQ(r.output.name(first.topic), "in.sms");
  EXPECT_EQ(first.key, "m1");
  EXPECT_EQ(first.value, "{\"results\":[");
  EXPECT_EQ(first.header("dlr-replay-of"), "dlr.dlq/0/0");
  EXPECT_EQ(r.output.name(r.output.written()[1].topic), "in.email");
  EXPECT_EQ(r.output.written()[1].header("dlr-replay-of"), "dlr.dlq/0/1");
  EXPECT_EQ(r.group.offsets[0], 2) << "committed past both once acknowledged";
  EXPECT_EQ(r.tally.replayed, 2u);
  EXPECT_GT(r.progress_calls, 0);
}

TEST(Replay, FiltersByReasonSourceAndTimeAndPassesOverReplayedInput) {
  app::ReplayOptions o;
  o.reasons = {"INVALID_JSON", "PERMANENT_FAILURE"};
  o.source_topics = {"in.sms"};
  o.since_ms = 1001;  // the fake's timestamps are 1000 + offset
  o.until_ms = 1006;
  Replaying r(o);
  r.output.auto_acknowledge = true;
  r.dlq.append(0, "a", "0", dead_letter("INVALID_JSON", "in.sms"));  // before --since
  r.dlq.append(0, "b", "1", dead_letter("INVALID_JSON", "in.sms"));
  r.dlq.append(0, "c", "2", dead_letter("TOO_DEEP", "in.sms"));        // another reason
  r.dlq.append(0, "d", "3", dead_letter("INVALID_JSON", "in.email"));  // another source
  Headers replayed = dead_letter("INVALID_JSON", "in.sms");
  replayed.emplace_back("dlr-replay-of", "dlr.dlq/0/1");
  r.dlq.append(0, "e", "4", replayed);
  r.dlq.append(0, "f", "5", dead_letter("PERMANENT_FAILURE", "in.sms"));
  r.dlq.append(0, "g", "6", dead_letter("INVALID_JSON", "in.sms"));  // at --until: outside
  ASSERT_EQ(r.run(), 0) << r.error;
  EXPECT_EQ(r.written_values(), (std::vector<std::string>{"1", "5"}));
  using app::Skip;
  EXPECT_EQ(r.tally.skipped[static_cast<size_t>(Skip::time)], 2u);
  EXPECT_EQ(r.tally.skipped[static_cast<size_t>(Skip::reason)], 1u);
  EXPECT_EQ(r.tally.skipped[static_cast<size_t>(Skip::source_topic)], 1u);
  EXPECT_EQ(r.tally.skipped[static_cast<size_t>(Skip::replayed)], 1u);
  EXPECT_EQ((r.tally.selected[{"INVALID_JSON", "in.sms"}]), 1u);
  EXPECT_EQ((r.tally.selected[{"PERMANENT_FAILURE", "in.sms"}]), 1u);
  EXPECT_EQ(r.group.offsets[0], 7) << "passed-over dead letters are done too";
}

TEST(Replay, WritesOnlyToTheConfigsInputsUnlessToIsGiven) {
  Replaying r;
  r.output.auto_acknowledge = true;
  r.dlq.append(0, "a", "0", dead_letter("INVALID_JSON", "retired.topic"));
  r.dlq.append(0, "b", "1", {{"dlr-reason", "INVALID_JSON"}});
  ASSERT_EQ(r.run(), 0);
  EXPECT_TRUE(r.output.written().empty());
  EXPECT_EQ(r.tally.skipped[static_cast<size_t>(app::Skip::not_an_input)], 1u);
  EXPECT_EQ(r.tally.skipped[static_cast<size_t>(app::Skip::no_source)], 1u);

  app::ReplayOptions o;
  o.to_topic = "in.repair";
  Replaying to(o);
  to.output.auto_acknowledge = true;
  to.dlq.append(0, "a", "0", dead_letter("INVALID_JSON", "retired.topic"));
  to.dlq.append(0, "b", "1", {{"dlr-reason", "INVALID_JSON"}});
  ASSERT_EQ(to.run(), 0);
  ASSERT_EQ(to.output.written().size(), 2u);
  EXPECT_EQ(to.output.name(to.output.written()[1].topic), "in.repair");
}

// A failed delivery stops the replay with the group's offset before it: the next run writes that
// dead letter again, and nothing after it was counted as done.
TEST(Replay, OffsetNeverPassesAnUnacknowledgedDeadLetterAndTheNextRunResumes) {
  app::ReplayOptions o;
  o.reasons = {"INVALID_JSON"};
  Replaying r(o);
  r.dlq.append(0, "a", "0", dead_letter("TOO_DEEP", "in.sms"));  // passed over: done at once
  r.dlq.append(0, "b", "1", dead_letter("INVALID_JSON", "in.sms"));
  r.dlq.append(0, "c", "2", dead_letter("INVALID_JSON", "in.sms"));
  r.output.flush_acknowledges = true;
  r.output.fail_next(RD_KAFKA_RESP_ERR__MSG_TIMED_OUT);  // the delivery of "1"
  EXPECT_EQ(r.run(), 1);
  EXPECT_NE(r.error.find("failed"), std::string::npos) << r.error;
  EXPECT_EQ(r.group.offsets[0], 1) << "past the passed-over dead letter, not past the failed one";

  app::Replay again(r.options, r.dlq, r.output, r.group);
  const std::atomic<bool> stop{false};
  ASSERT_EQ(again.run(stop, [](const app::ReplayTally&) {}), 0) << again.error();
  EXPECT_EQ(again.tally().read, 2u) << "resumed at offset 1";
  EXPECT_EQ(r.group.offsets[0], 3);
  EXPECT_EQ(r.written_values().back(), "2");
}

TEST(Replay, ADryRunCountsAndWritesAndCommitsNothing) {
  app::ReplayOptions o;
  o.dry_run = true;
  Replaying r(o);
  r.group.partitions = 2;
  r.dlq.append(0, "a", "0", dead_letter("INVALID_JSON", "in.sms"));
  r.dlq.append(1, "b", "1", dead_letter("INVALID_JSON", "in.sms"));
  r.dlq.append(1, "c", "2", dead_letter("TOO_DEEP", "in.email"));
  ASSERT_EQ(r.run(), 0);
  EXPECT_EQ(r.output.produce_calls(), 0);
  EXPECT_EQ(r.group.commits, 0);
  EXPECT_EQ(r.tally.read, 3u);
  EXPECT_EQ(r.tally.replayed, 3u);
  EXPECT_EQ((r.tally.selected[{"INVALID_JSON", "in.sms"}]), 2u);
  EXPECT_EQ((r.tally.selected[{"TOO_DEEP", "in.email"}]), 1u);
}

TEST(Replay, AFinishedReplayReadsNothingAgainUnlessFromTheBeginning) {
  Replaying r;
  r.output.auto_acknowledge = true;
  r.dlq.append(0, "a", "0", dead_letter("INVALID_JSON", "in.sms"));
  ASSERT_EQ(r.run(), 0);
  ASSERT_EQ(r.run(), 0);
  EXPECT_EQ(r.tally.read, 0u);
  EXPECT_EQ(r.output.written().size(), 1u);
  r.options.from_beginning = true;
  ASSERT_EQ(r.run(), 0);
  EXPECT_EQ(r.output.written().size(), 2u);
}

TEST(Replay, StartsAtTheFirstDeadLetterTheBrokerStillHolds) {
  Replaying r;
  r.output.auto_acknowledge = true;
  for (int i = 0; i < 4; ++i) r.dlq.append(0, "k", std::to_string(i), dead_letter("INVALID_JSON", "in.sms"));
  r.dlq.first_offset = 2;  // 0 and 1 removed by retention
  ASSERT_EQ(r.run(), 0) << r.error;
  EXPECT_EQ(r.written_values(), (std::vector<std::string>{"2", "3"}));
  EXPECT_EQ(r.tally.to_read, 2u);
}

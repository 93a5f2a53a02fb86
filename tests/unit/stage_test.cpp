// The run loop on fakes (tests/support/fake_io.h): offsets, redelivery, backpressure, revokes,
// exactly-once aborts and the catalogue swap, each without a broker.
#include "stage.h"

#include <gtest/gtest.h>
#include <spdlog/spdlog.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <set>
#include <thread>

#include "dlr/catalog/loader.h"
#include "fake_io.h"
#include "shipped_catalog.h"

using namespace dlr;
using fakes::FakeInput;
using fakes::FakeOutput;
using fakes::FakeTransactions;

namespace {

const FakeInput::Partition kP0{"in", 0};

using fixtures::shipped;

// The shipped catalogue with another version (its policy file differs by a comment).
std::shared_ptr<const catalog::Catalog> shipped_again() {
  const auto path = std::filesystem::temp_directory_path() / "stage_test_policy.yaml";
  std::filesystem::copy_file(DLR_SOURCE_DIR "/catalog/policy.yaml", path,
                             std::filesystem::copy_options::overwrite_existing);
  std::ofstream(path, std::ios::app) << "\n# another edition\n";
  return catalog::load_catalog(DLR_SOURCE_DIR "/catalog/codes.yaml", path.string()).catalog;
}

// A delivered report: routed to enriched and analytics, two records.
std::string delivered(int n) {
  return R"({"messageId":"m)" + std::to_string(n) + R"(","status":{"id":5,"groupId":3}})";
}
// Retryable (EXPIRED): enriched, retry and analytics, three records.
std::string expired(int n) {
  return R"({"messageId":"e)" + std::to_string(n) + R"(","status":{"id":15,"groupId":4}})";
}

struct Loop {
  explicit Loop(bool exactly_once = false, bool source_headers = false, int transaction_ms = 100,
                std::chrono::milliseconds pause_after = app::Backpressure::kPauseAfter) {
    spdlog::set_level(spdlog::level::off);
    cfg.inputs.push_back({"in", "sms"});
    cfg.exactly_once = exactly_once;
    cfg.outputs.source_headers = source_headers;
    cfg.transaction_ms = transaction_ms;
    cfg.shutdown_timeout_s = 1;
    cfg.stats_interval_s = 0;
    stage = std::make_unique<app::Stage>(cfg, shipped(), metrics,
                                         app::StageIo{input, output, &transactions, 100, {}, pause_after});
    input.assign({kP0});
  }
  void turns(int n = 1) {
    for (int i = 0; i < n; ++i) stage->turn();
  }
  [[nodiscard]] std::optional<int64_t> stored() const { return input.stored(kP0); }

  config::Config cfg;
  app::Metrics metrics{{"in"}};
  FakeInput input;
  FakeOutput output;
  FakeTransactions transactions;
  std::unique_ptr<app::Stage> stage;
};

}  // namespace

TEST(RunLoop, OffsetIsStoredOnlyAfterEveryOutputOfItsMessageIsAcknowledged) {
  Loop loop;
  loop.input.append("in", 0, delivered(1));
  loop.turns();
  ASSERT_EQ(loop.output.in_flight().size(), 2u);
  EXPECT_EQ(loop.stored(), std::nullopt);
  loop.output.acknowledge(1);
  loop.turns();
  EXPECT_EQ(loop.stored(), std::nullopt) << "one of two outputs acknowledged";
  loop.output.acknowledge(1);
  loop.turns();
  EXPECT_EQ(loop.stored(), 1);
}

TEST(RunLoop, OffsetsMoveOnlyContiguously) {
  Loop loop;
  for (int i = 0; i < 3; ++i) loop.input.append("in", 0, delivered(i));
  loop.turns();
  ASSERT_EQ(loop.output.in_flight().size(), 6u);
  // Acknowledge the second and third messages' outputs, not the first's.
  loop.output.fail_next(RD_KAFKA_RESP_ERR__MSG_TIMED_OUT);
  loop.output.fail_next(RD_KAFKA_RESP_ERR__MSG_TIMED_OUT);
  loop.output.acknowledge(4);
  loop.turns();
  EXPECT_EQ(loop.stored(), std::nullopt) << "offset 0 is not done: nothing after it may be stored";
  EXPECT_EQ(loop.output.written().size(), 4u);
}

TEST(RunLoop, FailedDeliveryIsProducedAgainAndHoldsThePartition) {
  Loop loop;
  loop.input.append("in", 0, delivered(1));
  loop.turns();
  const std::string first = loop.output.in_flight().front().value;
  loop.output.fail_next(RD_KAFKA_RESP_ERR__MSG_TIMED_OUT);
  loop.output.acknowledge(1);  // the other record
  loop.turns();
  EXPECT_EQ(loop.stored(), std::nullopt);
  EXPECT_EQ(loop.output.in_flight().size(), 0u);
  std::this_thread::sleep_for(std::chrono::milliseconds(600));  // the retry's backoff
  loop.turns();
  ASSERT_EQ(loop.output.in_flight().size(), 1u) << "the failed record was not produced again";
  EXPECT_EQ(loop.output.in_flight().front().value, first);
  EXPECT_EQ(loop.stored(), std::nullopt);
  loop.output.acknowledge();
  loop.turns();
  EXPECT_EQ(loop.stored(), 1);
  EXPECT_EQ(loop.metrics.produce_retries.load(), 1u);
}

TEST(RunLoop, FullQueueHoldsConsumptionAndResumes) {
  Loop loop;
  for (int i = 0; i < 10; ++i) loop.input.append("in", 0, delivered(i));
  loop.output.capacity = 3;  // room for one message and a half
  loop.turns();
  const int consumed = loop.input.consumed();
  EXPECT_LE(consumed, 2) << "consumption went on with a full queue";
  loop.turns(3);
  EXPECT_EQ(loop.input.consumed(), consumed) << "a held loop takes nothing new";
  EXPECT_TRUE(loop.metrics.paused.load());
  loop.output.capacity = 1000;
  loop.output.auto_acknowledge = true;
  loop.turns(10);
  EXPECT_EQ(loop.input.consumed(), 10);
  EXPECT_FALSE(loop.metrics.paused.load());
  EXPECT_EQ(loop.output.written().size(), 20u);
  EXPECT_EQ(loop.stored(), 10);
}

// Ten messages on a queue with room for one and a half, held past pause_after (20 ms).
void hold_until_paused(Loop& loop) {
  for (int i = 0; i < 10; ++i) loop.input.append("in", 0, delivered(i));
  loop.output.capacity = 3;
  loop.turns(2);  // full: holding back from the second turn
  std::this_thread::sleep_for(std::chrono::milliseconds(30));
  loop.turns();
}

TEST(RunLoop, PartitionsLostWhilePausedAreReadAgainWhenAssignedAfterTheRelease) {
  // The broker gone long enough to pause, and the group session with it: librdkafka keeps a lost
  // partition's pause, so without resuming it on its next assignment it would never be read.
  Loop loop(false, false, 100, std::chrono::milliseconds(20));
  hold_until_paused(loop);
  ASSERT_TRUE(loop.input.paused(kP0)) << "held past pause_after without pausing";
  loop.input.revoke({kP0}, true);
  loop.turns();
  loop.output.capacity = 1000;
  loop.output.auto_acknowledge = true;
  loop.turns(3);  // released with nothing assigned
  loop.input.assign({kP0});
  loop.turns(30);
  EXPECT_FALSE(loop.input.paused(kP0)) << "the partition came back paused";
  EXPECT_EQ(loop.stored(), 10) << "the partition was not read to its end after the assignment";
}

TEST(RunLoop, PartitionsAssignedWhilePausedStayPausedUntilTheRelease) {
  Loop loop(false, false, 100, std::chrono::milliseconds(20));
  hold_until_paused(loop);
  const FakeInput::Partition p1{"in", 1};
  loop.input.append("in", 1, delivered(100));
  loop.input.assign({p1});
  loop.turns();
  EXPECT_TRUE(loop.input.paused(p1)) << "a partition assigned during the pause was read";
  loop.output.capacity = 1000;
  loop.output.auto_acknowledge = true;
  loop.turns(30);
  EXPECT_FALSE(loop.input.paused(p1));
  EXPECT_EQ(loop.input.stored(p1), 1);
  EXPECT_EQ(loop.stored(), 10);
}

TEST(RunLoop, RevokeWaitsBoundedForOwedOutputsThenIgnoresLateAcknowledgements) {
  Loop loop;
  loop.input.append("in", 0, delivered(1));
  loop.input.append("in", 0, delivered(2));
  loop.turns();
  loop.output.acknowledge(2);  // the first message is done
  loop.turns();
  EXPECT_EQ(loop.stored(), 1);
  loop.input.revoke({kP0});
  loop.turns();  // the broker does not answer within the flush
  EXPECT_GT(loop.output.last_flush_timeout_ms(), 0);
  EXPECT_LE(loop.output.last_flush_timeout_ms(), 10000);
  EXPECT_EQ(loop.input.committed(kP0), 1) << "what was done is committed on revoke";
  loop.output.acknowledge();  // the second message's outputs, after the partition left
  loop.turns();
  EXPECT_EQ(loop.stored(), 1) << "a late acknowledgement moved a revoked partition";
  EXPECT_EQ(loop.stage->offsets().in_flight(), 0u);
}

TEST(RunLoop, RevokeCommitsOutputsAcknowledgedDuringItsFlush) {
  Loop loop;
  loop.input.append("in", 0, delivered(1));
  loop.turns();
  loop.output.flush_acknowledges = true;
  loop.input.revoke({kP0});
  loop.turns();
  EXPECT_EQ(loop.input.committed(kP0), 1);
}

TEST(RunLoop, ExactlyOnceAbortsAndRewindsOnAFailedRecord) {
  Loop loop(true);
  loop.input.append("in", 0, delivered(1));
  loop.input.append("in", 0, delivered(2));
  loop.turns();
  ASSERT_EQ(loop.transactions.begun, 1);
  EXPECT_EQ(loop.input.position(kP0), 2);
  loop.output.fail_next(RD_KAFKA_RESP_ERR__MSG_TIMED_OUT);
  loop.output.acknowledge();
  loop.turns();
  EXPECT_EQ(loop.transactions.aborted, 1);
  EXPECT_EQ(loop.transactions.committed, 0);
  EXPECT_EQ(loop.input.seeks(), 1);
  EXPECT_EQ(loop.input.position(kP0), 0);
  // Rewound to where the transaction began, and read again in a new one.
  loop.turns();
  EXPECT_EQ(loop.input.consumed(), 4);
  EXPECT_EQ(loop.transactions.begun, 2);
}

TEST(RunLoop, ExactlyOnceCommitsOutputsWithTheNextOffsets) {
  Loop loop(true);
  loop.input.append("in", 0, delivered(1));
  loop.output.auto_acknowledge = true;
  loop.turns();
  std::this_thread::sleep_for(std::chrono::milliseconds(110));  // the transaction period
  loop.turns();
  EXPECT_EQ(loop.transactions.committed, 1);
  ASSERT_EQ(loop.transactions.offsets_sent.size(), 1u);
  EXPECT_EQ(loop.transactions.offsets_sent[0], (std::pair<std::string, int64_t>{"in", 1}));
  EXPECT_EQ(loop.stored(), std::nullopt) << "exactly-once stores no offsets outside transactions";
}

// A retriable answer (a coordinator moving to another broker) is asked again, not aborted: the
// call goes on in the background, and an abort could race a commit the coordinator completes.
TEST(RunLoop, ExactlyOnceRetriesRetriableSendOffsetsAndCommitInsteadOfAborting) {
  Loop loop(true);
  loop.input.append("in", 0, delivered(1));
  loop.output.auto_acknowledge = true;
  loop.transactions.send_answers = {fakes::FakeTransactions::retriable()};
  loop.transactions.commit_answers = {fakes::FakeTransactions::retriable(),
                                      fakes::FakeTransactions::retriable()};
  loop.turns();
  std::this_thread::sleep_for(std::chrono::milliseconds(110));  // the transaction period
  loop.turns();
  EXPECT_EQ(loop.transactions.aborted, 0);
  EXPECT_EQ(loop.transactions.committed, 1);
  EXPECT_EQ(loop.transactions.send_calls, 2);
  EXPECT_EQ(loop.transactions.commit_calls, 3);
  EXPECT_EQ(loop.input.seeks(), 0) << "rewound a transaction that committed";
}

// processing.transaction_ms: a transaction commits once it has been open that long, not before.
TEST(RunLoop, ExactlyOnceCommitsAfterTheConfiguredPeriod) {
  Loop loop(true, false, 400);
  loop.input.append("in", 0, delivered(1));
  loop.output.auto_acknowledge = true;
  loop.turns(2);
  std::this_thread::sleep_for(std::chrono::milliseconds(150));  // past the default period
  loop.turns();
  EXPECT_EQ(loop.transactions.committed, 0) << "committed before its period";
  std::this_thread::sleep_for(std::chrono::milliseconds(300));
  loop.turns();
  EXPECT_EQ(loop.transactions.committed, 1);
}

TEST(RunLoop, CatalogueSwapHappensOnlyBetweenMessages) {
  Loop loop(false, /*source_headers=*/true);
  const auto next = shipped_again();
  ASSERT_NE(next->version(), shipped()->version());
  int calls = 0;
  loop.stage->set_catalog_feed(
      [&]() -> std::shared_ptr<const catalog::Catalog> { return ++calls == 3 ? next : nullptr; });
  for (int i = 0; i < 20; ++i)
    loop.input.append("in", 0, "{\"results\":[" + delivered(i) + "," + expired(i) + "]}");
  loop.output.capacity = 12;  // a few messages a turn, so the swap lands between two of them
  loop.output.auto_acknowledge = true;
  loop.turns(30);
  ASSERT_EQ(loop.output.written().size(), 20u * 5);
  std::map<std::string, std::set<std::string>> versions;  // per input offset
  std::vector<std::string> order;
  for (const auto& r : loop.output.written()) {
    const std::string source = r.header("dlr-source").value_or("?");
    if (versions[source].empty()) order.push_back(source);
    versions[source].insert(r.header("dlr-catalog-version").value_or("?"));
    EXPECT_NE(r.value.find(*versions[source].begin()), std::string::npos) << "the body names another version";
  }
  bool swapped = false;
  for (const auto& source : order) {
    ASSERT_EQ(versions[source].size(), 1u) << source << " was processed by two catalogues";
    const bool is_next = *versions[source].begin() == next->version();
    EXPECT_FALSE(swapped && !is_next) << "the version went back at " << source;
    swapped |= is_next;
  }
  EXPECT_TRUE(swapped);
  EXPECT_EQ(loop.metrics.catalog_version(), next->version());
  EXPECT_EQ(loop.metrics.catalog_reloads_applied.load(), 1u) << "the swap is what counts a reload applied";
}

TEST(RunLoop, RetryRecordsCarryTheNextAttempt) {
  Loop loop;
  loop.input.append("in", 0, expired(1), "k", {{"dlr-retry-attempt", "2"}});
  loop.output.auto_acknowledge = true;
  loop.turns(2);
  int retries = 0;
  for (const auto& r : loop.output.written()) {
    if (loop.output.name(r.topic) != "dlr.retry") continue;
    ++retries;
    EXPECT_EQ(r.header("dlr-retry-attempt"), "3");
    EXPECT_TRUE(r.header("dlr-retry-not-before").has_value());
  }
  EXPECT_EQ(retries, 1);
}

// DLT refuses promotional SMS from 9 PM to 10 AM India time (UTC+5:30 all year): whenever the
// refusal is seen, the next attempt is inside 10:00-21:00 IST, at least 5 minutes before closing,
// and no later than the next opening.
TEST(RunLoop, ARefusalOutsideSendingHoursIsRetriedInsideThem) {
  Loop loop;
  loop.input.append("in", 0,
                    R"({"messageId":"p1","status":{"id":6,"groupId":5},"error":{"id":4138,"groupId":2}})");
  loop.output.auto_acknowledge = true;
  const int64_t before = std::chrono::duration_cast<std::chrono::milliseconds>(
                             std::chrono::system_clock::now().time_since_epoch())
                             .count();
  loop.turns(2);
  int retries = 0;
  for (const auto& r : loop.output.written()) {
    if (loop.output.name(r.topic) != "dlr.retry") continue;
    ++retries;
    const int64_t not_before = std::stoll(std::string(r.header("dlr-retry-not-before").value_or("0")));
    constexpr int64_t kMinute = 60'000, kDay = 1440 * kMinute;
    EXPECT_GE(not_before, before);
    EXPECT_LE(not_before, before + kDay);
    const int64_t ist_minute = ((not_before + 330 * kMinute) % kDay) / kMinute;
    EXPECT_GE(ist_minute, 10 * 60) << not_before;
    EXPECT_LT(ist_minute, 21 * 60 - 5) << not_before;
    EXPECT_EQ(r.header("dlr-retry-max-attempts"), "2");
  }
  EXPECT_EQ(retries, 1);
}

TEST(RunLoop, AReportNamingAnUnknownChannelIsClassifiedAndCounted) {
  Loop loop;
  loop.input.append("in", 0,
                    R"({"messageId":"m1","channel":"CARRIER_PIGEON","status":{"id":5,"groupId":3}})");
  loop.input.append("in", 0, R"({"messageId":"m2","channel":"TIKTOK_BM","status":{"id":5,"groupId":3}})");
  loop.output.auto_acknowledge = true;
  loop.turns(2);
  EXPECT_EQ(loop.metrics.unknown_channels.load(), 1u);
  size_t enriched = 0;
  for (const auto& r : loop.output.written()) enriched += loop.output.name(r.topic) == "dlr.enriched";
  EXPECT_EQ(enriched, 2u);  // classified, not refused
}

// Enriched and analytics records are most of the output: by default they carry no headers (each
// is an allocation in librdkafka) and their JSON names the source; retry records keep theirs.
TEST(RunLoop, EnrichedAndAnalyticsRecordsNameTheirSourceInTheirJsonNotInHeaders) {
  for (const bool source_headers : {false, true}) {
    Loop loop(false, source_headers);
    loop.input.append("in", 0, delivered(1));
    loop.input.append("in", 0, expired(2));
    loop.output.auto_acknowledge = true;
    loop.turns(2);
    ASSERT_EQ(loop.output.written().size(), 5u);
    const std::string version(shipped()->version());
    for (const auto& r : loop.output.written()) {
      const std::string topic = loop.output.name(r.topic);
      const std::string source = r.value.find("\"m1\"") != std::string::npos ? "in/0/0" : "in/0/1";
      EXPECT_NE(r.value.find("\"source\":\"" + source + "\""), std::string::npos) << topic << ": " << r.value;
      EXPECT_NE(r.value.find("\"catalogVersion\":\"" + version + "\""), std::string::npos) << topic;
      const bool with_headers = source_headers || topic == "dlr.retry";
      EXPECT_EQ(r.header("dlr-source"), with_headers ? std::optional<std::string>(source) : std::nullopt)
          << topic;
      EXPECT_EQ(r.header("dlr-catalog-version"),
                with_headers ? std::optional<std::string>(version) : std::nullopt)
          << topic;
      if (!with_headers) {
        EXPECT_TRUE(r.headers.empty()) << topic;
      }
    }
  }
}

TEST(RunLoop, InvalidInputGoesToTheDeadLetterTopicWithItsSource) {
  Loop loop;
  loop.input.append("in", 0, "{\"results\":[", "key-1");
  loop.output.auto_acknowledge = true;
  loop.turns(2);
  ASSERT_EQ(loop.output.written().size(), 1u);
  const auto& r = loop.output.written()[0];
  EXPECT_EQ(loop.output.name(r.topic), "dlr.dlq");
  EXPECT_EQ(r.value, "{\"results\":[");
  EXPECT_EQ(r.key, "key-1");
  EXPECT_EQ(r.header("dlr-reason"), "INVALID_JSON");
  EXPECT_EQ(r.header("dlr-position"), "12");  // where the document breaks: its end
  EXPECT_EQ(r.header("dlr-source-topic"), "in");
  EXPECT_EQ(r.header("dlr-source-offset"), "0");
  EXPECT_EQ(loop.stored(), 1);
}

// A replayed message is counted, and when it fails again its dead letter says so: a replay passes
// over it instead of going round in a loop.
TEST(RunLoop, ReplayedInputIsCountedAndItsDeadLetterNamesTheReplay) {
  Loop loop;
  loop.input.append("in", 0, "{\"results\":[", "key-1", {{"dlr-replay-of", "dlr.dlq/0/7"}});
  loop.input.append("in", 0, delivered(1), "key-2", {{"dlr-replay-of", "dlr.dlq/0/8"}});
  loop.input.append("in", 0, "{\"results\":[", "key-3");
  loop.output.auto_acknowledge = true;
  loop.turns(2);
  ASSERT_EQ(loop.output.written().size(), 4u);
  EXPECT_EQ(loop.metrics.replayed_messages.load(), 2u);
  EXPECT_EQ(loop.output.written()[0].header("dlr-replay-of"), "dlr.dlq/0/7");
  for (size_t i = 1; i < 3; ++i)
    EXPECT_EQ(loop.output.written()[i].header("dlr-replay-of"), std::nullopt) << "only dead letters carry it";
  EXPECT_EQ(loop.output.written()[3].header("dlr-replay-of"), std::nullopt) << "input that was not replayed";
}

// An operator asks which error codes the reports carry: counted per code with the catalogue's
// name (the id for a code it lacks), NO_ERROR left out, served on /metrics.
TEST(RunLoop, ErrorCodesAreCountedByNameForMetrics) {
  Loop loop;
  const auto with_error = [](int n, const std::string& error) {
    return R"({"messageId":"x)" + std::to_string(n) + R"(","status":{"id":4,"groupId":2},"error":)" + error +
           "}";
  };
  loop.input.append("in", 0, with_error(1, R"({"id":7002,"groupId":1})"));
  loop.input.append("in", 0, with_error(2, R"({"id":7002,"groupId":1})"));
  loop.input.append("in", 0, with_error(3, R"({"id":987654,"groupId":1})"));
  loop.input.append("in", 0,
                    R"({"messageId":"d","status":{"id":5,"groupId":3},"error":{"id":0,"groupId":0}})");
  loop.turns();
  loop.output.acknowledge(static_cast<int>(loop.output.in_flight().size()));
  (void)loop.stage->shutdown();
  const std::string page = loop.metrics.render();
  EXPECT_NE(page.find("dlr_error_reports_total{family=\"chat\",error=\"EC_UNKNOWN_USER\"} 2\n"),
            std::string::npos)
      << page;
  EXPECT_NE(page.find("dlr_error_reports_total{family=\"unknown\",error=\"987654\"} 1\n"), std::string::npos);
  EXPECT_EQ(page.find("NO_ERROR"), std::string::npos);
}

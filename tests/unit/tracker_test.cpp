// The tracker's run loop on fakes (tests/support/fake_io.h) with real RocksDB stores in a
// temporary folder: offsets wait for both records, replays change nothing, a store is restored
// from the changelog before its partition is processed, and a failed changelog delivery is
// produced again with the newest state.
#include "tracker.h"

#include <gtest/gtest.h>
#include <spdlog/spdlog.h>

#include <filesystem>
#include <optional>
#include <thread>

#include "dlr/catalog/loader.h"
#include "dlr/kafka/properties.h"
#include "dlr/tracking/state.h"
#include "dlr/tracking/store.h"
#include "fake_io.h"
#include "shipped_catalog.h"
#include "state_dir_claim.h"

using namespace dlr;
using fakes::FakeInput;
using fakes::FakeOutput;
using fakes::FakePartitionReader;

namespace {

const FakeInput::Partition kP0{"dlr.analytics", 0};

using fixtures::shipped;

// An analytics record as the enrichment stage writes it.
std::string analytics(const std::string& id, int status_group, int status_id, bool final, const char* outcome,
                      int64_t time) {
  return R"({"time":)" + std::to_string(time) + R"(,"messageId":")" + id +
         R"(","channel":"sms","family":"general","statusGroupId":)" + std::to_string(status_group) +
         R"(,"statusId":)" + std::to_string(status_id) +
         R"(,"errorFamily":"general","errorId":0,"outcome":")" + outcome + R"(","final":)" +
         (final ? "true" : "false") +
         R"(,"rule":"r","unknownCode":false,"mccMnc":null,"price":null,"currency":null,"latencyMs":null,"catalogVersion":"v"})";
}
std::string to_operator(const std::string& id, int64_t t) {
  return analytics(id, 3, 2, false, "pending", t);
}
std::string to_handset(const std::string& id, int64_t t) {
  return analytics(id, 3, 5, true, "delivered", t);
}

struct Tracking {
  explicit Tracking(std::filesystem::path dir = fresh_dir(), bool exactly_once = false,
                    std::chrono::milliseconds pause_after = app::Backpressure::kPauseAfter)
      : state_dir(std::move(dir)) {
    spdlog::set_level(spdlog::level::off);
    cfg.tracking.state_dir = state_dir.string();
    cfg.shutdown_timeout_s = 1;
    cfg.exactly_once = exactly_once;
    app::TrackerIo io{input, output, changelog, 100};
    if (exactly_once) io.transactions = &transactions;
    io.pause_after = pause_after;
    tracker = std::make_unique<app::Tracker>(cfg, shipped(), metrics, io);
    input.assign({kP0});
  }
  // The state of `id` in partition 0's store, read after the tracker has stopped.
  std::optional<tracking::MessageState> stored_state(const std::string& id) {
    tracker.reset();
    tracking::StoreMemory memory(8 << 20);
    std::string error, value;
    auto store = tracking::PartitionStore::open((state_dir / "dlr.analytics-0").string(), memory, error);
    tracking::MessageState state;
    if (!store || !store->get(id, value) || !tracking::decode(value, state)) return std::nullopt;
    return state;
  }
  static std::filesystem::path fresh_dir() {
    static int n = 0;
    auto dir = std::filesystem::temp_directory_path() /
               ("dlr-tracker-test-" + std::to_string(::getpid()) + "-" + std::to_string(n++));
    std::filesystem::remove_all(dir);
    return dir;
  }
  void turns(int n = 1) {
    for (int i = 0; i < n; ++i) tracker->turn();
  }
  // The records written to one topic, in order.
  std::vector<fakes::Produced> on(const std::string& topic) const {
    std::vector<fakes::Produced> out;
    for (const auto& p : output.written())
      if (output.name(p.topic) == topic) out.push_back(p);
    return out;
  }
  config::Config cfg;
  std::filesystem::path state_dir;
  app::TrackerMetrics metrics;
  FakeInput input;
  FakeOutput output;
  FakePartitionReader changelog;
  fakes::FakeTransactions transactions;
  std::unique_ptr<app::Tracker> tracker;
};

// A restarted tracker must be the same transactional producer as the one before it (so the open
// transaction of a killed predecessor ends at once), and two trackers must never share a folder.
TEST(StateDirClaim, KeepsOneInstanceIdPerFolderAndRefusesASecondHolder) {
  const auto dir = std::filesystem::temp_directory_path() / ("dlr-claim-" + std::to_string(::getpid()));
  std::filesystem::remove_all(dir);
  std::string error;
  std::string first_id;
  {
    const auto claim = app::StateDirClaim::claim(dir.string(), error);
    ASSERT_TRUE(claim) << error;
    first_id = claim->instance_id();
    EXPECT_EQ(first_id.size(), 32u);
    EXPECT_FALSE(app::StateDirClaim::claim(dir.string(), error));
    EXPECT_NE(error.find("in use by another tracker"), std::string::npos) << error;
  }
  const auto again = app::StateDirClaim::claim(dir.string(), error);
  ASSERT_TRUE(again) << error;
  EXPECT_EQ(again->instance_id(), first_id);
  kafka::ClientSettings settings{"b:1", "g", true, {}, {}, {}, "g-" + again->instance_id()};
  EXPECT_EQ(kafka::property(kafka::producer_properties(settings), "transactional.id"), "g-" + first_id);
  settings.transactional_id.clear();
  EXPECT_NE(kafka::property(kafka::producer_properties(settings), "transactional.id").rfind("g-", 0),
            std::string::npos);
  std::filesystem::remove_all(dir);
}

// A static member (group.instance.id) restarted under the same id must be the same transactional
// producer, so that it fences its killed predecessor and ends at once the transaction left open:
// otherwise its partitions wait for transaction.timeout.ms. Without one, each process is its own.
TEST(ClientProperties, AStaticMemberKeepsItsTransactionalIdAcrossRestarts) {
  kafka::ClientSettings settings{"b:1", "g", true, {}, {{"group.instance.id", "pod-7"}}, {}, {}};
  EXPECT_EQ(kafka::property(kafka::producer_properties(settings), "transactional.id"), "g-pod-7");
  EXPECT_EQ(kafka::property(kafka::consumer_properties(settings), "group.instance.id"), "pod-7");
  settings.transactional_id = "g-explicit";
  EXPECT_EQ(kafka::property(kafka::producer_properties(settings), "transactional.id"), "g-explicit");
  settings.transactional_id.clear();
  settings.consumer.clear();
  const std::string a = kafka::property(kafka::producer_properties(settings), "transactional.id");
  EXPECT_NE(a, "g-");
  EXPECT_NE(a, kafka::property(kafka::producer_properties(settings), "transactional.id"));
}

// The lag reader counts every record, as Kafka's tools do, even under exactly-once, and never
// commits for the group it reads.
TEST(ClientProperties, TheLagReaderReadsUncommittedAndNeverCommits) {
  const kafka::ClientSettings settings{"b:1", "g", true, {}, {{"enable.auto.commit", "true"}}, {}, {}};
  const auto p = kafka::lag_properties(settings);
  EXPECT_EQ(kafka::property(p, "isolation.level"), "read_uncommitted");
  EXPECT_EQ(kafka::property(p, "enable.auto.commit"), "false");
  EXPECT_EQ(kafka::property(p, "group.id"), "g");
}

TEST(TrackerLoop, AnOffsetIsStoredOnlyAfterItsChangelogAndStateRecordsAreAcknowledged) {
  Tracking t;
  t.input.append("dlr.analytics", 0, to_operator("m1", 10), "m1");
  t.turns();
  ASSERT_EQ(t.output.in_flight().size(), 2u);
  t.output.acknowledge(1);  // the changelog record only
  t.turns(2);
  std::this_thread::sleep_for(std::chrono::milliseconds(60));
  t.turns();
  EXPECT_FALSE(t.input.stored(kP0).has_value());
  t.output.acknowledge();
  t.turns();
  std::this_thread::sleep_for(std::chrono::milliseconds(60));
  t.turns();
  EXPECT_EQ(t.input.stored(kP0), 1);
  ASSERT_EQ(t.on(t.cfg.tracking.changelog).size(), 1u);
  EXPECT_EQ(t.on(t.cfg.tracking.changelog)[0].partition, 0);  // the input's partition, not the key's
}

TEST(TrackerLoop, ARecordReadAgainAfterARestartChangesNothingAndWritesItsStateOnceMore) {
  const auto dir = Tracking::fresh_dir();
  std::vector<fakes::Produced> changelog;
  std::string first_state;
  {
    Tracking first(dir);
    first.output.auto_acknowledge = true;
    first.input.append("dlr.analytics", 0, to_operator("m1", 10), "m1");
    first.turns(2);
    std::this_thread::sleep_for(std::chrono::milliseconds(60));
    first.turns();
    ASSERT_EQ(first.tracker->shutdown(), 0);
    changelog = first.on(first.cfg.tracking.changelog);
    first_state = first.on(first.cfg.tracking.output).at(0).value;
  }
  Tracking again(dir);  // the same store; the input read again from offset 0, as after a crash
  for (const auto& r : changelog) again.changelog.append(0, r.key, r.value);
  again.output.auto_acknowledge = true;
  again.input.append("dlr.analytics", 0, to_operator("m1", 10), "m1");
  again.turns(3);
  // The state record may not have reached the broker before the crash: it is written again, as it was.
  EXPECT_TRUE(again.on(again.cfg.tracking.changelog).empty());
  ASSERT_EQ(again.on(again.cfg.tracking.output).size(), 1u);
  EXPECT_EQ(again.on(again.cfg.tracking.output)[0].value, first_state);
  EXPECT_EQ(again.metrics.effects[static_cast<size_t>(tracking::Effect::replayed)].load(), 1u);
}

TEST(TrackerLoop, AStoreIsRestoredFromTheChangelogBeforeItsPartitionIsProcessed) {
  Tracking first;
  first.output.auto_acknowledge = true;
  first.input.append("dlr.analytics", 0, to_operator("m1", 10), "m1");
  first.input.append("dlr.analytics", 0, to_handset("m1", 20), "m1");
  first.turns(3);
  const auto written = first.on(first.cfg.tracking.changelog);
  ASSERT_EQ(written.size(), 2u);

  Tracking restored;  // another folder: nothing local, only the changelog
  for (const auto& r : written) restored.changelog.append(0, r.key, r.value);
  restored.output.auto_acknowledge = true;
  restored.input.append("dlr.analytics", 0, to_operator("m1", 10), "m1");  // offsets 0 and 1: already applied
  restored.input.append("dlr.analytics", 0, to_handset("m1", 20), "m1");
  restored.input.append("dlr.analytics", 0, to_operator("m1", 5), "m1");  // a late intermediate
  restored.turns(3);
  EXPECT_EQ(restored.changelog.starts(), 1);
  const auto states = restored.on(restored.cfg.tracking.output);
  // The state once more for the last record it had applied, then the late intermediate's change.
  ASSERT_EQ(states.size(), 2u);
  EXPECT_NE(states[0].value.find(R"("reports":2)"), std::string::npos) << states[0].value;
  EXPECT_NE(states[1].value.find(R"("outcome":"delivered")"), std::string::npos) << states[1].value;
  EXPECT_NE(states[1].value.find(R"("reports":3)"), std::string::npos) << states[1].value;
  EXPECT_NE(states[1].value.find(R"("late":1)"), std::string::npos) << states[1].value;
}

TEST(TrackerLoop, AFailedChangelogDeliveryIsProducedAgainWithTheNewestStateAndHoldsTheOffset) {
  Tracking t;
  t.input.append("dlr.analytics", 0, to_operator("m1", 10), "m1");
  t.turns();
  t.output.fail_next(RD_KAFKA_RESP_ERR__MSG_TIMED_OUT);  // the changelog record
  t.output.acknowledge(1);                               // the state record
  t.turns(2);
  std::this_thread::sleep_for(std::chrono::milliseconds(60));
  t.turns();
  EXPECT_FALSE(t.input.stored(kP0).has_value());
  t.output.auto_acknowledge = true;
  t.turns(2);
  std::this_thread::sleep_for(std::chrono::milliseconds(60));
  t.turns();
  EXPECT_EQ(t.input.stored(kP0), 1);
  ASSERT_EQ(t.on(t.cfg.tracking.changelog).size(), 1u);
  tracking::MessageState state;
  ASSERT_TRUE(tracking::decode(t.on(t.cfg.tracking.changelog)[0].value, state));
  EXPECT_EQ(state.status_id, 2);
}

TEST(TrackerLoop, AnUnreadableRecordGoesToTheDeadLetterTopicWithItsReason) {
  Tracking t;
  t.output.auto_acknowledge = true;
  t.input.append("dlr.analytics", 0, "not json", "k");
  t.input.append("dlr.analytics", 0, to_operator("m1", 10), "m1");
  t.turns(2);
  const auto dead = t.on(t.cfg.outputs.dead_letter);
  ASSERT_EQ(dead.size(), 1u);
  EXPECT_EQ(dead[0].value, "not json");
  EXPECT_EQ(dead[0].header("dlr-reason"), "INVALID_JSON");
  EXPECT_EQ(dead[0].header("dlr-source"), "dlr.analytics/0/0");
  EXPECT_EQ(t.on(t.cfg.tracking.output).size(), 1u);  // the stream flows on
}

TEST(TrackerLoop, AFullProducerQueueHoldsConsumptionUntilItDrains) {
  Tracking t;  // holds back from 100 records queued
  for (int i = 0; i < 200; ++i) {
    std::string id = "m";  // appended, not "m" + ...: GCC 12 warns falsely on that (-Wrestrict)
    id += std::to_string(i);
    t.input.append("dlr.analytics", 0, to_operator(id, 10), id);
  }
  t.turns(3);
  const int taken = t.input.consumed();
  EXPECT_LT(taken, 200);
  EXPECT_GE(t.output.queue_length(), 100);
  t.turns(3);
  EXPECT_EQ(t.input.consumed(), taken);
  EXPECT_TRUE(t.metrics.paused.load());
  t.output.auto_acknowledge = true;
  t.turns(10);
  EXPECT_EQ(t.input.consumed(), 200);
  EXPECT_FALSE(t.metrics.paused.load());
}

TEST(TrackerLoop, AChangelogLeaderMovingDuringTheRestoreIsWaitedFor) {
  Tracking t;
  t.changelog.end_offset_errors = {RD_KAFKA_RESP_ERR_NOT_LEADER_FOR_PARTITION, RD_KAFKA_RESP_ERR__TRANSPORT};
  t.output.auto_acknowledge = true;
  t.input.append("dlr.analytics", 0, to_operator("m1", 10), "m1");
  t.turns(3);
  EXPECT_EQ(t.tracker->fatal(), "") << "a leader change stopped the tracker";
  EXPECT_EQ(t.changelog.end_offset_calls, 3);
  EXPECT_EQ(t.on(t.cfg.tracking.output).size(), 1u) << "the partition was not processed after the restore";
}

TEST(TrackerLoop, AMissingChangelogStopsTheTrackerAtOnceSayingHowToCreateIt) {
  Tracking t;
  t.changelog.end_offset_errors = {RD_KAFKA_RESP_ERR_UNKNOWN_TOPIC_OR_PART};
  t.input.append("dlr.analytics", 0, to_operator("m1", 10), "m1");
  t.turns();
  EXPECT_NE(t.tracker->fatal().find("create it compacted"), std::string::npos) << t.tracker->fatal();
  EXPECT_EQ(t.changelog.end_offset_calls, 1);
}

TEST(TrackerLoop, APartitionLostWhilePausedIsReadAgainWhenAssignedAfterTheRelease) {
  // librdkafka keeps a lost partition's pause into its next assignment.
  Tracking t(Tracking::fresh_dir(), false, std::chrono::milliseconds(20));
  for (int i = 0; i < 200; ++i) {
    std::string id = "m";
    id += std::to_string(i);
    t.input.append("dlr.analytics", 0, to_operator(id, 10), id);
  }
  t.turns(3);
  std::this_thread::sleep_for(std::chrono::milliseconds(30));
  t.turns();
  ASSERT_TRUE(t.input.paused(kP0)) << "held past pause_after without pausing";
  t.input.revoke({kP0}, true);
  t.turns();
  t.output.auto_acknowledge = true;
  t.turns(3);  // released with nothing assigned
  t.input.assign({kP0});
  t.turns(20);
  std::this_thread::sleep_for(std::chrono::milliseconds(60));  // offsets are stored periodically
  t.turns();
  EXPECT_FALSE(t.input.paused(kP0)) << "the partition came back paused";
  EXPECT_EQ(t.input.stored(kP0), 200) << "the partition was not read to its end after the assignment";
}

constexpr auto kTransactionPeriod = app::Transaction::kDefaultPeriod + std::chrono::milliseconds(10);

TEST(TrackerLoop, ExactlyOnceCommitsChangelogStateAndOffsetsInOneTransaction) {
  Tracking t(Tracking::fresh_dir(), true);
  t.output.auto_acknowledge = true;
  t.input.append("dlr.analytics", 0, to_operator("m1", 10), "m1");
  t.input.append("dlr.analytics", 0, to_handset("m1", 20), "m1");
  t.turns(2);
  EXPECT_EQ(t.transactions.begun, 1);
  EXPECT_EQ(t.on(t.cfg.tracking.changelog).size(), 2u);
  EXPECT_EQ(t.on(t.cfg.tracking.output).size(), 2u);
  std::this_thread::sleep_for(kTransactionPeriod);
  t.turns();
  EXPECT_EQ(t.transactions.committed, 1);
  ASSERT_EQ(t.transactions.offsets_sent.size(), 1u);
  EXPECT_EQ(t.transactions.offsets_sent[0], (std::pair<std::string, int64_t>{"dlr.analytics", 2}));
  EXPECT_FALSE(t.input.stored(kP0).has_value()) << "exactly-once stores no offsets outside transactions";
  ASSERT_EQ(t.tracker->shutdown(), 0);
  const auto state = t.stored_state("m1");
  ASSERT_TRUE(state.has_value());
  EXPECT_EQ(state->status_id, 5);
  EXPECT_EQ(state->total, 2u);
}

TEST(TrackerLoop, ExactlyOnceAnAbortLeavesNoUncommittedChangeInTheStore) {
  Tracking t(Tracking::fresh_dir(), true);
  t.output.auto_acknowledge = true;
  t.input.append("dlr.analytics", 0, to_operator("m1", 10), "m1");
  t.turns();
  std::this_thread::sleep_for(kTransactionPeriod);
  t.turns();
  ASSERT_EQ(t.transactions.committed, 1);  // m1 at the operator, committed

  t.output.auto_acknowledge = false;
  t.input.append("dlr.analytics", 0, to_handset("m1", 20), "m1");
  t.turns();
  t.output.acknowledge(1);  // the handset report's changelog record: acknowledged, not committed
  t.turns();
  t.output.fail_next(RD_KAFKA_RESP_ERR__MSG_TIMED_OUT);  // its state record
  t.output.acknowledge();
  std::this_thread::sleep_for(kTransactionPeriod);
  t.turns();
  EXPECT_EQ(t.transactions.aborted, 1);
  EXPECT_EQ(t.transactions.committed, 1);
  EXPECT_EQ(t.input.seeks(), 1);
  EXPECT_EQ(t.input.position(kP0), 1);  // rewound to where the aborted transaction began
  ASSERT_EQ(t.tracker->shutdown(), 0);
  const auto state = t.stored_state("m1");
  ASSERT_TRUE(state.has_value());
  EXPECT_EQ(state->status_id, 2) << "the aborted handset report reached the store";
  EXPECT_EQ(state->total, 1u);
}

TEST(TrackerLoop, ExactlyOnceARecordReadAgainAfterAnAbortIsCountedOnce) {
  Tracking t(Tracking::fresh_dir(), true);
  t.input.append("dlr.analytics", 0, to_operator("m1", 10), "m1");
  t.turns();
  t.output.fail_next(RD_KAFKA_RESP_ERR__MSG_TIMED_OUT);
  t.output.acknowledge();
  std::this_thread::sleep_for(kTransactionPeriod);
  t.turns();
  ASSERT_EQ(t.transactions.aborted, 1);
  t.output.auto_acknowledge = true;
  t.turns(2);  // read again from offset 0
  std::this_thread::sleep_for(kTransactionPeriod);
  t.turns();
  EXPECT_EQ(t.transactions.committed, 1);
  const auto states = t.on(t.cfg.tracking.output);
  ASSERT_FALSE(states.empty());
  EXPECT_NE(states.back().value.find(R"("reports":1)"), std::string::npos) << states.back().value;
  ASSERT_EQ(t.tracker->shutdown(), 0);
  EXPECT_EQ(t.stored_state("m1")->total, 1u);
}

}  // namespace

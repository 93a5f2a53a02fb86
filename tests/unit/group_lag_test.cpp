// The group's lag as Kafka's tools count it, on every input partition (assigned here or not), on
// the fake GroupOffsets of tests/support/fake_io.h.
#include "group_lag.h"

#include <gtest/gtest.h>

#include <map>

#include "fake_io.h"

using namespace dlr;
using fakes::FakeGroupOffsets;

namespace {

std::map<std::pair<std::string, int32_t>, int64_t> lag_of(app::Metrics& metrics) {
  std::map<std::pair<std::string, int32_t>, int64_t> out;
  std::lock_guard lock(metrics.lag_mutex);
  for (const auto& p : metrics.lag) out[{p.topic, p.partition}] = p.lag;
  return out;
}

struct Lagging : testing::Test {
  Lagging() {
    group.logs = {{{"in.sms", 0}, {0, 500}}, {{"in.sms", 1}, {100, 300}}, {{"in.email", 0}, {0, 40}}};
  }
  app::GroupLag lag(bool from_earliest = true) {
    return app::GroupLag({{"in.sms", "in.email"}, from_earliest, std::chrono::seconds(5), 1000}, group,
                         metrics);
  }
  FakeGroupOffsets group;
  app::Metrics metrics{{"in.sms", "in.email"}};
};

// After a clean stop everything is committed: the lag is 0 from the first sample, not the size of
// the topics (the next offset to consume is not known before the first fetch; the group's is).
TEST_F(Lagging, IsTheHighWatermarkMinusTheGroupsCommittedOffset) {
  group.group = {{{"in.sms", 0}, 500}, {{"in.sms", 1}, 250}, {{"in.email", 0}, 40}};
  auto monitor = lag();
  ASSERT_TRUE(monitor.sample());
  const auto got = lag_of(metrics);
  EXPECT_EQ(got.size(), 3u);
  EXPECT_EQ(got.at({"in.sms", 0}), 0);
  EXPECT_EQ(got.at({"in.sms", 1}), 50);
  EXPECT_EQ(got.at({"in.email", 0}), 0);
}

// A partition the group never committed is read from where the consumer will start.
TEST_F(Lagging, APartitionNeverCommittedCountsFromWhereTheGroupWillStart) {
  group.group = {{{"in.sms", 0}, 200}};
  auto earliest = lag(true);
  ASSERT_TRUE(earliest.sample());
  EXPECT_EQ(lag_of(metrics).at({"in.sms", 1}), 200);  // from the log's start (100), not from 0
  EXPECT_EQ(lag_of(metrics).at({"in.email", 0}), 40);
  auto latest = lag(false);
  ASSERT_TRUE(latest.sample());
  EXPECT_EQ(lag_of(metrics).at({"in.sms", 1}), 0);
  EXPECT_EQ(lag_of(metrics).at({"in.sms", 0}), 300);
}

// A sample the brokers do not answer keeps the last figures (a gap would blind the autoscaler) and
// is counted.
TEST_F(Lagging, AFailedSampleKeepsTheLastFiguresAndIsCounted) {
  group.group = {{{"in.sms", 0}, 400}};
  auto monitor = lag();
  ASSERT_TRUE(monitor.sample());
  group.answer = RD_KAFKA_RESP_ERR__TIMED_OUT;
  group.group = {{{"in.sms", 0}, 500}};
  EXPECT_FALSE(monitor.sample());
  EXPECT_EQ(lag_of(metrics).at({"in.sms", 0}), 100);
  EXPECT_EQ(metrics.lag_sample_errors.load(), 1u);
  EXPECT_NE(metrics.render().find("dlr_consumer_lag_errors_total 1"), std::string::npos);
  group.answer = RD_KAFKA_RESP_ERR_NO_ERROR;
  ASSERT_TRUE(monitor.sample());
  EXPECT_EQ(lag_of(metrics).at({"in.sms", 0}), 0);
}

// The thread samples at once on start, then every interval, and serves every partition.
TEST_F(Lagging, TheThreadSamplesAtOnceAndServesEveryPartition) {
  group.group = {{{"in.sms", 0}, 480}};
  auto monitor = lag();
  monitor.start();
  for (int i = 0; i < 200 && lag_of(metrics).empty(); ++i)
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  monitor.stop();
  const std::string page = metrics.render();
  EXPECT_NE(page.find("dlr_consumer_lag{topic=\"in.sms\",partition=\"0\"} 20\n"), std::string::npos) << page;
  EXPECT_NE(page.find("dlr_consumer_lag{topic=\"in.sms\",partition=\"1\"} 200\n"), std::string::npos) << page;
  EXPECT_NE(page.find("dlr_consumer_lag{topic=\"in.email\",partition=\"0\"} 40\n"), std::string::npos)
      << page;
}

}  // namespace

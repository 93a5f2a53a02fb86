// PartitionProgress: the offset to commit moves only past messages whose outputs are all
// acknowledged, contiguously, and a revoke makes old acknowledgements harmless.
#include "dlr/kafka/progress.h"

#include <gtest/gtest.h>

using dlr::kafka::PartitionProgress;

TEST(Progress, NothingCommittableUntilTheFirstMessageIsDone) {
  PartitionProgress p;
  const auto t = p.begin(10, 2);
  EXPECT_EQ(p.committable(), -1);
  EXPECT_FALSE(p.complete(t));
  EXPECT_EQ(p.committable(), -1);
  EXPECT_TRUE(p.complete(t));
  EXPECT_EQ(p.committable(), 11);
  EXPECT_EQ(p.in_flight(), 0u);
}

TEST(Progress, ALaterMessageDoneFirstDoesNotMoveTheOffsetPastAnEarlierOne) {
  PartitionProgress p;
  const auto first = p.begin(5, 1);
  const auto second = p.begin(6, 1);
  const auto third = p.begin(7, 3);
  EXPECT_FALSE(p.complete(second));
  EXPECT_EQ(p.committable(), -1);
  EXPECT_TRUE(p.complete(first));
  EXPECT_EQ(p.committable(), 7);  // 5 and 6 done, 7 still waits
  EXPECT_EQ(p.oldest_pending(), 7);
  EXPECT_FALSE(p.complete(third));
  EXPECT_FALSE(p.complete(third));
  EXPECT_TRUE(p.complete(third));
  EXPECT_EQ(p.committable(), 8);
}

TEST(Progress, AMessageWithoutOutputsIsDoneAtOnceButWaitsForEarlierOnes) {
  PartitionProgress p;
  const auto first = p.begin(0, 1);
  p.begin(1, 0);  // a skipped "seen" event
  EXPECT_EQ(p.committable(), -1);
  EXPECT_TRUE(p.complete(first));
  EXPECT_EQ(p.committable(), 2);
  p.begin(2, 0);
  EXPECT_EQ(p.committable(), 3);
}

TEST(Progress, AFailedOutputHoldsThePartitionBack) {
  PartitionProgress p;
  const auto stuck = p.begin(0, 2);
  for (int64_t offset = 1; offset < 100; ++offset) p.complete(p.begin(offset, 1));
  EXPECT_TRUE(p.holds(stuck));
  p.complete(stuck);  // one of two acknowledged; the other failed and is being produced again
  EXPECT_EQ(p.committable(), -1);
  EXPECT_EQ(p.in_flight(), 100u);
  EXPECT_TRUE(p.complete(stuck));
  EXPECT_EQ(p.committable(), 100);
}

TEST(Progress, AcknowledgementsFromBeforeARevokeAreIgnored) {
  PartitionProgress p;
  const auto old = p.begin(40, 1);
  p.reset();
  EXPECT_FALSE(p.holds(old));
  const auto fresh = p.begin(40, 1);
  EXPECT_FALSE(p.complete(old));  // must not complete the new message at the same offset
  EXPECT_EQ(p.committable(), -1);
  EXPECT_TRUE(p.complete(fresh));
  EXPECT_EQ(p.committable(), 41);
}

TEST(Progress, ExtraAcknowledgementsAreHarmless) {
  PartitionProgress p;
  const auto t = p.begin(0, 1);
  const auto next = p.begin(1, 1);
  EXPECT_TRUE(p.complete(t));
  EXPECT_FALSE(p.complete(t));  // t is gone: nothing happens
  EXPECT_EQ(p.committable(), 1);
  EXPECT_TRUE(p.holds(next));
}

// The tracker's RocksDB store: atomic writes with their changelog checkpoint, reopening, deletes
// and the index by last report time.
#include "dlr/tracking/store.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <string>

namespace dlr::tracking {
namespace {

class Store : public ::testing::Test {
 protected:
  void SetUp() override {
    dir = std::filesystem::temp_directory_path() /
          ("dlr-store-" + std::to_string(::testing::UnitTest::GetInstance()->random_seed()) + "-" +
           ::testing::UnitTest::GetInstance()->current_test_info()->name());
    std::filesystem::remove_all(dir);
    reopen();
  }
  void TearDown() override {
    store.reset();
    std::filesystem::remove_all(dir);
  }
  void reopen() {
    store.reset();
    std::string error;
    store = PartitionStore::open(dir.string(), memory, error);
    ASSERT_TRUE(store) << error;
  }
  void apply(StoreWrite write) {
    std::string error;
    ASSERT_TRUE(store->apply(write, error)) << error;
  }
  std::filesystem::path dir;
  StoreMemory memory{8 << 20};
  std::unique_ptr<PartitionStore> store;
};

TEST_F(Store, KeepsWritesAndTheirCheckpointAcrossAReopen) {
  EXPECT_EQ(store->checkpoint(), -1);
  apply({{{"m1", "state-1", 100, -1}, {"m2", "state-2", 200, -1}}, 41});
  reopen();
  EXPECT_EQ(store->checkpoint(), 41);
  std::string value;
  ASSERT_TRUE(store->get("m1", value));
  EXPECT_EQ(value, "state-1");
  ASSERT_TRUE(store->get("m2", value));
  EXPECT_EQ(value, "state-2");
  EXPECT_FALSE(store->get("m3", value));
}

TEST_F(Store, ADeleteRemovesTheStateAndItsIndexEntry) {
  apply({{{"m1", "state-1", 100, -1}}, 1});
  apply({{{"m1", "", 0, 100}}, 2});
  std::string value;
  EXPECT_FALSE(store->get("m1", value));
  EXPECT_TRUE(store->expired(1000, 10).empty());
  EXPECT_EQ(store->checkpoint(), 2);
}

constexpr int64_t kMinute = 60'000;

TEST_F(Store, ListsExpiredKeysOldestFirstFollowingUpdates) {
  apply(
      {{{"old", "s", 1 * kMinute, -1}, {"mid", "s", 3 * kMinute + 5, -1}, {"new", "s", 9 * kMinute, -1}}, 1});
  apply({{{"old", "s2", 95 * kMinute, 1 * kMinute}}, 2});  // a later report moves it in the index
  const auto expired = store->expired(10 * kMinute, 10);
  ASSERT_EQ(expired.size(), 2u);
  EXPECT_EQ(expired[0].first, "mid");
  EXPECT_EQ(expired[0].second, 3 * kMinute);  // the index position: to the minute
  EXPECT_EQ(expired[1].first, "new");
  EXPECT_EQ(store->expired(10 * kMinute, 1).size(), 1u);
}

TEST_F(Store, ChangesWithinOneMinuteKeepOneIndexEntry) {
  apply({{{"m1", "s1", 4 * kMinute + 100, -1}}, 1});
  apply({{{"m1", "s2", 4 * kMinute + 900, 4 * kMinute + 100}}, 2});
  apply({{{"m1", "s3", 5 * kMinute + 1, 4 * kMinute + 900}}, 3});
  const auto expired = store->expired(10 * kMinute, 10);
  ASSERT_EQ(expired.size(), 1u);
  EXPECT_EQ(expired[0].second, 5 * kMinute);
  apply({{{"m1", "", 0, expired[0].second}}, 4});
  EXPECT_TRUE(store->expired(10 * kMinute, 10).empty());
}

TEST_F(Store, ADestroyedStoreReopensEmpty) {
  apply({{{"m1", "state-1", 100, -1}}, 7});
  store.reset();
  std::string error;
  ASSERT_TRUE(PartitionStore::destroy(dir.string(), error)) << error;
  reopen();
  EXPECT_EQ(store->checkpoint(), -1);
  std::string value;
  EXPECT_FALSE(store->get("m1", value));
}

}  // namespace
}  // namespace dlr::tracking

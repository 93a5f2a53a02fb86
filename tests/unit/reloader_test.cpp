// The catalogue reloader without Kafka: what it publishes for good, unchanged and broken files,
// and that the watch loads a change only once the files have settled.
#include "reloader.h"

#include <gtest/gtest.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <thread>

#include "dlr/catalog/loader.h"

namespace fs = std::filesystem;
using dlr::app::CatalogReloader;

namespace {

std::string read(const fs::path& p) {
  std::ifstream in(p);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

void write(const fs::path& p, const std::string& text) {
  std::ofstream(p, std::ios::trunc) << text;
}

class Reloader : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() / ("dlr-reloader-" + std::to_string(::getpid()) + "-" +
                                        ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::create_directories(dir_);
    original_ = read(fs::path(DLR_SOURCE_DIR) / "catalog/codes.yaml");
    write(codes(), original_);
    fs::copy_file(fs::path(DLR_SOURCE_DIR) / "catalog/policy.yaml", policy(),
                  fs::copy_options::overwrite_existing);
    auto loaded = dlr::catalog::load_catalog(codes(), policy());
    ASSERT_TRUE(loaded.catalog);
    initial_ = loaded.catalog;
  }
  void TearDown() override { fs::remove_all(dir_); }

  std::string codes() const { return (dir_ / "codes.yaml").string(); }
  std::string policy() const { return (dir_ / "policy.yaml").string(); }
  std::string changed(const std::string& description) const {
    std::string text = original_;
    const std::string marker = "Message has been successfully delivered to the recipient's handset";
    text.replace(text.find(marker), marker.size(), description);
    return text;
  }

  fs::path dir_;
  std::string original_;
  std::shared_ptr<const dlr::catalog::Catalog> initial_;
  dlr::app::Metrics metrics_{{"in"}};
  std::atomic<bool> requested_{false};
};

}  // namespace

TEST_F(Reloader, PublishesANewCatalogueOnceAndLeavesCountingToTheSwap) {
  CatalogReloader reloader({codes(), policy(), {}}, *initial_, metrics_, requested_);
  EXPECT_EQ(reloader.take(), nullptr);
  write(codes(), changed("changed once"));
  EXPECT_EQ(reloader.reload("test"), CatalogReloader::Result::applied);
  const auto next = reloader.take();
  ASSERT_NE(next, nullptr);
  EXPECT_NE(next->version(), initial_->version());
  EXPECT_EQ(reloader.take(), nullptr) << "handed over twice";
  EXPECT_EQ(metrics_.catalog_reloads_applied.load(), 0u) << "counted before the stage swapped it in";
}

TEST_F(Reloader, SameFilesChangeNothing) {
  CatalogReloader reloader({codes(), policy(), {}}, *initial_, metrics_, requested_);
  EXPECT_EQ(reloader.reload("test"), CatalogReloader::Result::unchanged);
  EXPECT_EQ(reloader.take(), nullptr);
  EXPECT_EQ(metrics_.catalog_reloads_unchanged.load(), 1u);
}

TEST_F(Reloader, ABrokenCatalogueIsRefusedAndTheLastGoodStays) {
  CatalogReloader reloader({codes(), policy(), {}}, *initial_, metrics_, requested_);
  write(codes(), original_.substr(0, original_.size() / 2) + "\n  - kind: [broken\n");
  EXPECT_EQ(reloader.reload("test"), CatalogReloader::Result::failed);
  EXPECT_EQ(reloader.take(), nullptr);
  EXPECT_EQ(metrics_.catalog_reloads_failed.load(), 1u);
  EXPECT_FALSE(metrics_.catalog_last_reload_ok.load());
  EXPECT_EQ(metrics_.catalog_version(), initial_->version());
  // Fixed again: accepted, and the failure flag clears.
  write(codes(), changed("fixed"));
  EXPECT_EQ(reloader.reload("test"), CatalogReloader::Result::applied);
  EXPECT_TRUE(metrics_.catalog_last_reload_ok.load());
}

TEST_F(Reloader, SighupFlagAndFileWatchBothReload) {
  CatalogReloader reloader({codes(), policy(), std::chrono::milliseconds(50)}, *initial_, metrics_,
                           requested_);
  reloader.start();
  const auto wait_for = [&](auto predicate) {
    for (int i = 0; i < 200; ++i) {
      if (predicate()) return true;
      std::this_thread::sleep_for(std::chrono::milliseconds(25));
    }
    return false;
  };
  write(codes(), changed("by the watch"));
  std::shared_ptr<const dlr::catalog::Catalog> got;
  EXPECT_TRUE(wait_for([&] { return (got = reloader.take()) != nullptr; }))
      << "the file change was not loaded";

  requested_ = true;  // what the SIGHUP handler does; the files are as last loaded
  EXPECT_TRUE(wait_for([&] { return metrics_.catalog_reloads_unchanged.load() == 1; }));
  EXPECT_FALSE(requested_.load());
  reloader.stop();
}

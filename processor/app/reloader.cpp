#include "reloader.h"

#include <spdlog/spdlog.h>

#include "dlr/catalog/loader.h"

namespace dlr::app {

CatalogReloader::CatalogReloader(Options options, const catalog::Catalog& active, Metrics& metrics,
                                 std::atomic<bool>& requested)
    : options_(std::move(options)),
      metrics_(metrics),
      requested_(requested),
      active_version_(active.version()) {
  loaded_stamps_ = stamp();
  metrics_.set_catalog_version(active_version_);
}

CatalogReloader::~CatalogReloader() {
  stop();
}

void CatalogReloader::start() {
  thread_ = std::thread([this] { loop(); });
}

void CatalogReloader::stop() {
  {
    std::lock_guard lock(mutex_);
    stopping_ = true;
  }
  wake_.notify_all();
  if (thread_.joinable()) thread_.join();
}

std::shared_ptr<const catalog::Catalog> CatalogReloader::take() noexcept {
  if (!has_pending_.load(std::memory_order_acquire)) return nullptr;
  std::lock_guard lock(mutex_);
  has_pending_.store(false, std::memory_order_relaxed);
  return std::move(pending_);
}

CatalogReloader::Stamps CatalogReloader::stamp() const {
  // stat follows symlinks: a Kubernetes ConfigMap update swaps a symlink, which shows as a new inode.
  const auto of = [](const std::string& path) {
    FileStamp s;
    struct stat st {};
    if (::stat(path.c_str(), &st) != 0) return s;
    s.exists = true;
    s.inode = st.st_ino;
    s.size = st.st_size;
    s.mtime_ns = int64_t{st.st_mtim.tv_sec} * 1'000'000'000 + st.st_mtim.tv_nsec;
    return s;
  };
  return {of(options_.codes_path), of(options_.policy_path)};
}

CatalogReloader::Result CatalogReloader::reload(const char* trigger) {
  loaded_stamps_ = stamp();
  catalog::Loaded loaded = catalog::load_catalog(options_.codes_path, options_.policy_path);
  if (!loaded.catalog) {
    metrics_.catalog_reloads_failed.fetch_add(1, std::memory_order_relaxed);
    metrics_.catalog_last_reload_ok = false;
    spdlog::error("catalogue reload ({}) failed with {} problem(s); catalogue {} stays active", trigger,
                  loaded.diagnostics.size(), active_version_);
    constexpr size_t kShown = 10;  // the rest are the same kind of mistake as a rule
    for (size_t i = 0; i < loaded.diagnostics.size() && i < kShown; ++i)
      spdlog::error("  {}", catalog::format(loaded.diagnostics[i]));
    if (loaded.diagnostics.size() > kShown)
      spdlog::error("  ... and {} more", loaded.diagnostics.size() - kShown);
    return Result::failed;
  }
  metrics_.catalog_last_reload_ok = true;
  const std::string version(loaded.catalog->version());
  if (version == active_version_) {
    metrics_.catalog_reloads_unchanged.fetch_add(1, std::memory_order_relaxed);
    spdlog::info("catalogue reload ({}): files unchanged, catalogue {} stays active", trigger, version);
    return Result::unchanged;
  }
  spdlog::info("catalogue reload ({}): {} replaces {} from the next message on", trigger, version,
               active_version_);
  active_version_ = version;
  {
    std::lock_guard lock(mutex_);
    pending_ = std::move(loaded.catalog);
    has_pending_.store(true, std::memory_order_release);
  }
  return Result::applied;  // counted as applied when the stage swaps it in
}

void CatalogReloader::loop() {
  constexpr auto kTick = std::chrono::milliseconds(100);  // how soon a SIGHUP is served
  auto next_watch = std::chrono::steady_clock::now() + options_.watch_interval;
  Stamps seen = loaded_stamps_;
  for (;;) {
    {
      std::unique_lock lock(mutex_);
      if (wake_.wait_for(lock, kTick, [this] { return stopping_; })) return;
    }
    if (requested_.exchange(false)) {
      reload("SIGHUP");
      seen = loaded_stamps_;
      continue;
    }
    if (options_.watch_interval.count() == 0 || std::chrono::steady_clock::now() < next_watch) continue;
    next_watch = std::chrono::steady_clock::now() + options_.watch_interval;
    // Load once the files have settled: changed since the last load and the same for one whole
    // interval, so a file caught half-written is not tried.
    const Stamps now = stamp();
    if (now != loaded_stamps_ && now == seen) reload("file change");
    seen = now;
  }
}

}  // namespace dlr::app

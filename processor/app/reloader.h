// Catalogue hot reload. A new catalogue is read, validated and compiled on the reloader's own
// thread, on request (SIGHUP) or when the files change, and handed to the run loop, which swaps
// it in between two messages: no message is lost or processed twice by a reload. A catalogue that
// fails to load is reported (log and metrics) and the last good one stays active.
#pragma once

#include <sys/stat.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <memory>
#include <mutex>
#include <string>
#include <thread>

#include "dlr/catalog/catalog.h"
#include "metrics.h"

namespace dlr::app {

class CatalogReloader {
 public:
  struct Options {
    std::string codes_path;
    std::string policy_path;
    /// How often the files are checked for a change; zero: only on request.
    std::chrono::milliseconds watch_interval{0};
  };
  enum class Result { applied, unchanged, failed };

  /// `requested` is set by the SIGHUP handler (a plain flag is all a signal handler may touch).
  CatalogReloader(Options options, const catalog::Catalog& active, Metrics& metrics,
                  std::atomic<bool>& requested);
  ~CatalogReloader();
  CatalogReloader(const CatalogReloader&) = delete;
  CatalogReloader& operator=(const CatalogReloader&) = delete;

  void start();
  void stop();

  /// The run loop's check, once per turn: the catalogue to swap in, or null. One atomic load
  /// when there is none.
  [[nodiscard]] std::shared_ptr<const catalog::Catalog> take() noexcept;

  /// Loads the files now on the calling thread and publishes the result; `trigger` is logged.
  Result reload(const char* trigger);

 private:
  struct FileStamp {
    bool exists = false;
    ino_t inode = 0;
    off_t size = 0;
    int64_t mtime_ns = 0;
    bool operator==(const FileStamp&) const = default;
  };
  struct Stamps {
    FileStamp codes, policy;
    bool operator==(const Stamps&) const = default;
  };
  [[nodiscard]] Stamps stamp() const;
  void loop();

  Options options_;
  Metrics& metrics_;
  std::atomic<bool>& requested_;
  std::string active_version_;  ///< the last published (or initial) version; reloader thread only
  Stamps loaded_stamps_;        ///< the files as last tried
  std::mutex mutex_;
  std::condition_variable wake_;
  bool stopping_ = false;
  std::shared_ptr<const catalog::Catalog> pending_;  ///< under mutex_
  std::atomic<bool> has_pending_{false};
  std::thread thread_;
};

}  // namespace dlr::app

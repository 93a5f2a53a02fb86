// Lets a repeated log message through once per interval and counts the ones held back.
#pragma once

#include <spdlog/spdlog.h>

#include <chrono>
#include <cstdint>
#include <utility>

namespace dlr::app {

class LogLimiter {
 public:
  explicit LogLimiter(std::chrono::seconds interval) : interval_(interval) {}
  /// True when this occurrence should be logged; `held_back` is then how many were not since.
  bool allow(uint64_t& held_back) noexcept {
    const auto now = std::chrono::steady_clock::now();
    if (now - last_ < interval_) {
      ++suppressed_;
      return false;
    }
    last_ = now;
    held_back = std::exchange(suppressed_, 0);
    return true;
  }

  /// Logs a warning if this occurrence is let through, with the count of those held back.
  template <typename... Args>
  void warn(fmt::format_string<Args...> format, Args&&... args) {
    uint64_t held_back = 0;
    if (!allow(held_back)) return;
    spdlog::warn("{} ({} similar not logged)", fmt::format(format, std::forward<Args>(args)...), held_back);
  }

 private:
  std::chrono::seconds interval_;
  std::chrono::steady_clock::time_point last_{};
  uint64_t suppressed_ = 0;
};

}  // namespace dlr::app

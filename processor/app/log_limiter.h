// Lets a repeated log message through once per interval and counts the ones held back.
#pragma once

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

 private:
  std::chrono::seconds interval_;
  std::chrono::steady_clock::time_point last_{};
  uint64_t suppressed_ = 0;
};

}  // namespace dlr::app

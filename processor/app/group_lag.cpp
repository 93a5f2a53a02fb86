#include "group_lag.h"

#include <spdlog/spdlog.h>

#include <algorithm>

#include "dlr/kafka/client.h"

namespace dlr::app {

GroupLag::GroupLag(Options options, kafka::GroupOffsets& group, Metrics& metrics)
    : options_(std::move(options)), group_(group), metrics_(metrics) {}

GroupLag::~GroupLag() {
  stop();
}

void GroupLag::start() {
  thread_ = std::thread([this] { loop(); });
}

void GroupLag::stop() {
  {
    std::lock_guard lock(mutex_);
    stopping_ = true;
  }
  wake_.notify_all();
  if (thread_.joinable()) thread_.join();
}

bool GroupLag::sample() {
  std::vector<PartitionLag> lag;
  for (const auto& topic : options_.topics) {
    if (const kafka::Error err = group_.partition_offsets(topic, scratch_, options_.timeout_ms)) {
      metrics_.lag_sample_errors.fetch_add(1, std::memory_order_relaxed);
      spdlog::warn("consumer lag: cannot read the offsets of {}: {}; the last figures stay", topic,
                   kafka::describe(err));
      return false;
    }
    for (const auto& p : scratch_) {
      const int64_t from = p.committed >= 0 ? p.committed : (options_.from_earliest ? p.low : p.high);
      lag.push_back({topic, p.partition, std::max<int64_t>(0, p.high - from)});
    }
  }
  std::lock_guard lock(metrics_.lag_mutex);
  metrics_.lag = std::move(lag);
  return true;
}

void GroupLag::loop() {
  std::unique_lock lock(mutex_);
  while (!stopping_) {
    lock.unlock();
    (void)sample();
    lock.lock();
    wake_.wait_for(lock, options_.interval, [this] { return stopping_; });
  }
}

}  // namespace dlr::app

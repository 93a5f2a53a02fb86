// The consumer group's lag on every partition of the input topics, as Kafka's own tools count it
// (ConsumerGroupCommand --describe: the high watermark minus the group's committed offset). It is
// read on a thread of its own, through a connection that never joins the group, so it is right
// from the first sample after a restart and stays served while this instance holds no partitions
// (a rebalance, a crashed member): exactly when an autoscaler or an operator needs it.
#pragma once

#include <chrono>
#include <condition_variable>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "dlr/kafka/io.h"
#include "metrics.h"

namespace dlr::app {

class GroupLag {
 public:
  struct Options {
    std::vector<std::string> topics;
    /// Where the group starts on a partition it never committed: earliest (true) counts the whole
    /// log as lag, latest counts nothing.
    bool from_earliest = true;
    std::chrono::milliseconds interval{5000};
    int timeout_ms = 5000;
  };

  GroupLag(Options options, kafka::GroupOffsets& group, Metrics& metrics);
  ~GroupLag();
  GroupLag(const GroupLag&) = delete;
  GroupLag& operator=(const GroupLag&) = delete;

  /// Samples at once, then every interval, until stop().
  void start();
  void stop();

  /// One sample on the calling thread: publishes the lag of every partition and returns true, or
  /// keeps the last figures, counts the failure and returns false when a topic cannot be read.
  bool sample();

 private:
  void loop();

  Options options_;
  kafka::GroupOffsets& group_;
  Metrics& metrics_;
  std::vector<kafka::PartitionOffsets> scratch_;
  std::mutex mutex_;
  std::condition_variable wake_;
  bool stopping_ = false;
  std::thread thread_;
};

}  // namespace dlr::app

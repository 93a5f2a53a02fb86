// Exactly-once: consume-transform-produce in Kafka transactions, for the stage and the tracker
// alike. A transaction collects records for its period (processing.transaction_ms), then
// commits their outputs and the inputs' next offsets together; a failed record or commit aborts
// it and rewinds every input partition it read to where it began.
#pragma once

#include <chrono>
#include <string>

#include "dlr/kafka/io.h"
#include "dlr/kafka/offsets.h"
#include "log_limiter.h"
#include "metrics.h"

namespace dlr::app {

/// Inside a transaction a record must go in before the commit, not be set aside: while the
/// producer's queue is full, serve deliveries and try again (until `fatal` is set).
template <typename Produce>
kafka::Error produce_in_transaction(kafka::Output& output, const std::string& fatal, Produce&& produce) {
  kafka::Error err = produce();
  while (err == RD_KAFKA_RESP_ERR__QUEUE_FULL && fatal.empty()) {
    output.poll(20);
    err = produce();
  }
  return err;
}

class Transaction {
 public:
  static constexpr std::chrono::milliseconds kDefaultPeriod{100};  ///< config::Config::transaction_ms's
  static constexpr int kRetries = 6;  ///< calls of send_offsets or commit while they answer "retriable"

  /// `transactions` null: at-least-once, and every call below does nothing.
  Transaction(kafka::Transactions* transactions, kafka::Input& input, kafka::OffsetTracker& offsets,
              Counter& committed, Counter& aborted, std::chrono::milliseconds period = kDefaultPeriod)
      : transactions_(transactions),
        input_(input),
        offsets_(offsets),
        committed_(committed),
        aborted_(aborted),
        period_(period) {}

  [[nodiscard]] bool enabled() const noexcept { return transactions_ != nullptr; }
  [[nodiscard]] bool open() const noexcept { return open_; }
  /// A record of the open transaction failed: it is aborted, not committed.
  void fail() noexcept { failed_ = failed_ || open_; }
  /// Input `offset` of `slot` joins the transaction, which begins when none is open. Sets `fatal`
  /// when no transaction can begin.
  void add(int slot, int64_t offset, std::string& fatal) noexcept;
  /// Opens a transaction for records that have no input (the tracker's expiry tombstones).
  void ensure_open(std::string& fatal) noexcept;
  /// Open long enough, or failed: time to end it.
  [[nodiscard]] bool due() const noexcept;
  /// Sends the offsets and commits; aborts instead when failed or the commit does not go through.
  /// True when committed. Sets `fatal` when the producer cannot go on.
  bool commit(std::string& fatal) noexcept;
  /// Aborts and rewinds the inputs it read. Sets `fatal` when it cannot.
  void abort(std::string& fatal) noexcept;

 private:
  kafka::Transactions* transactions_;
  kafka::Input& input_;
  kafka::OffsetTracker& offsets_;
  Counter& committed_;
  Counter& aborted_;
  std::chrono::milliseconds period_;
  bool open_ = false;
  bool failed_ = false;
  std::chrono::steady_clock::time_point started_{};
  LogLimiter log_{std::chrono::seconds(10)};
};

}  // namespace dlr::app

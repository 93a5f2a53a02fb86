// Replay: dead letters read back from the dead-letter topic and written again, original bytes and
// key, to the input topic they came from (or a topic named), so that the stage processes them anew
// after a catalogue or code fix. Each record written carries dlr-replay-of; the stage counts such
// input and puts the header on its dead letters again, and a replay passes over dead letters that
// carry it, so a report that still fails does not go round in a loop. At-least-once: the replay's
// consumer group keeps, per partition, the offset below which every dead letter is either written
// and acknowledged or passed over, so an interrupted replay resumes where it stopped.
#pragma once

#include <array>
#include <atomic>
#include <cstdint>
#include <functional>
#include <limits>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "dlr/kafka/io.h"
#include "dlr/kafka/progress.h"

namespace dlr::app {

struct ReplayOptions {
  std::string dead_letter_topic;
  std::vector<std::string> input_topics;  ///< the config's inputs: the only topics written back to
  std::set<std::string> reasons;          ///< dlr-reason values to replay; empty: every reason
  std::set<std::string> source_topics;    ///< dlr-source-topic values to replay; empty: every one
  /// Dead letters written in [since_ms, until_ms), by their record timestamp.
  int64_t since_ms = std::numeric_limits<int64_t>::min();
  int64_t until_ms = std::numeric_limits<int64_t>::max();
  std::string to_topic;           ///< "": each dead letter to its source topic
  bool dry_run = false;           ///< count only: nothing written, nothing committed
  bool include_replayed = false;  ///< also dead letters of replayed input (dlr-replay-of)
  bool from_beginning = false;    ///< ignore the group's committed offsets
};

/// Why a dead letter read was not replayed.
enum class Skip : uint8_t { reason, source_topic, time, replayed, no_source, not_an_input };
inline constexpr size_t kSkipCount = 6;
[[nodiscard]] std::string_view describe(Skip skip) noexcept;

struct ReplayTally {
  int32_t partitions = 0;
  int32_t partition = -1;  ///< being read now
  uint64_t to_read = 0;    ///< dead letters between where the replay started and the ends it saw
  uint64_t read = 0;
  uint64_t replayed = 0;  ///< written and acknowledged (dry run: selected)
  std::array<uint64_t, kSkipCount> skipped{};
  std::map<std::pair<std::string, std::string>, uint64_t> selected;  ///< (reason, source topic) -> count
  uint64_t consumer_errors = 0;
};

class Replay final : kafka::DeliveryListener {
 public:
  Replay(ReplayOptions options, kafka::PartitionReader& reader, kafka::Output& output,
         kafka::GroupOffsets& group);
  Replay(const Replay&) = delete;
  Replay& operator=(const Replay&) = delete;
  ~Replay() override = default;

  /// Reads every partition of the dead-letter topic from the group's offset up to the end it has
  /// when its turn comes. `progress` is called now and then. 0 done; 1 stopped by `stop` or by a
  /// failure (error()) with what was acknowledged committed; 2 the topic cannot be read at all.
  int run(const std::atomic<bool>& stop, const std::function<void(const ReplayTally&)>& progress);
  [[nodiscard]] const ReplayTally& tally() const noexcept { return tally_; }
  [[nodiscard]] const std::string& error() const noexcept { return error_; }

  /// Why `dead letter` (its headers and timestamp) is not replayed; nullopt when it is. Public
  /// for the tests.
  [[nodiscard]] std::optional<Skip> skip_of(std::optional<std::string_view> reason,
                                            std::optional<std::string_view> source_topic,
                                            std::optional<std::string_view> replay_of,
                                            int64_t timestamp) const;

 private:
  enum class Step : uint8_t { done, stopped, failed };
  Step replay_partition(int32_t partition, const std::atomic<bool>& stop,
                        const std::function<void(const ReplayTally&)>& progress);
  bool bounds(int32_t partition, int64_t& start, int64_t& end);
  Step read_to(int64_t end, int32_t partition, kafka::PartitionProgress& offsets,
               const std::atomic<bool>& stop, const std::function<void(const ReplayTally&)>& progress);
  void handle(const kafka::InputRecord& record, kafka::PartitionProgress& progress);
  bool drain(const std::atomic<bool>& stop);
  void commit(int32_t partition, const kafka::PartitionProgress& progress);
  int topic_handle(const std::string& name);
  void on_delivery(const kafka::Delivery& delivery) noexcept override;

  ReplayOptions options_;
  kafka::PartitionReader& reader_;
  kafka::Output& output_;
  kafka::GroupOffsets& group_;
  ReplayTally tally_;
  std::string error_;
  std::map<std::string, int> topics_;
  kafka::PartitionProgress* current_ = nullptr;  ///< of the partition being replayed
  int64_t committed_ = -1;                       ///< of the partition being replayed
  std::string replay_of_;                        ///< reused header value
};

}  // namespace dlr::app

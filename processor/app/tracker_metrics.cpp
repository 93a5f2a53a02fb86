#include "tracker_metrics.h"

#include <fmt/format.h>

#include "prometheus.h"

namespace dlr::app {

using prometheus::family;
using prometheus::single;

std::string TrackerMetrics::ready_text() const {
  return ready() ? fmt::format("ready: {} partition(s) restored, catalogue {}\n", assigned_partitions.load(),
                               catalog_version)
                 : fmt::format("not ready: {} partition(s) assigned, {} restoring\n",
                               assigned_partitions.load(), restoring_partitions.load());
}

std::string TrackerMetrics::render() {
  std::string out;
  out.reserve(4096);
  auto it = std::back_inserter(out);
  const auto load = [](const auto& a) { return a.load(std::memory_order_relaxed); };
  single(out, "dlr_tracker_input_records_total", "counter", "Analytics records consumed.",
         load(input_records));
  family(out, "dlr_tracker_reports_total", "counter",
         "Reports by what they did to their message's state: applied, kept, late, conflict, duplicate, "
         "replayed.");
  for (size_t e = 0; e < effects.size(); ++e) {
    fmt::format_to(it, "dlr_tracker_reports_total{{effect=\"{}\"}} {}\n",
                   tracking::to_string(static_cast<tracking::Effect>(e)), load(effects[e]));
  }
  family(out, "dlr_tracker_skipped_total", "counter",
         "Input records not tracked, by reason (to the dead-letter topic).");
  for (size_t r = 1; r < skipped.size(); ++r) {
    fmt::format_to(it, "dlr_tracker_skipped_total{{reason=\"{}\"}} {}\n",
                   tracking::to_string(static_cast<tracking::ReadError>(r)), load(skipped[r]));
  }
  single(out, "dlr_tracker_states_written_total", "counter",
         "Message-state records acknowledged by the broker.", load(states_written));
  single(out, "dlr_tracker_changelog_records_total", "counter",
         "Changelog records acknowledged by the broker.", load(changelog_written));
  single(out, "dlr_tracker_produce_errors_total", "counter", "Failed deliveries (each is produced again).",
         load(produce_errors));
  single(out, "dlr_tracker_expired_total", "counter", "States deleted after the retention period.",
         load(expired));
  single(out, "dlr_tracker_consumer_errors_total", "counter", "Error events from the consumer.",
         load(consumer_errors));
  single(out, "dlr_tracker_rebalances_total", "counter", "Assignment changes (assigned or revoked).",
         load(rebalances));
  family(out, "dlr_tracker_transactions_total", "counter", "Exactly-once mode: transactions by result.");
  fmt::format_to(it, "dlr_tracker_transactions_total{{result=\"committed\"}} {}\n",
                 load(transactions_committed));
  fmt::format_to(it, "dlr_tracker_transactions_total{{result=\"aborted\"}} {}\n", load(transactions_aborted));
  single(out, "dlr_tracker_in_flight_messages", "gauge",
         "Input records whose outputs are not all acknowledged.", load(in_flight_messages));
  single(out, "dlr_tracker_assigned_partitions", "gauge", "Input partitions assigned to this instance.",
         load(assigned_partitions));
  single(out, "dlr_tracker_restoring_partitions", "gauge",
         "Assigned partitions whose store is being restored.", load(restoring_partitions));
  single(out, "dlr_tracker_store_keys", "gauge", "Messages in the stores (RocksDB's estimate).",
         load(store_keys));
  single(out, "dlr_tracker_store_bytes", "gauge", "Live data in the stores on disk (RocksDB's estimate).",
         load(store_bytes));
  single(out, "dlr_tracker_store_memory_bytes", "gauge", "RocksDB block cache and memtables in use.",
         load(store_memory_bytes));
  single(out, "dlr_tracker_consumption_paused", "gauge",
         "1 while the tracker takes no new records (backpressure).", load(paused) ? 1 : 0);
  family(out, "dlr_tracker_restored_records", "gauge",
         "Changelog records applied by the last or current restore (label partition).");
  family(out, "dlr_tracker_restore_remaining_records", "gauge",
         "Changelog records the current restore still has to apply (label partition); 0 once done.");
  family(out, "dlr_tracker_restore_seconds", "gauge",
         "Duration of the last restore, or of the current one so far (label partition).");
  {
    std::lock_guard lock(restore_mutex);
    for (const auto& r : restores) {
      fmt::format_to(it, "dlr_tracker_restored_records{{partition=\"{}\"}} {}\n", r.partition, r.restored);
      fmt::format_to(it, "dlr_tracker_restore_remaining_records{{partition=\"{}\"}} {}\n", r.partition,
                     r.done ? 0 : std::max<int64_t>(0, r.remaining - r.restored));
      fmt::format_to(it, "dlr_tracker_restore_seconds{{partition=\"{}\"}} {:.3f}\n", r.partition, r.seconds);
    }
  }
  return out;
}

}  // namespace dlr::app

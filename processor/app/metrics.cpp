#include "metrics.h"

#include <fmt/format.h>

#include <chrono>
#include <iterator>

#include "prometheus.h"

namespace dlr::app {
using prometheus::family;
using prometheus::label;
using prometheus::single;

void Metrics::set_catalog_version(std::string_view version) {
  std::lock_guard lock(catalog_mutex);
  catalog_version_.assign(version);
  catalog_loaded_unix_s =
      std::chrono::duration_cast<std::chrono::seconds>(std::chrono::system_clock::now().time_since_epoch())
          .count();
}

std::string Metrics::ready_text() const {
  if (fatal) return "not ready: the run loop failed\n";
  if (!ready()) return "not ready: no partitions assigned yet\n";
  return "ready: " + std::to_string(assigned_partitions.load()) + " partition(s), catalogue " +
         catalog_version() + "\n";
}

std::string Metrics::catalog_version() const {
  std::lock_guard lock(catalog_mutex);
  return catalog_version_;
}

std::string Metrics::render() {
  std::string out;
  out.reserve(4096);
  auto it = std::back_inserter(out);
  const auto load = [](const auto& a) { return a.load(std::memory_order_relaxed); };

  family(out, "dlr_input_messages_total", "counter", "Messages consumed from each input topic.");
  for (size_t i = 0; i < input_topics.size(); ++i)
    fmt::format_to(it, "dlr_input_messages_total{{topic=\"{}\"}} {}\n", label(input_topics[i]),
                   load(input_messages[i]));

  family(out, "dlr_reports_total", "counter", "Reports by verdict: the four outcomes, invalid and skipped.");
  for (const core::Route route : core::all<core::Route>())
    fmt::format_to(it, "dlr_reports_total{{verdict=\"{}\"}} {}\n", core::to_string(route),
                   load(reports[route]));
  fmt::format_to(it, "dlr_reports_total{{verdict=\"skipped\"}} {}\n", load(skipped));

  family(out, "dlr_reason_total", "counter", "Invalid or skipped reports and messages by reason.");
  for (int r = 1; r < core::kReasonCount; ++r)
    fmt::format_to(it, "dlr_reason_total{{reason=\"{}\"}} {}\n",
                   core::to_string(static_cast<core::Reason>(r)), load(reasons[r]));

  single(out, "dlr_unknown_channel_reports_total", "counter",
         "Reports whose channel field names a channel the stage does not know (classified through the "
         "binding or "
         "the general tables).",
         load(unknown_channels));
  single(out, "dlr_replayed_messages_total", "counter",
         "Input messages written back from the dead-letter topic by `dlr-enricher replay` (dlr-replay-of).",
         load(replayed_messages));
  single(out, "dlr_unknown_code_reports_total", "counter",
         "Reports whose status or error code is not in the catalogue.", load(unknown_codes));

  family(out, "dlr_records_produced_total", "counter",
         "Output records acknowledged by the broker, by destination.");
  for (const core::Destination d : core::all<core::Destination>())
    fmt::format_to(it, "dlr_records_produced_total{{destination=\"{}\"}} {}\n", core::to_string(d),
                   load(produced[d]));

  family(out, "dlr_produce_errors_total", "counter",
         "Failed deliveries by destination (each is produced again).");
  for (const core::Destination d : core::all<core::Destination>())
    fmt::format_to(it, "dlr_produce_errors_total{{destination=\"{}\"}} {}\n", core::to_string(d),
                   load(produce_errors[d]));

  single(out, "dlr_produce_retries_total", "counter",
         "Records produced again after a failed delivery or a full queue.", load(produce_retries));
  single(out, "dlr_consumer_errors_total", "counter", "Error events from the consumer.",
         load(consumer_errors));
  single(out, "dlr_offsets_stored_total", "counter", "Offset stores that moved a partition forward.",
         load(offsets_stored));
  family(out, "dlr_transactions_total", "counter", "Exactly-once mode: transactions by result.");
  fmt::format_to(it, "dlr_transactions_total{{result=\"committed\"}} {}\n", load(transactions_committed));
  fmt::format_to(it, "dlr_transactions_total{{result=\"aborted\"}} {}\n", load(transactions_aborted));
  single(out, "dlr_rebalances_total", "counter", "Assignment changes (assigned or revoked).",
         load(rebalances));

  render_gauges(out);
  return out;
}

void Metrics::render_gauges(std::string& out) {
  auto it = std::back_inserter(out);
  const auto load = [](const auto& a) { return a.load(std::memory_order_relaxed); };
  single(out, "dlr_in_flight_messages", "gauge", "Messages consumed whose outputs are not all acknowledged.",
         load(in_flight_messages));
  single(out, "dlr_deferred_records", "gauge", "Output records waiting to be produced again.",
         load(deferred_records));
  single(out, "dlr_assigned_partitions", "gauge", "Input partitions assigned to this instance.",
         load(assigned_partitions));
  single(out, "dlr_consumption_paused", "gauge", "1 while the stage takes no new messages (backpressure).",
         load(paused) ? 1 : 0);
  family(out, "dlr_reports_per_second", "gauge", "Reports processed per second over the last stats period.");
  fmt::format_to(it, "dlr_reports_per_second {:.1f}\n", load(reports_per_second));
  family(out, "dlr_catalog_info", "gauge", "The active catalogue version (stamped on every output).");
  fmt::format_to(it, "dlr_catalog_info{{version=\"{}\"}} 1\n", label(catalog_version()));
  family(out, "dlr_catalog_reloads_total", "counter",
         "Catalogue reloads by result: applied, unchanged, failed.");
  fmt::format_to(it, "dlr_catalog_reloads_total{{result=\"applied\"}} {}\n", load(catalog_reloads_applied));
  fmt::format_to(it, "dlr_catalog_reloads_total{{result=\"unchanged\"}} {}\n",
                 load(catalog_reloads_unchanged));
  fmt::format_to(it, "dlr_catalog_reloads_total{{result=\"failed\"}} {}\n", load(catalog_reloads_failed));
  single(out, "dlr_catalog_last_reload_success", "gauge",
         "0 when the last reload failed and an older catalogue is active.",
         load(catalog_last_reload_ok) ? 1 : 0);
  single(out, "dlr_catalog_loaded_timestamp_seconds", "gauge", "Unix time the active catalogue was loaded.",
         load(catalog_loaded_unix_s));

  std::vector<PartitionLag> lags;
  {
    std::lock_guard lock(lag_mutex);
    lags = lag;
  }
  family(out, "dlr_consumer_lag", "gauge",
         "The group's lag on every input partition, as ConsumerGroupCommand counts it: high watermark minus "
         "the group's committed offset (labels topic, partition). Every instance serves the whole group's.");
  for (const auto& p : lags)
    fmt::format_to(it, "dlr_consumer_lag{{topic=\"{}\",partition=\"{}\"}} {}\n", label(p.topic), p.partition,
                   p.lag);
  single(out, "dlr_consumer_lag_errors_total", "counter",
         "Lag samples the brokers did not answer (dlr_consumer_lag keeps the last figures).",
         load(lag_sample_errors));
  std::vector<AssignedPartition> partitions;
  {
    std::lock_guard lock(assigned_mutex);
    partitions = assigned;
  }
  std::vector<ErrorCodeCount> codes;
  {
    std::lock_guard lock(error_codes_mutex);
    codes = error_codes;
  }
  family(out, "dlr_error_reports_total", "counter",
         "Classified reports by the error code they carry, other than 0 (labels family, error: the code's "
         "name, its id when the catalogue lacks it; past 500 codes the rest count as error=\"other\").");
  for (const auto& c : codes)
    fmt::format_to(it, "dlr_error_reports_total{{family=\"{}\",error=\"{}\"}} {}\n", label(c.family),
                   label(c.error), c.reports);
  family(out, "dlr_partition_in_flight", "gauge",
         "Messages in flight per input partition (labels topic, partition).");
  for (const auto& p : partitions)
    fmt::format_to(it, "dlr_partition_in_flight{{topic=\"{}\",partition=\"{}\"}} {}\n", label(p.topic),
                   p.partition, p.in_flight);
  family(
      out, "dlr_partition_committable_offset", "gauge",
      "Per assigned input partition, the next offset to commit: every message before it has all its outputs "
      "acknowledged (labels topic, partition; absent until the first).");
  for (const auto& p : partitions)
    if (p.committable >= 0)
      fmt::format_to(it, "dlr_partition_committable_offset{{topic=\"{}\",partition=\"{}\"}} {}\n",
                     label(p.topic), p.partition, p.committable);
}

}  // namespace dlr::app

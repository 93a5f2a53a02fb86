#include "fanout.h"

#include <algorithm>
#include <charconv>

namespace dlr::app {

using core::Destination;

uint32_t output_count(const core::Report& report, const config::Routing& routing) noexcept {
  if (report.verdict == core::Verdict::skipped) return 0;
  uint32_t n = 0;
  for (const Destination d : routing.routes[route_of(report)])
    if (d != Destination::analytics || report.analytics.length > 0)
      ++n;  // invalid input has no analytics record
  return std::min<uint32_t>(n, 8);
}

void FanOut::Number::set(int64_t value) noexcept {
  size = static_cast<size_t>(std::to_chars(text.data(), text.data() + text.size(), value).ptr - text.data());
}

void FanOut::begin(const Source& source, std::string_view catalog_version, int64_t now_ms) {
  source_ = source;
  catalog_version_ = catalog_version;
  now_ms_ = now_ms;
  partition_.set(source.partition);
  offset_.set(source.offset);
  timestamp_.set(source.timestamp);
}

std::string_view write_source_text(std::string_view topic, int32_t partition, int64_t offset,
                                   std::string& out) {
  std::array<char, 24> number{};
  out.assign(topic).append(1, '/');
  out.append(number.data(), std::to_chars(number.data(), number.data() + number.size(), partition).ptr);
  out.append(1, '/');
  out.append(number.data(), std::to_chars(number.data(), number.data() + number.size(), offset).ptr);
  return out;
}

size_t FanOut::retry_headers(const core::Report& report, std::array<kafka::Header, 16>& headers,
                             size_t n) noexcept {
  static const catalog::RetryHint kNoHint;
  const catalog::RetryHint& hint = report.decision ? report.decision->retry : kNoHint;
  not_before_.set(hint.not_before_ms(now_ms_));
  // An upstream retrier that feeds the record back says which attempt it was.
  attempt_.set(source_.previous_attempt + 1);
  headers[n++] = {header::retry_not_before, not_before_.view()};
  headers[n++] = {header::retry_attempt, attempt_.view()};
  if (hint.max_attempts > 0) {
    max_attempts_.set(hint.max_attempts);
    headers[n++] = {header::retry_max_attempts, max_attempts_.view()};
  }
  return n;
}

size_t FanOut::dead_letter_headers(const core::Result& result, const core::Report& report,
                                   std::array<kafka::Header, 16>& headers, size_t n) noexcept {
  const bool invalid = report.verdict == core::Verdict::invalid;
  index_.set(report.index);
  headers[n++] = {header::outcome, core::to_string(route_of(report))};
  headers[n++] = {header::reason,
                  invalid ? core::to_string(report.reason) : std::string_view("PERMANENT_FAILURE")};
  if (invalid && *report.detail) headers[n++] = {header::detail, report.detail};
  if (!invalid && report.decision) headers[n++] = {header::rule, report.decision->rule};
  if (report.position >= 0) {
    position_.set(report.position);
    headers[n++] = {header::position, position_.view()};
  }
  if (result.document_error == core::Reason::none) headers[n++] = {header::report_index, index_.view()};
  headers[n++] = {header::source_topic, source_.topic};
  headers[n++] = {header::source_partition, partition_.view()};
  headers[n++] = {header::source_offset, offset_.view()};
  headers[n++] = {header::source_timestamp, timestamp_.view()};
  headers[n++] = {header::consumer_group, consumer_group_};
  if (!source_.replay_of.empty()) headers[n++] = {header::replay_of, source_.replay_of};
  return n;
}

std::span<const OutputRecord> FanOut::records(const core::Result& result, const core::Report& report,
                                              const config::Routing& routing) noexcept {
  if (report.verdict == core::Verdict::skipped) return {};
  std::string_view key = result.key(report);
  if (key.empty()) key = source_.key;
  const std::string_view original = result.original_of(report);
  size_t count = 0;
  for (const Destination d : routing.routes[route_of(report)]) {
    if (count == kMaxRecords) break;
    if (d == Destination::analytics && report.analytics.length == 0) continue;
    auto& headers = headers_[count];
    // Enriched and analytics records are most of the output and librdkafka allocates each header
    // on its own: by default they carry none, their JSON names the version and the source.
    size_t n = 0;
    if (source_headers_ || d == Destination::retry || d == Destination::dead_letter) {
      headers[n++] = {header::catalog_version, catalog_version_};
      headers[n++] = {header::source, source_.text};
    }
    std::string_view value;
    switch (d) {
      case Destination::enriched:
        value = result.enriched_of(report);
        break;
      case Destination::analytics:
        value = result.analytics_of(report);
        break;
      case Destination::retry:
        value = result.enriched_of(report);
        n = retry_headers(report, headers, n);
        break;
      case Destination::dead_letter:
        value = original;  // the original bytes: a batch's failing report, or the whole message
        n = dead_letter_headers(result, report, headers, n);
        break;
    }
    records_[count++] = {d, key, value, original, std::span(headers.data(), n)};
  }
  return {records_.data(), count};
}

}  // namespace dlr::app

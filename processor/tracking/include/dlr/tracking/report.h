// Reading what the tracker needs from the enrichment stage's analytics records: small, flat,
// keyed by messageId, one per classified report (schemas/analytics-record.schema.json).
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

#include "dlr/catalog/catalog.h"
#include "dlr/tracking/state.h"

namespace dlr::tracking {

enum class ReadError : uint8_t {
  none,
  not_json,       ///< not a JSON object
  no_message_id,  ///< messageId absent or null: counted and skipped
  bad_field,      ///< a field the tracker needs is missing or of the wrong type
};
[[nodiscard]] std::string_view to_string(ReadError error) noexcept;

/// The rank of a report: final; else handed_on when its status group's own verdict is final
/// (DELIVERED_TO_OPERATOR, in the DELIVERED group); else intermediate.
[[nodiscard]] Rank rank_of(const catalog::Catalog& catalog, bool final, int32_t status_group) noexcept;

/// Parses analytics records into TrackedReport. Reuses its buffers: one per thread; the
/// report's strings point into the reader until the next read.
class AnalyticsReader {
 public:
  AnalyticsReader();
  ~AnalyticsReader();
  AnalyticsReader(const AnalyticsReader&) = delete;
  AnalyticsReader& operator=(const AnalyticsReader&) = delete;

  /// `record_time_ms` stands in for the report's time when the record has none.
  ReadError read(std::string_view record, int64_t record_time_ms, const catalog::Catalog& catalog,
                 TrackedReport& out) noexcept;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace dlr::tracking

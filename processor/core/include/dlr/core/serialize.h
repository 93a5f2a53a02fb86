// The serializers: they own the output schemas (schemas/enriched-report.schema.json and
// schemas/analytics-record.schema.json) and write each record into a caller's reused buffer.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "dlr/catalog/catalog.h"
#include "dlr/core/classify.h"
#include "dlr/core/reason.h"
#include "dlr/core/report_fields.h"

namespace dlr::core {

/// The catalogue's part of each record, escaped once per catalogue so the per-report path only
/// copies bytes: each entry's "catalog" members and each decision's members. Rebuilt whenever the
/// catalogue changes; refers to that catalogue, which must outlive it.
class Fragments {
 public:
  void build(const catalog::Catalog& catalog);
  [[nodiscard]] std::string_view entry(const catalog::CompiledEntry& entry) const noexcept {
    return entries_[catalog_->index_of(entry)];
  }
  [[nodiscard]] std::string_view decision(const catalog::Decision& decision) const noexcept {
    return decisions_[decision.id];
  }

 private:
  const catalog::Catalog* catalog_ = nullptr;
  std::vector<std::string> entries_;
  std::vector<std::string> decisions_;
};

/// "family","groupId","groupName","name","description","resolution","permanent" (no braces).
void append_entry_members(std::string& out, const catalog::Entry& entry);
/// "final","rule","reason","retry" (no braces).
void append_decision_members(std::string& out, const catalog::Decision& decision);
/// A sending window as an object: {"name","opens","closes","zone","days"}.
void append_window(std::string& out, const catalog::SendingWindow& window);

/// The enriched record: the report's bytes as they came (compacted to one line), a "catalog"
/// member spliced into status and error, and the outcome and classification appended. Returns
/// false, writing a partial record, when the status and error spans overlap (broken text).
[[nodiscard]] bool append_enriched(std::string& out, std::string_view raw, const ReportFields& fields,
                                   const Classification& c, const Fragments& fragments,
                                   std::string_view catalog_version, std::string_view source = {});

/// The flat analytics record of a classified report. A non-empty `source` is written as "source".
void append_analytics(std::string& out, const ReportFields& fields, const Classification& c,
                      std::string_view catalog_version, std::string_view source = {});

/// The record of a report (or a whole message) that was not classified.
struct InvalidRecord {
  const std::string_view* message_id = nullptr;  ///< null: the report has none
  bool skipped = false;                          ///< "skipped" rather than "invalid"
  Reason reason = Reason::none;
  const char* detail = "";
  int64_t index = -1;       ///< position in the batch; -1 for a whole message
  int64_t position = -1;    ///< byte offset of a parse error; -1 when none
  std::string_view source;  ///< where the message came from; written only when set
};
void append_invalid(std::string& out, const InvalidRecord& record);

}  // namespace dlr::core

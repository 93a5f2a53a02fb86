// Reading the fields of one report object, and the helpers the document walk shares with it.
// Internal to the core.
#pragma once

#include <simdjson.h>

#include <string_view>

#include "dlr/core/reason.h"
#include "dlr/core/report_fields.h"
#include "text.h"

namespace dlr::core {

// A failure while reading one report; `document` failures condemn the whole message.
struct Failure {
  Reason reason = Reason::none;
  const char* detail = "";
  bool document = false;
  [[nodiscard]] bool failed() const noexcept { return reason != Reason::none; }
};

/// The document-level reason for a parser error.
[[nodiscard]] Reason document_reason(simdjson::error_code error) noexcept;
[[nodiscard]] Failure fail_document(simdjson::error_code error) noexcept;

/// Reads every member of a report object into `fields`; returns the first report-level failure,
/// or a document-level one (which stops the read).
[[nodiscard]] Failure read_fields(simdjson::ondemand::object& object, ReportFields& fields) noexcept;

}  // namespace dlr::core

// Why a document or a report could not be classified. Names are stable: they travel in
// dead-letter headers and metrics, so values are only ever added.
#pragma once

#include <cstdint>
#include <string_view>

namespace dlr::core {

enum class Reason : uint8_t {
  none = 0,
  // The whole message: nothing in it is processed.
  empty_input,        ///< zero bytes, or only whitespace
  too_large,          ///< larger than the configured maximum document size
  invalid_utf8,       ///< bytes that are not UTF-8
  invalid_json,       ///< not well-formed JSON (truncated, bad token, trailing content)
  too_deep,           ///< nesting deeper than the parser's limit
  not_a_report,       ///< top level is neither a report, a {"results":[...]} batch nor an array
  results_not_array,  ///< "results" is present but not an array
  // One report of a batch: the others still flow.
  report_not_object,     ///< an element of "results" is not an object
  missing_status,        ///< no "status" object and nothing marks it as a non-delivery event
  status_not_object,     ///< "status" is not an object
  missing_status_id,     ///< "status" has no "id"
  error_not_object,      ///< "error" is neither an object nor null
  missing_error_id,      ///< "error" has no "id"
  bad_field_type,        ///< a field that classification needs has the wrong type (see detail)
  unknown_status_group,  ///< status id unknown to the catalogue and its group is not 1..5
  duplicate_field,  ///< two status or error objects, two ids or groupIds in one, or two "results": ambiguous
  // Not delivery reports: counted and skipped, never classified.
  seen_event,          ///< a "seen" report (seenAt, no status)
  non_delivery_event,  ///< an event other than DELIVERY without a status
  // Set by the Kafka stage, not the core.
  output_too_large,  ///< an output record is over the producer's message.max.bytes: the report goes to the
                     ///< dead-letter topic instead
  // The whole message again (added later; names and values are stable).
  invalid_xml,  ///< a body that starts with '<' but is not well-formed XML, or not one our reports map from
};

[[nodiscard]] std::string_view to_string(Reason reason) noexcept;
/// True for reasons that condemn the whole message rather than one report.
[[nodiscard]] bool is_document_reason(Reason reason) noexcept;
[[nodiscard]] bool is_skip_reason(Reason reason) noexcept;
inline constexpr int kReasonCount = 21;

}  // namespace dlr::core

#include "dlr/core/reason.h"

namespace dlr::core {

std::string_view to_string(Reason reason) noexcept {
  switch (reason) {
    case Reason::none:
      return "NONE";
    case Reason::empty_input:
      return "EMPTY_INPUT";
    case Reason::too_large:
      return "TOO_LARGE";
    case Reason::invalid_utf8:
      return "INVALID_UTF8";
    case Reason::invalid_json:
      return "INVALID_JSON";
    case Reason::too_deep:
      return "TOO_DEEP";
    case Reason::not_a_report:
      return "NOT_A_REPORT";
    case Reason::results_not_array:
      return "RESULTS_NOT_ARRAY";
    case Reason::report_not_object:
      return "REPORT_NOT_OBJECT";
    case Reason::missing_status:
      return "MISSING_STATUS";
    case Reason::status_not_object:
      return "STATUS_NOT_OBJECT";
    case Reason::missing_status_id:
      return "MISSING_STATUS_ID";
    case Reason::error_not_object:
      return "ERROR_NOT_OBJECT";
    case Reason::missing_error_id:
      return "MISSING_ERROR_ID";
    case Reason::bad_field_type:
      return "BAD_FIELD_TYPE";
    case Reason::unknown_status_group:
      return "UNKNOWN_STATUS_GROUP";
    case Reason::duplicate_field:
      return "DUPLICATE_FIELD";
    case Reason::seen_event:
      return "SEEN_EVENT";
    case Reason::non_delivery_event:
      return "NON_DELIVERY_EVENT";
    case Reason::output_too_large:
      return "OUTPUT_TOO_LARGE";
    case Reason::invalid_xml:
      return "INVALID_XML";
  }
  return "NONE";
}

bool is_document_reason(Reason reason) noexcept {
  return (reason >= Reason::empty_input && reason <= Reason::results_not_array) ||
         reason == Reason::invalid_xml;
}

bool is_skip_reason(Reason reason) noexcept {
  return reason == Reason::seen_event || reason == Reason::non_delivery_event;
}

}  // namespace dlr::core

#include "field_reader.h"

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <optional>

#include "dlr/core/timestamp.h"

namespace dlr::core {

namespace ond = simdjson::ondemand;

Reason document_reason(simdjson::error_code error) noexcept {
  switch (error) {
    case simdjson::UTF8_ERROR:
      return Reason::invalid_utf8;
    case simdjson::DEPTH_ERROR:
      return Reason::too_deep;
    case simdjson::CAPACITY:
      return Reason::too_large;
    case simdjson::EMPTY:
      return Reason::empty_input;
    default:
      return Reason::invalid_json;
  }
}

Failure fail_document(simdjson::error_code error) noexcept {
  return {document_reason(error), simdjson::error_message(error), true};
}

namespace {

// Type mismatches concern one report; anything else means the bytes are not valid JSON.
bool is_semantic(simdjson::error_code error) noexcept {
  return error == simdjson::INCORRECT_TYPE || error == simdjson::NO_SUCH_FIELD ||
         error == simdjson::NUMBER_OUT_OF_RANGE || error == simdjson::NUMBER_ERROR;
}

// Keys of delivery reports never need unescaping; a key with an escape simply matches nothing.
std::string_view key_of(ond::field& field) noexcept {
  const char* start = field.key().raw();
  const void* end = std::memchr(start, '"', 64);
  return end ? std::string_view(start, static_cast<size_t>(static_cast<const char*>(end) - start))
             : std::string_view();
}

Failure fail(Reason reason, const char* detail) noexcept {
  return {reason, detail, false};
}

Failure read_code_object(ond::value& value, bool is_status, CodeObject& out) noexcept {
  // Which of two status (or error) objects counts is up to each reader of the JSON: refused
  // rather than classified on one while consumers read the other.
  if (out.keyed) {
    return fail(Reason::duplicate_field,
                is_status ? "the report has two status objects" : "the report has two error objects");
  }
  out.keyed = true;
  ond::json_type type;
  if (auto error = value.type().get(type)) return fail_document(error);
  if (type == ond::json_type::null) return {};
  if (type != ond::json_type::object) {
    return is_status ? fail(Reason::status_not_object, "status must be an object")
                     : fail(Reason::error_not_object, "error must be an object or null");
  }
  ond::object object;
  if (auto error = value.get_object().get(object)) return fail_document(error);
  std::string_view raw;
  if (auto error = object.raw_json().get(raw)) return fail_document(error);
  out.raw = trim_right(raw);
  out.present = true;
  if (auto error = object.reset().error()) return fail_document(error);
  Failure failure;
  for (auto field_result : object) {
    ond::field field;
    if (auto error = std::move(field_result).get(field)) return fail_document(error);
    const std::string_view key = key_of(field);
    ond::value& v = field.value();
    if (key == "id") {
      if (out.has_id && !failure.failed())
        failure = fail(Reason::duplicate_field, is_status ? "status has two ids" : "error has two ids");
      auto error = v.get_int64().get(out.id);
      if (error && !is_semantic(error)) return fail_document(error);
      if (error || out.id < INT32_MIN || out.id > INT32_MAX) {
        if (!failure.failed())
          failure = fail(Reason::bad_field_type,
                         is_status ? "status.id must be an integer" : "error.id must be an integer");
      } else {
        out.has_id = true;
      }
    } else if (key == "groupId") {
      if (out.has_group && !failure.failed())
        failure =
            fail(Reason::duplicate_field, is_status ? "status has two groupIds" : "error has two groupIds");
      auto error = v.get_int64().get(out.group_id);
      if (error && !is_semantic(error)) return fail_document(error);
      if (error || out.group_id < 0 || out.group_id > INT32_MAX) {
        if (!failure.failed())
          failure = fail(Reason::bad_field_type, is_status ? "status.groupId must be an integer"
                                                           : "error.groupId must be an integer");
        out.group_id = -1;
      } else {
        out.has_group = true;
      }
    } else if (key == "name") {
      auto error = v.get_string().get(out.name);
      if (error && !is_semantic(error)) return fail_document(error);
    } else if (key == "permanent" && !is_status) {
      ond::json_type t;
      if (auto error = v.type().get(t)) return fail_document(error);
      if (t == ond::json_type::boolean) {
        bool flag = false;
        if (auto error = v.get_bool().get(flag)) return fail_document(error);
        out.permanent = flag ? 1 : 0;
      } else if (t != ond::json_type::null && !failure.failed()) {
        failure = fail(Reason::bad_field_type, "error.permanent must be true or false");
      }
    }
  }
  if (!failure.failed() && !out.has_id) {
    failure = is_status ? fail(Reason::missing_status_id, "status has no id")
                        : fail(Reason::missing_error_id, "error has no id");
  }
  return failure;
}

Failure read_timestamp(ond::value& v, std::optional<int64_t>& out) noexcept {
  ond::json_type type;
  if (auto error = v.type().get(type)) return fail_document(error);
  if (type == ond::json_type::string) {
    std::string_view text;
    if (auto error = v.get_string().get(text)) return fail_document(error);
    out = parse_timestamp_ms(text);
  } else if (type == ond::json_type::number) {
    int64_t ms = 0;
    if (!v.get_int64().get(ms)) out = ms;  // epoch milliseconds, as voice reports send them
  }
  return {};
}

Failure read_message_id(ond::value& v, ReportFields& f) noexcept {
  ond::json_type type;
  if (auto error = v.type().get(type)) return fail_document(error);
  if (type == ond::json_type::string) {
    if (auto error = v.get_string().get(f.message_id)) return fail_document(error);
    f.has_message_id = true;
  } else if (type == ond::json_type::number) {
    f.message_id = trim_right(v.raw_json_token());
    f.has_message_id = true;
  }
  return {};
}

Failure read_mcc_mnc(ond::value& v, ReportFields& f) noexcept {
  ond::json_type type;
  if (auto error = v.type().get(type)) return fail_document(error);
  std::string_view text;
  if (type == ond::json_type::string) {
    if (auto error = v.get_string().get(text)) return fail_document(error);
  } else if (type == ond::json_type::number) {
    text = trim_right(v.raw_json_token());  // some reports send it as a number
  }
  f.mcc_mnc_len = static_cast<uint8_t>(std::min(text.size(), sizeof f.mcc_mnc));
  if (f.mcc_mnc_len) std::memcpy(f.mcc_mnc, text.data(), f.mcc_mnc_len);  // null or {} leave text empty
  return {};
}

Failure read_price(ond::value& v, ReportFields& f) noexcept {
  ond::object price;
  if (v.get_object().get(price)) return {};
  for (auto field_result : price) {
    ond::field pf;
    if (auto error = std::move(field_result).get(pf)) return fail_document(error);
    const std::string_view key = key_of(pf);
    if (key == "pricePerMessage" || key == "pricePerSecond") {
      double amount = NAN;
      if (!pf.value().get_double().get(amount)) f.price = amount;
    } else if (key == "currency") {
      std::string_view currency;
      if (!pf.value().get_string().get(currency)) f.currency = currency;
    }
  }
  return {};
}

}  // namespace

Failure read_fields(ond::object& object, ReportFields& f) noexcept {
  Failure failure;
  auto note = [&failure](Failure next) {
    if (next.document || !failure.failed())
      failure = next;  // the first report-level failure, or a document one
  };
  for (auto field_result : object) {
    ond::field field;
    if (auto error = std::move(field_result).get(field)) return fail_document(error);
    const std::string_view key = key_of(field);
    ond::value& v = field.value();
    if (key.empty()) continue;
    switch (key[0]) {
      case 's':
        if (key == "status")
          note(read_code_object(v, true, f.status));
        else if (key == "sentAt")
          note(read_timestamp(v, f.sent_ms));
        else if (key == "seenAt")
          f.seen = true;
        else if (key == "smtp")
          f.smtp = true;
        break;
      case 'e':
        if (key == "error")
          note(read_code_object(v, false, f.error));
        else if (key == "event")
          f.has_event = !v.get_string().get(f.event);
        break;
      case 'm':
        if (key == "messageId")
          note(read_message_id(v, f));
        else if (key == "mccMnc")
          note(read_mcc_mnc(v, f));
        break;
      case 'c':
        if (key == "channel") {
          std::string_view text;
          if (!v.get_string().get(text)) {
            f.channel = parse_channel(text);
            f.has_channel_field = true;
          }
        }
        break;
      case 'd':
        if (key == "doneAt") note(read_timestamp(v, f.done_ms));
        break;
      case 'v':
        if (key == "voiceCall") f.voice_call = true;
        break;
      case 'p':
        if (key == "price") note(read_price(v, f));
        break;
      default:
        break;
    }
    if (failure.document) return failure;
  }
  return failure;
}

}  // namespace dlr::core

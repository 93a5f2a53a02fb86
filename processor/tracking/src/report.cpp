#include "dlr/tracking/report.h"

#include <simdjson.h>

namespace dlr::tracking {

std::string_view to_string(ReadError error) noexcept {
  switch (error) {
    case ReadError::none:
      return "NONE";
    case ReadError::not_json:
      return "INVALID_JSON";
    case ReadError::no_message_id:
      return "MISSING_MESSAGE_ID";
    case ReadError::bad_field:
      return "BAD_FIELD_TYPE";
  }
  return "NONE";
}

Rank rank_of(const catalog::Catalog& catalog, bool final, int32_t status_group) noexcept {
  if (final) return Rank::final;
  const catalog::Decision* group = catalog.status_group_decision(status_group);
  return group && group->final ? Rank::handed_on : Rank::intermediate;
}

struct AnalyticsReader::Impl {
  simdjson::ondemand::parser parser;
  simdjson::padded_string buffer;
  std::string message_id;  // unescaped
  std::string channel;
};

AnalyticsReader::AnalyticsReader() : impl_(std::make_unique<Impl>()) {}
AnalyticsReader::~AnalyticsReader() = default;

namespace {

using simdjson::ondemand::object;

bool read_family(object& o, const char* key, catalog::Family& out) {
  std::string_view text;
  return !o[key].get_string().get(text) && catalog::parse_family(text, out);
}

// An integer or null; false for anything else (absent included).
bool read_optional_int(object& o, const char* key, bool& present, int64_t& out) {
  auto field = o[key];
  bool is_null = false;
  if (field.is_null().get(is_null)) return false;
  present = !is_null;
  return is_null || !field.get_int64().get(out);
}

}  // namespace

ReadError AnalyticsReader::read(std::string_view record, int64_t record_time_ms,
                                const catalog::Catalog& catalog, TrackedReport& out) noexcept {
  out = TrackedReport{};
  if (impl_->buffer.size() < record.size()) impl_->buffer = simdjson::padded_string(record.size() * 2);
  if (!record.empty())
    std::memcpy(impl_->buffer.data(), record.data(), record.size());  // a null record is empty
  simdjson::ondemand::document doc;
  object o;
  if (impl_->parser.iterate(impl_->buffer.data(), record.size(), impl_->buffer.size()).get(doc) ||
      doc.get_object().get(o)) {
    return ReadError::not_json;
  }
  // Fields in the order the stage writes them: On-Demand finds each one on its way forward.
  bool has_time = false;
  int64_t time = 0;
  if (!read_optional_int(o, "time", has_time, time)) return ReadError::bad_field;
  out.time_ms = has_time ? time : record_time_ms;
  auto id = o["messageId"];
  bool id_null = false;
  if (id.is_null().get(id_null)) return ReadError::bad_field;
  if (id_null) return ReadError::no_message_id;
  std::string_view id_text;
  if (id.get_string().get(id_text)) return ReadError::bad_field;
  impl_->message_id.assign(id_text);
  std::string_view channel;
  if (o["channel"].get_string().get(channel)) return ReadError::bad_field;
  impl_->channel.assign(channel);
  if (!read_family(o, "family", out.family)) return ReadError::bad_field;
  bool has_group = false;
  int64_t group = -1, status = 0, error = 0;
  if (!read_optional_int(o, "statusGroupId", has_group, group)) return ReadError::bad_field;
  if (o["statusId"].get_int64().get(status)) return ReadError::bad_field;
  auto error_family = o["errorFamily"];
  bool no_error_family = false;
  if (error_family.is_null().get(no_error_family)) return ReadError::bad_field;
  std::string_view family_text;
  if (!no_error_family &&
      (error_family.get_string().get(family_text) || !catalog::parse_family(family_text, out.error_family))) {
    return ReadError::bad_field;
  }
  if (!read_optional_int(o, "errorId", out.has_error, error)) return ReadError::bad_field;
  std::string_view outcome;
  if (o["outcome"].get_string().get(outcome) || !catalog::parse_outcome(outcome, out.outcome)) {
    return ReadError::bad_field;
  }
  if (o["final"].get_bool().get(out.final)) return ReadError::bad_field;
  out.status_group = has_group ? static_cast<int32_t>(group) : -1;
  out.status_id = static_cast<int32_t>(status);
  out.error_id = out.has_error ? static_cast<int32_t>(error) : 0;
  out.message_id = impl_->message_id;
  out.channel = impl_->channel;
  out.rank = rank_of(catalog, out.final, out.status_group);
  return ReadError::none;
}

}  // namespace dlr::tracking

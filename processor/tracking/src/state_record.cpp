#include "dlr/tracking/state_record.h"

#include <array>

#include "dlr/json/writer.h"

namespace dlr::tracking {
namespace {

// {"id":..,"name":..,"groupId":..,"groupName":..,"family":..}; name and group from the catalogue
// when it knows the code, null otherwise.
void append_code(std::string& out, catalog::Kind kind, catalog::Family family, int32_t id, int32_t group,
                 const catalog::Catalog& catalog) {
  const std::array<catalog::Family, 1> families = {family};
  const catalog::Match match = catalog.find(kind, families, id, group);
  const catalog::Entry* entry = match.entry ? &match.entry->entry : nullptr;
  out += '{';
  json::Members code(out);
  code.integer("id", id);
  if (entry) {
    code.string("name", entry->name)
        .optional("groupId", entry->group_id)
        .string("groupName", entry->group_name);
  } else {
    code.null("name");
    if (group >= 0)
      code.integer("groupId", group);
    else
      code.null("groupId");
    code.null("groupName");
  }
  code.plain("family", catalog::to_string(family));
  out += '}';
}

}  // namespace

void append_state_record(std::string& out, std::string_view message_id, const MessageState& s,
                         const catalog::Catalog& catalog) {
  out += '{';
  json::Members record(out);
  record.string("messageId", message_id)
      .plain("outcome", catalog::to_string(s.outcome))
      .boolean("final", s.final)
      .string("channel", s.channel);
  append_code(record.key("status"), catalog::Kind::status, s.family, s.status_id, s.status_group, catalog);
  if (s.has_error)
    append_code(record.key("error"), catalog::Kind::error, s.error_family, s.error_id, -1, catalog);
  else
    record.null("error");
  record.integer("reportAt", s.report_time_ms)
      .integer("firstReportAt", s.first_report_ms)
      .integer("lastReportAt", s.last_report_ms)
      .integer("reports", s.reports())
      .integer("duplicates", s.duplicates())
      .integer("late", s.late)
      .integer("conflicts", s.conflicts())
      .string("catalogVersion", catalog.version());
  out += '}';
}

}  // namespace dlr::tracking

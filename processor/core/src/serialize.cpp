#include "dlr/core/serialize.h"

#include <cstring>
#include <utility>

#include "dlr/json/writer.h"

namespace dlr::core {
namespace {

using catalog::Match;

bool iequals(std::string_view a, std::string_view b) noexcept {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i) {
    char x = a[i], y = b[i];
    if (x >= 'a' && x <= 'z') x = static_cast<char>(x - 32);
    if (y >= 'a' && y <= 'z') y = static_cast<char>(y - 32);
    if (x != y) return false;
  }
  return true;
}

// Copies JSON text, dropping whitespace outside strings when it spans lines, so that every
// output record is one line. Compact input (the usual case on Kafka) is copied as it is.
void append_compact(std::string& out, const char* p, size_t n) {
  if (!std::memchr(p, '\n', n) && !std::memchr(p, '\r', n)) {
    out.append(p, n);
    return;
  }
  bool in_string = false;
  for (size_t i = 0; i < n; ++i) {
    const char c = p[i];
    if (in_string) {
      out.push_back(c);
      if (c == '\\' && i + 1 < n)
        out.push_back(p[++i]);
      else if (c == '"')
        in_string = false;
    } else if (c == '"') {
      in_string = true;
      out.push_back(c);
    } else if (c != ' ' && c != '\n' && c != '\r' && c != '\t') {
      out.push_back(c);
    }
  }
}

void append_catalog_member(std::string& out, const CodeObject& code, const Match& match,
                           const Fragments& fragments) {
  out += ",\"catalog\":{";
  if (match.entry) {
    out += fragments.entry(*match.entry);
    out += ",\"match\":";
    json::append_plain(out, catalog::to_string(match.how));
    bool name_mismatch = false;
    if (!code.name.empty() && !iequals(code.name, match.entry->entry.name)) {
      name_mismatch = true;
      for (const auto& alias : match.entry->entry.aliases) name_mismatch &= !iequals(code.name, alias);
    }
    out += ",\"nameMismatch\":";
    json::append_bool(out, name_mismatch);
    out += ",\"groupMismatch\":";
    json::append_bool(out, match.group_mismatch);
  } else {
    out += "\"match\":";
    json::append_plain(out, catalog::to_string(match.how));
  }
  out += '}';
}

// "null" for what the report lacks.
void append_int_or_null(std::string& out, bool present, int64_t value) {
  if (present)
    json::append_int(out, value);
  else
    out += "null";
}
void append_string_or_null(std::string& out, std::string_view text) {
  if (!text.empty())
    json::append_string(out, text);
  else
    out += "null";
}

}  // namespace

void append_entry_members(std::string& out, const catalog::Entry& e) {
  json::Members(out)
      .plain("family", to_string(e.family))
      .optional("groupId", e.group_id)
      .string("groupName", e.group_name)
      .string("name", e.name)
      .string("description", e.description)
      .string("resolution", e.resolution)
      .optional("permanent", e.permanent);
}

void append_decision_members(std::string& out, const catalog::Decision& d) {
  json::Members members(out);
  members.boolean("final", d.final).string("rule", d.rule).string("reason", d.reason);
  if (d.outcome != catalog::Outcome::retryable) {
    members.null("retry");
    return;
  }
  members.key("retry") += '{';
  json::Members retry(out);
  retry.integer("notBeforeSeconds", d.retry.not_before_s).integer("maxAttempts", d.retry.max_attempts);
  if (d.retry.window) append_window(retry.key("window"), *d.retry.window);
  out += '}';
}

void append_window(std::string& out, const catalog::SendingWindow& w) {
  out += '{';
  json::Members members(out);
  members.string("name", w.name)
      .string("opens", catalog::SendingWindow::clock_text(w.opens_min))
      .string("closes", catalog::SendingWindow::clock_text(w.closes_min))
      .string("zone", w.zone);
  members.key("days") += '[';
  const char* comma = "";
  for (int bit = 0; bit < 7; ++bit) {
    if (!(w.days & (1U << bit))) continue;
    json::append_string(out += comma, catalog::SendingWindow::day_name(bit));
    comma = ",";
  }
  out += "]}";
}

void Fragments::build(const catalog::Catalog& catalog) {
  catalog_ = &catalog;
  entries_.clear();
  for (const auto& e : catalog.entries()) append_entry_members(entries_.emplace_back(), e.entry);
  decisions_.clear();
  for (const catalog::Decision* d : catalog.decisions())
    append_decision_members(decisions_.emplace_back(), *d);
}

bool append_enriched(std::string& e, std::string_view raw, const ReportFields& f, const Classification& c,
                     const Fragments& fragments, std::string_view catalog_version, std::string_view source) {
  // The original bytes, with a "catalog" member spliced into status and error, and the
  // classification appended: the report's own fields stay exactly as they came.
  const CodeObject* spliced[2] = {&f.status, f.error.present ? &f.error : nullptr};
  const Match* matches[2] = {&c.status, &c.error};
  if (spliced[1] && spliced[1]->raw.data() < spliced[0]->raw.data()) {
    std::swap(spliced[0], spliced[1]);
    std::swap(matches[0], matches[1]);
  }
  const char* cursor = raw.data();
  for (int i = 0; i < 2; ++i) {
    if (!spliced[i]) continue;
    // In valid JSON status and error are disjoint values inside the report; broken text can
    // make them overlap, and the whole message is invalid then.
    const char* close = spliced[i]->raw.data() + spliced[i]->raw.size() - 1;
    if (spliced[i]->raw.empty() || spliced[i]->raw.data() < cursor || close >= raw.data() + raw.size()) {
      return false;
    }
    append_compact(e, cursor, static_cast<size_t>(close - cursor));
    append_catalog_member(e, *spliced[i], *matches[i], fragments);
    cursor = close;
  }
  append_compact(e, cursor, static_cast<size_t>(raw.data() + raw.size() - 1 - cursor));
  e += ",\"outcome\":";
  json::append_plain(e, catalog::to_string(c.decision->outcome));
  e += ",\"classification\":{";
  e += fragments.decision(*c.decision);
  e += ",\"unknownCode\":";
  json::append_bool(e, c.unknown_code);
  e += ",\"channel\":";
  json::append_plain(e, to_string(c.channel));
  e += ",\"channelSource\":";
  json::append_plain(e, to_string(c.channel_source));
  e += ",\"catalogVersion\":";
  json::append_plain(e, catalog_version);
  if (!source.empty()) json::append_string(e += ",\"source\":", source);
  e += "}}";
  return true;
}

void append_analytics(std::string& a, const ReportFields& f, const Classification& c,
                      std::string_view catalog_version, std::string_view source) {
  const catalog::CompiledEntry* status = c.status.entry;
  a += "{\"time\":";
  append_int_or_null(a, f.done_ms.has_value(), f.done_ms.value_or(0));
  a += ",\"messageId\":";
  if (f.has_message_id)
    json::append_string(a, f.message_id);
  else
    a += "null";
  a += ",\"channel\":";
  json::append_plain(a, to_string(c.channel));
  a += ",\"family\":";
  if (status)
    json::append_plain(a, catalog::to_string(status->entry.family));
  else
    a += "null";
  a += ",\"statusGroupId\":";
  if (f.status.has_group)
    json::append_int(a, f.status.group_id);
  else
    append_int_or_null(a, status && status->entry.group_id, status ? status->entry.group_id.value_or(0) : 0);
  a += ",\"statusId\":";
  json::append_int(a, f.status.id);
  a += ",\"errorFamily\":";
  if (c.error.entry)
    json::append_plain(a, catalog::to_string(c.error.entry->entry.family));
  else
    a += "null";
  a += ",\"errorId\":";
  append_int_or_null(a, f.error.present, f.error.id);
  a += ",\"outcome\":";
  json::append_plain(a, catalog::to_string(c.decision->outcome));
  a += ",\"final\":";
  json::append_bool(a, c.decision->final);
  a += ",\"rule\":";
  json::append_string(a, c.decision->rule);
  a += ",\"unknownCode\":";
  json::append_bool(a, c.unknown_code);
  a += ",\"mccMnc\":";
  append_string_or_null(a, f.mcc_mnc_text());
  a += ",\"price\":";
  json::append_double(a, f.price);
  a += ",\"currency\":";
  append_string_or_null(a, f.currency);
  a += ",\"latencyMs\":";
  append_int_or_null(a, f.sent_ms && f.done_ms, f.done_ms.value_or(0) - f.sent_ms.value_or(0));
  a += ",\"catalogVersion\":";
  json::append_plain(a, catalog_version);
  if (!source.empty()) json::append_string(a += ",\"source\":", source);
  a += '}';
}

void append_invalid(std::string& out, const InvalidRecord& r) {
  out += '{';
  if (r.message_id) {
    out += "\"messageId\":";
    json::append_string(out, *r.message_id);
    out += ',';
  }
  out += "\"outcome\":";
  json::append_plain(out, r.skipped ? "skipped" : "invalid");
  out += ",\"reason\":";
  json::append_plain(out, to_string(r.reason));
  out += ",\"detail\":";
  json::append_string(out, r.detail);
  if (r.index >= 0) {
    out += ",\"index\":";
    json::append_int(out, r.index);
  }
  if (r.position >= 0) {
    out += ",\"position\":";
    json::append_int(out, r.position);
  }
  if (!r.source.empty()) {
    out += ",\"source\":";
    json::append_string(out, r.source);
  }
  out += '}';
}

}  // namespace dlr::core

#include "catalog_review.h"

#include <cstdio>
#include <map>
#include <string>
#include <vector>

#include "dlr/core/classify.h"
#include "help.h"

namespace dlr::app {

using catalog::CompiledEntry;
using catalog::Decision;
using catalog::Entry;
using catalog::Family;
using catalog::Kind;
using catalog::Outcome;

namespace {

std::string code_label(const Entry& e) {
  std::string out = std::string(to_string(e.family)) + " " + std::string(to_string(e.kind)) + " " +
                    std::to_string(e.id) + " " + e.name;
  if (e.group_id) out += " (group " + std::to_string(*e.group_id) + " " + e.group_name + ")";
  return out;
}

std::string flag_text(const Entry& e) {
  if (!e.permanent) return "none";
  return *e.permanent ? "permanent" : "temporary";
}

// "after 300 s", "inside 10:00-21:00 Asia/Kolkata" or both: when the next attempt may go.
std::string when_text(const catalog::RetryHint& hint) {
  std::string when;
  if (hint.not_before_s || !hint.window) when = "after " + std::to_string(hint.not_before_s) + " s";
  if (hint.window) when += (when.empty() ? "inside " : ", inside ") + hint.window->describe();
  return when;
}

std::string verdict_text(const Decision& d) {
  std::string out = std::string(to_string(d.outcome)) + (d.final ? ", final" : ", not final");
  if (d.outcome == Outcome::retryable)
    out += "; next attempt " + when_text(d.retry) + ", " + std::to_string(d.retry.max_attempts) +
           " attempts in all";
  return out;
}

std::string quotes_text(const catalog::Rule* rule) {
  std::string out;
  if (rule)
    for (const auto& q : rule->quotes) out += (out.empty() ? "\"" : "; \"") + q + "\"";
  return out;
}

void print_decision(const catalog::Catalog& catalog, const CompiledEntry& c) {
  const Entry& e = c.entry;
  const Decision& d = c.decision;
  const auto flagged = catalog::flagged_outcome(e);
  const catalog::Rule* rule = catalog.rule(d.rule);
  std::printf("%s\n", code_label(e).c_str());
  std::printf("  vendor's flag: %s\n", flag_text(e).c_str());
  std::printf("  decision:      %s\n", verdict_text(d).c_str());
  std::printf("  rule:          %s%s%s\n", d.rule.c_str(),
              d.firm ? " (firm: its error does not replace it)" : "",
              flagged && *flagged != d.outcome ? " (overrides the vendor's flag)" : "");
  std::printf("  reason:        %s\n", d.reason.c_str());
  if (const std::string quotes = quotes_text(rule); !quotes.empty())
    std::printf("  rests on:      %s\n", quotes.c_str());
  std::printf("  description:   %s\n", e.description.empty() ? "-" : e.description.c_str());
  std::printf("  resolution:    %s\n", e.resolution.empty() ? "-" : e.resolution.c_str());
}

// The entries of a status id for a pair: those of `family` first, then the general table's.
std::vector<const CompiledEntry*> statuses(const catalog::Catalog& catalog, int id, std::optional<int> group,
                                           std::optional<Family> family) {
  std::vector<const CompiledEntry*> out;
  for (const Family f : {family.value_or(Family::general), Family::general}) {
    for (const auto& c : catalog.entries())
      if (c.entry.kind == Kind::status && c.entry.family == f && c.entry.id == id &&
          (!group || c.entry.group_id == group))
        out.push_back(&c);
    if (!out.empty()) break;
  }
  return out;
}

void print_pair(const catalog::Catalog& catalog, const CompiledEntry& status, const CompiledEntry& error) {
  const core::Precedence p = core::precedence(status.decision, &error, -1, catalog);
  std::printf("with status %s: %s by rule %s\n", code_label(status.entry).c_str(),
              std::string(to_string(status.decision.outcome)).c_str(), status.decision.rule.c_str());
  std::printf("  the %s decides: %s\n", p.decider == core::Decider::error ? "error" : "status", p.why);
  std::printf("  report:        %s (rule %s)\n", verdict_text(*p.decision).c_str(), p.decision->rule.c_str());
}

bool parse_number(const Args& args, const char* name, std::optional<int>& out, std::string& error) {
  const auto text = args.get(name);
  if (!text) return true;
  int value = 0;
  if (!parse_int(*text, value)) {
    error = std::string("--") + name + " must be a number, got '" + *text + "'";
    return false;
  }
  out = value;
  return true;
}

}  // namespace

int explain_command(const Args& args, const catalog::Catalog& catalog) {
  std::string error;
  std::optional<int> id, group, status_id, status_group;
  if (!parse_number(args, "id", id, error) || !parse_number(args, "group", group, error) ||
      !parse_number(args, "status", status_id, error) ||
      !parse_number(args, "status-group", status_group, error))
    return usage_error("catalog", error);
  Kind kind{};
  if (!args.get("kind") || !catalog::parse_kind(*args.get("kind"), kind) || !id)
    return usage_error("catalog", "explain needs --kind status|error and --id N");
  std::optional<Family> family;
  if (auto text = args.get("family")) {
    Family f{};
    if (!catalog::parse_family(*text, f)) return usage_error("catalog", "unknown family '" + *text + "'");
    family = f;
  }
  if (status_id && kind != Kind::error)
    return usage_error("catalog", "--status pairs a status with an error (--kind error)");
  int found = 0;
  for (const auto& c : catalog.entries()) {
    const Entry& e = c.entry;
    if (e.kind != kind || e.id != *id || (family && e.family != *family) || (group && e.group_id != group))
      continue;
    if (found++) std::printf("\n");
    print_decision(catalog, c);
    if (!status_id) continue;
    const auto pairs = statuses(catalog, *status_id, status_group, e.family);
    if (pairs.empty()) std::printf("with status %d: not in the catalogue\n", *status_id);
    for (const CompiledEntry* s : pairs) print_pair(catalog, *s, c);
  }
  if (!found) {
    std::fprintf(stderr, "dlr-enricher: no %s %d in the catalogue%s\n", std::string(to_string(kind)).c_str(),
                 *id, family ? (" (family " + std::string(to_string(*family)) + ")").c_str() : "");
    return 1;
  }
  return 0;
}

namespace {

void print_row(const catalog::Catalog& catalog, const CompiledEntry& c) {
  const Entry& e = c.entry;
  const Decision& d = c.decision;
  std::printf("| %d | `%s` | %s | %s | `%s` | %s |\n", e.id, e.name.c_str(), flag_text(e).c_str(),
              verdict_text(d).c_str(), d.rule.c_str(), quotes_text(catalog.rule(d.rule)).c_str());
}

void print_overrides(const catalog::Catalog& catalog) {
  struct Row {
    const CompiledEntry* entry;
    Outcome flagged;
  };
  std::map<Family, std::vector<Row>> rows;
  for (const auto& c : catalog.entries()) {
    const auto flagged = catalog::flagged_outcome(c.entry);
    if (flagged && *flagged != c.decision.outcome) rows[c.entry.family].push_back({&c, *flagged});
  }
  std::printf(
      "| family | flagged permanent, decided otherwise | flagged temporary, decided otherwise "
      "|\n|---|---|---|\n");
  for (const auto& [family, list] : rows) {
    size_t from_permanent = 0;
    for (const Row& r : list) from_permanent += r.flagged == Outcome::permanent;
    std::printf("| %s | %zu | %zu |\n", std::string(to_string(family)).c_str(), from_permanent,
                list.size() - from_permanent);
  }
  for (const auto& [family, list] : rows) {
    std::printf(
        "\n## %s\n\n| code | name | flag | decision | rule | the vendor's words "
        "|\n|---|---|---|---|---|---|\n",
        std::string(to_string(family)).c_str());
    for (const Row& r : list) print_row(catalog, *r.entry);
  }
}

// Entries the page gives no flag: decided by a rule for their family or group (counted per rule)
// or by a rule for the one code (listed, with the words it rests on).
void print_flagless(const catalog::Catalog& catalog) {
  struct Part {
    std::map<std::string, std::pair<Outcome, size_t>> broad;  // rule -> outcome, entries
    std::vector<const CompiledEntry*> one_code;
  };
  std::map<std::pair<Family, Kind>, Part> parts;
  for (const auto& c : catalog.entries()) {
    if (c.entry.permanent) continue;
    Part& part = parts[{c.entry.family, c.entry.kind}];
    const catalog::Rule* rule = catalog.rule(c.decision.rule);
    if (rule && (rule->id || rule->code_name))
      part.one_code.push_back(&c);
    else
      ++part.broad.try_emplace(c.decision.rule, c.decision.outcome, 0).first->second.second;
  }
  std::printf(
      "\n# Entries the page gives no flag\n\n"
      "Statuses, and the errors of families whose tables have no permanent column. A rule for the\n"
      "family or the status group decides most; a rule for one code, where the code's own text says\n"
      "more, must quote it (`catalog check` refuses it otherwise).\n\n"
      "| family | kind | entries | by a family or group rule | by a rule for the code "
      "|\n|---|---|---|---|---|\n");
  for (const auto& [key, part] : parts) {
    size_t broad = 0;
    for (const auto& [rule, counted] : part.broad) broad += counted.second;
    std::printf("| %s | %s | %zu | %zu | %zu |\n", std::string(to_string(key.first)).c_str(),
                std::string(to_string(key.second)).c_str(), broad + part.one_code.size(), broad,
                part.one_code.size());
  }
  for (const auto& [key, part] : parts) {
    std::printf("\n## %s %s\n\n", std::string(to_string(key.first)).c_str(),
                std::string(to_string(key.second)).c_str());
    for (const auto& [rule, counted] : part.broad)
      std::printf("- `%s`: %s, %zu %s\n", rule.c_str(), std::string(to_string(counted.first)).c_str(),
                  counted.second, counted.second == 1 ? "entry" : "entries");
    if (part.one_code.empty()) continue;
    std::printf(
        "\n| code | name | flag | decision | rule | the vendor's words |\n|---|---|---|---|---|---|\n");
    for (const CompiledEntry* c : part.one_code) print_row(catalog, *c);
  }
}

}  // namespace

int review_command(const catalog::Catalog& catalog) {
  std::printf(
      "# Decisions against the vendor's flag\n\n"
      "Generated by `dlr-enricher catalog review` from `codes.yaml` and `policy.yaml`;\n"
      "`tests/cli/test_catalog_cli.py` fails when it is out of date. Every entry whose decision differs\n"
      "from the outcome of the vendor's permanent flag, with the rule and the vendor's words it rests on\n"
      "(`catalog check` refuses an override without them); then the entries without a flag.\n\n");
  print_overrides(catalog);
  print_flagless(catalog);
  return 0;
}

}  // namespace dlr::app

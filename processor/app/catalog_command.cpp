// `dlr-enricher catalog ...`: import the vendor's page, diff editions, dump and look up codes.
#include <chrono>
#include <cstdio>
#include <ctime>
#include <filesystem>
#include <fstream>
#include <map>
#include <string>
#include <tuple>

#include "args.h"
#include "catalog_review.h"
#include "commands.h"
#include "dlr/catalog/importer.h"
#include "dlr/catalog/loader.h"
#include "dlr/core/serialize.h"
#include "dlr/json/writer.h"
#include "help.h"

namespace dlr::app {
namespace {

using namespace dlr::catalog;

void print_diagnostics(const std::vector<Diagnostic>& diagnostics) {
  for (const auto& d : diagnostics) std::fprintf(stderr, "%s\n", format(d).c_str());
  if (!diagnostics.empty()) std::fprintf(stderr, "%zu problem(s)\n", diagnostics.size());
}

std::string today_utc() {
  const std::time_t now = std::time(nullptr);
  std::tm tm{};
  gmtime_r(&now, &tm);
  char buf[16];
  std::strftime(buf, sizeof buf, "%Y-%m-%d", &tm);
  return buf;
}

std::string base_name(const std::string& path) {
  const auto slash = path.find_last_of('/');
  return slash == std::string::npos ? path : path.substr(slash + 1);
}

bool is_page(const std::string& path) {
  return path.size() > 3 && path.substr(path.size() - 3) == ".md";
}

// Reads either a codes YAML or a vendor page (imported on the fly).
bool read_codes(const std::string& path, CodesDocument& out) {
  std::string text, error;
  if (!read_file(path, text, error)) {
    std::fprintf(stderr, "dlr-enricher: %s\n", error.c_str());
    return false;
  }
  std::vector<Diagnostic> diagnostics;
  if (is_page(path)) {
    auto imported = import_page(text, base_name(path), "");
    diagnostics = std::move(imported.diagnostics);
    out = std::move(imported.document);
  } else {
    out = parse_codes(text, path, diagnostics);
  }
  print_diagnostics(diagnostics);
  return diagnostics.empty();
}

// One entry as `catalog dump` and `lookup` print it: the catalogue file's own field names.
void append_entry_json(std::string& out, const CompiledEntry& c) {
  const Entry& e = c.entry;
  out += '{';
  json::Members members(out);
  members.plain("kind", to_string(e.kind))
      .plain("family", to_string(e.family))
      .optional("group_id", e.group_id)
      .string("group_name", e.group_name)
      .string("group_title", e.group_title)
      .integer("id", e.id)
      .string("name", e.name);
  members.key("aliases") += '[';
  for (size_t i = 0; i < e.aliases.size(); ++i) {
    if (i) out += ',';
    json::append_string(out, e.aliases[i]);
  }
  out += ']';
  members.optional("permanent", e.permanent)
      .string("description", e.description)
      .string("resolution", e.resolution)
      .string("section", e.section);
  members.key("extra") += '{';
  json::Members extra(out);
  for (const auto& x : e.extra) extra.string(x.key, x.value);
  out += '}';
  const Decision& d = c.decision;
  members.plain("outcome", to_string(d.outcome))
      .boolean("final", d.final)
      .string("rule", d.rule)
      .string("reason", d.reason);
  if (d.outcome == Outcome::retryable) {
    members.key("retry") += '{';
    json::Members retry(out);
    retry.integer("not_before_s", d.retry.not_before_s).integer("max_attempts", d.retry.max_attempts);
    if (d.retry.window) core::append_window(retry.key("window"), *d.retry.window);
    out += '}';
  } else {
    members.null("retry");
  }
  out += "}\n";
}

std::shared_ptr<const Catalog> load(const Args& args) {
  const auto loaded = load_catalog(args.get("codes").value_or(default_codes_path()),
                                   args.get("policy").value_or(default_policy_path()));
  print_diagnostics(loaded.diagnostics);
  return loaded.catalog;
}

int import_command(const Args& args) {
  if (args.positionals().size() != 1) {
    return usage_error("catalog", "import takes one PAGE.md");
  }
  const std::string& page_path = args.positionals()[0];
  std::string page, error;
  if (!read_file(page_path, page, error)) {
    std::fprintf(stderr, "dlr-enricher: %s\n", error.c_str());
    return 2;
  }
  auto result = import_page(page, base_name(page_path), args.get("date").value_or(today_utc()));
  if (!result.diagnostics.empty()) {
    print_diagnostics(result.diagnostics);
    return 1;
  }
  // The edition it replaces: far fewer entries than it has means a page cut short.
  std::string replaced_path = args.get("codes").value_or(default_codes_path());
  if (auto output = args.get("output"); output && std::filesystem::exists(*output)) replaced_path = *output;
  if (CodesDocument replaced; std::filesystem::exists(replaced_path) && read_codes(replaced_path, replaced)) {
    const size_t now = result.document.entries.size(), before = replaced.entries.size();
    if (now * 10 < before * 9) {
      result.incomplete.push_back({base_name(page_path), 0,
                                   std::to_string(now) + " entries, " + std::to_string(before - now) +
                                       " fewer than the " + std::to_string(before) + " of " + replaced_path});
    }
  }
  if (!result.incomplete.empty() && !args.has("partial")) {
    print_diagnostics(result.incomplete);
    std::fprintf(stderr,
                 "dlr-enricher catalog import: the page looks cut short (a failed download?); nothing "
                 "written. --partial imports it anyway.\n");
    return 1;
  }
  const std::string yaml = to_yaml(result.document);
  size_t aliases = 0;
  for (const auto& e : result.document.entries) aliases += e.aliases.size();
  if (auto output = args.get("output")) {
    std::ofstream out(*output, std::ios::binary);
    out << yaml;
    if (!out.flush()) {
      std::fprintf(stderr, "dlr-enricher: cannot write %s\n", output->c_str());
      return 2;
    }
  } else {
    std::fwrite(yaml.data(), 1, yaml.size(), stdout);
  }
  std::fprintf(stderr, "imported %zu entries from %d table rows (%zu row(s) folded into aliases)\n",
               result.document.entries.size(), result.table_rows, aliases);
  return 0;
}

using Key = std::tuple<int, int, int, int>;
Key key_of(const Entry& e) {
  return {static_cast<int>(e.family), static_cast<int>(e.kind), e.group_id.value_or(-1), e.id};
}
std::string label(const Entry& e) {
  return std::string(to_string(e.kind)) + " " + std::string(to_string(e.family)) + " group " +
         (e.group_id ? std::to_string(*e.group_id) : "-") + " id " + std::to_string(e.id) + " " + e.name;
}

int diff_command(const Args& args) {
  if (args.positionals().size() != 2) {
    return usage_error("catalog", "diff takes OLD and NEW");
  }
  CodesDocument old_doc, new_doc;
  if (!read_codes(args.positionals()[0], old_doc) || !read_codes(args.positionals()[1], new_doc)) return 2;
  std::map<Key, const Entry*> old_entries, new_entries;
  for (const auto& e : old_doc.entries) old_entries[key_of(e)] = &e;
  for (const auto& e : new_doc.entries) new_entries[key_of(e)] = &e;
  int added = 0, removed = 0, changed = 0;
  for (const auto& [key, e] : old_entries) {
    if (!new_entries.count(key)) {
      std::printf("- %s\n", label(*e).c_str());
      ++removed;
    }
  }
  for (const auto& [key, e] : new_entries) {
    auto it = old_entries.find(key);
    if (it == old_entries.end()) {
      std::printf("+ %s\n", label(*e).c_str());
      ++added;
      continue;
    }
    const Entry& o = *it->second;
    std::vector<std::tuple<const char*, std::string, std::string>> fields;
    auto flag = [](const std::optional<bool>& p) { return p ? (*p ? "true" : "false") : "null"; };
    auto join = [](const std::vector<std::string>& v) {
      std::string s;
      for (const auto& x : v) s += (s.empty() ? "" : ", ") + x;
      return s;
    };
    auto extras = [](const std::vector<Extra>& v) {
      std::string s;
      for (const auto& x : v) s += (s.empty() ? "" : ", ") + x.key + "=" + x.value;
      return s;
    };
    fields.emplace_back("name", o.name, e->name);
    fields.emplace_back("aliases", join(o.aliases), join(e->aliases));
    fields.emplace_back("permanent", flag(o.permanent), flag(e->permanent));
    fields.emplace_back("group_name", o.group_name, e->group_name);
    fields.emplace_back("description", o.description, e->description);
    fields.emplace_back("resolution", o.resolution, e->resolution);
    fields.emplace_back("extra", extras(o.extra), extras(e->extra));
    bool first = true;
    for (const auto& [field, before, after] : fields) {
      if (before == after) continue;
      if (first) std::printf("~ %s\n", label(*e).c_str());
      first = false;
      std::printf("    %s: %s\n    %*s-> %s\n", field, before.c_str(),
                  static_cast<int>(std::string(field).size()), "", after.c_str());
    }
    if (!first) ++changed;
  }
  std::printf("%d added, %d removed, %d changed\n", added, removed, changed);
  return added + removed + changed == 0 ? 0 : 1;
}

int dump_command(const Args& args) {
  auto catalog = load(args);
  if (!catalog) return 2;
  std::string out;
  for (const auto& e : catalog->entries()) append_entry_json(out, e);
  std::fwrite(out.data(), 1, out.size(), stdout);
  return 0;
}

int lookup_command(const Args& args) {
  auto catalog = load(args);
  if (!catalog) return 2;
  std::optional<int> id, group;
  std::optional<Kind> kind;
  std::optional<Family> family;
  std::optional<std::string> name = args.get("name");
  int number = 0;
  if (auto v = args.get("id")) {
    if (!parse_int(*v, number)) {
      std::fprintf(stderr, "dlr-enricher: --id must be a number, got '%s'\n", v->c_str());
      return 2;
    }
    id = number;
  }
  for (const auto& positional : args.positionals()) {  // `lookup 27` or `lookup EC_ABSENT_SUBSCRIBER`
    if (parse_int(positional, number))
      id = number;
    else
      name = positional;
  }
  if (auto v = args.get("group")) {
    if (!parse_int(*v, number)) {
      std::fprintf(stderr, "dlr-enricher: --group must be a number, got '%s'\n", v->c_str());
      return 2;
    }
    group = number;
  }
  if (auto v = args.get("kind")) {
    Kind k{};
    if (!parse_kind(*v, k)) {
      std::fprintf(stderr, "dlr-enricher: --kind must be status or error, got '%s'\n", v->c_str());
      return 2;
    }
    kind = k;
  }
  if (auto v = args.get("family")) {
    Family f{};
    if (!parse_family(*v, f)) {
      std::fprintf(stderr, "dlr-enricher: unknown family '%s' (known: %s)\n", v->c_str(),
                   family_names().c_str());
      return 2;
    }
    family = f;
  }
  if (!id && !name) {
    return usage_error("catalog", "lookup needs --id N or --name NAME");
  }
  std::vector<const CompiledEntry*> candidates;
  if (name) {
    candidates = catalog->find_by_name(*name);
  } else {
    for (const auto& e : catalog->entries()) candidates.push_back(&e);
  }
  std::string out;
  int found = 0;
  for (const CompiledEntry* c : candidates) {
    const Entry& e = c->entry;
    if ((id && e.id != *id) || (kind && e.kind != *kind) || (family && e.family != *family) ||
        (group && e.group_id != group)) {
      continue;
    }
    append_entry_json(out, *c);
    ++found;
  }
  if (!found) {
    std::string what = name ? "name " + *name : "id " + std::to_string(*id);
    if (kind) what += ", kind " + std::string(to_string(*kind));
    if (family) what += ", family " + std::string(to_string(*family));
    if (group) what += ", group " + std::to_string(*group);
    std::fprintf(stderr, "dlr-enricher: no catalogue entry matches %s\n", what.c_str());
    return 1;
  }
  std::fwrite(out.data(), 1, out.size(), stdout);
  std::fprintf(stderr, "%d entr%s\n", found, found == 1 ? "y" : "ies");
  return 0;
}

int check_command(const Args& args) {
  auto catalog = load(args);
  if (!catalog) return 1;
  size_t statuses = 0;
  for (const auto& e : catalog->entries()) statuses += e.entry.kind == Kind::status;
  std::printf("catalogue %s: %zu entries (%zu status, %zu error), %zu policy rules, all decided\n",
              std::string(catalog->version()).c_str(), catalog->entries().size(), statuses,
              catalog->entries().size() - statuses, catalog->policy().rules.size());
  return 0;
}

}  // namespace

int catalog_command(int argc, char** argv) {
  const std::string sub = argc > 2 ? argv[2] : "";
  if (sub == "--help" || sub == "-h") {
    std::fputs(std::string(usage("catalog")).c_str(), stdout);
    return 0;
  }
  Args args(argc, argv, 3,
            {"codes", "policy", "date", "output", "kind", "family", "group", "id", "name", "status",
             "status-group"},
            {"partial"});
  if (const int code = help_or_usage_error(args, "catalog"); code >= 0) return code;
  if (sub == "import") return import_command(args);
  if (sub == "diff") return diff_command(args);
  if (sub == "dump") return dump_command(args);
  if (sub == "lookup") return lookup_command(args);
  if (sub == "check") return check_command(args);
  if (sub == "explain" || sub == "review") {
    const auto catalog = load(args);
    if (!catalog) return 2;
    return sub == "explain" ? explain_command(args, *catalog) : review_command(*catalog);
  }
  return usage_error("catalog",
                     sub.empty() ? "a subcommand is expected" : "unknown subcommand '" + sub + "'");
}

}  // namespace dlr::app

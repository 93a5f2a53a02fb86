#include "dlr/catalog/loader.h"

#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <cstdlib>
#include <fstream>
#include <map>
#include <set>
#include <sstream>
#include <tuple>

#include "yaml_checker.h"

#ifndef DLR_CATALOG_SOURCE_DIR
#define DLR_CATALOG_SOURCE_DIR "catalog"
#endif

namespace dlr::catalog {
namespace {

// One entry's fields; reports every problem. False when the entry cannot be used.
bool read_entry(Checker& check, const YAML::Node& node, Entry& e) {
  bool ok = true;
  for (const char* key : {"kind", "family", "id", "name", "description"})
    ok &= check.require(node, key, "entry");
  if (!ok) return false;
  std::string text;
  if (check.get(node["kind"], "kind", text) && !parse_kind(text, e.kind)) {
    check.error(node["kind"], "kind must be status or error, got '" + text + "'");
    ok = false;
  }
  if (check.get(node["family"], "family", text) && !parse_family(text, e.family)) {
    check.error(node["family"], "unknown family '" + text + "' (known: " + family_names() + ")");
    ok = false;
  }
  ok &= check.get(node["id"], "id", e.id);
  ok &= check.get(node["name"], "name", e.name);
  ok &= check.get(node["description"], "description", e.description);
  ok &= check.get_optional_int(node["group_id"], "group_id", e.group_id);
  if (node["group_name"]) ok &= check.get(node["group_name"], "group_name", e.group_name);
  if (node["group_title"]) ok &= check.get(node["group_title"], "group_title", e.group_title);
  if (node["resolution"]) ok &= check.get(node["resolution"], "resolution", e.resolution);
  if (node["section"]) ok &= check.get(node["section"], "section", e.section);
  if (const auto p = node["permanent"]; p && !p.IsNull()) {
    bool flag = false;
    if (check.get(p, "permanent", flag))
      e.permanent = flag;
    else
      ok = false;
  }
  if (const auto aliases = node["aliases"]; aliases) {
    if (!aliases.IsSequence()) {
      check.error(aliases, "aliases must be a list of names");
      ok = false;
    } else {
      for (const auto& a : aliases) {
        std::string alias;
        if (check.get(a, "aliases", alias))
          e.aliases.push_back(alias);
        else
          ok = false;
      }
    }
  }
  if (const auto extra = node["extra"]; extra) {
    if (!extra.IsMap()) {
      check.error(extra, "extra must be a map of column name to text");
      ok = false;
    } else {
      for (const auto& kv : extra) {
        Extra x;
        x.key = kv.first.as<std::string>();
        if (check.get(kv.second, "extra", x.value))
          e.extra.push_back(std::move(x));
        else
          ok = false;
      }
    }
  }
  if (e.name.empty()) {
    check.error(node["name"], "name must not be empty");
    ok = false;
  }
  return ok;
}

}  // namespace

CodesDocument parse_codes(std::string_view yaml, std::string_view file,
                          std::vector<Diagnostic>& diagnostics) {
  CodesDocument doc;
  YAML::Node root;
  if (!load_yaml(yaml, file, diagnostics, root)) return doc;
  Checker check(file, diagnostics);
  if (!root.IsMap()) {
    check.error(root, "top level must be a map with 'source' and 'entries'");
    return doc;
  }
  check.reject_unknown_keys(root, {"source", "entries"}, "the catalogue");
  if (const auto source = root["source"]; source && source.IsMap()) {
    check.reject_unknown_keys(source, {"title", "date", "page"}, "source");
    if (check.require(source, "date", "source")) check.get(source["date"], "date", doc.source.date);
    if (source["title"]) check.get(source["title"], "title", doc.source.title);
    if (source["page"]) check.get(source["page"], "page", doc.source.page);
  } else {
    check.error(root, "'source' must be a map with title, date and page");
  }
  const auto entries = root["entries"];
  if (!entries || !entries.IsSequence()) {
    check.error(root, "'entries' must be a list");
    return doc;
  }
  const std::set<std::string> known = {"kind",       "family",  "group_id", "group_name", "group_title",
                                       "id",         "name",    "aliases",  "permanent",  "description",
                                       "resolution", "section", "extra"};
  std::map<std::tuple<int, int, int, int>, std::pair<int, size_t>> seen;
  for (const auto& node : entries) {
    if (!node.IsMap()) {
      check.error(node, "each entry must be a map");
      continue;
    }
    check.reject_unknown_keys(node, known, "an entry");
    Entry e;
    if (!read_entry(check, node, e)) continue;
    const int line = node.Mark().line + 1;
    const auto key =
        std::make_tuple(static_cast<int>(e.family), static_cast<int>(e.kind), e.group_id.value_or(-1), e.id);
    if (auto [it, inserted] = seen.emplace(key, std::make_pair(line, doc.entries.size())); !inserted) {
      // Allowed only for a code the page lists under two names: each entry names the other.
      const Entry& other = doc.entries[it->second.second];
      const bool aliased =
          std::find(e.aliases.begin(), e.aliases.end(), other.name) != e.aliases.end() &&
          std::find(other.aliases.begin(), other.aliases.end(), e.name) != other.aliases.end();
      if (!aliased) {
        check.error(line, "duplicate entry: " + std::string(to_string(e.family)) + " " +
                              std::string(to_string(e.kind)) + " " + std::to_string(e.id) +
                              " in the same group as the entry at line " + std::to_string(it->second.first) +
                              " (two names for one code must list each other in aliases)");
        continue;
      }
    }
    doc.entries.push_back(std::move(e));
  }
  return doc;
}

bool read_file(const std::string& path, std::string& out, std::string& error) {
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    error = "cannot open " + path;
    return false;
  }
  std::ostringstream buffer;
  buffer << in.rdbuf();
  out = std::move(buffer).str();
  return true;
}

Loaded load_catalog(const std::string& codes_path, const std::string& policy_path) {
  Loaded loaded;
  std::string codes_text, policy_text, error;
  if (!read_file(codes_path, codes_text, error)) loaded.diagnostics.push_back({codes_path, 0, error});
  if (!read_file(policy_path, policy_text, error)) loaded.diagnostics.push_back({policy_path, 0, error});
  if (!loaded.diagnostics.empty()) return loaded;
  try {
    CodesDocument codes = parse_codes(codes_text, codes_path, loaded.diagnostics);
    Policy policy = parse_policy(policy_text, policy_path, loaded.diagnostics);
    if (!loaded.diagnostics.empty()) return loaded;
    char hex[17];
    const uint64_t hash = content_hash(policy_text, content_hash(codes_text));
    std::snprintf(hex, sizeof hex, "%016llx", static_cast<unsigned long long>(hash));
    std::string version = codes.source.date + "+" + std::string(hex, 12);
    loaded.catalog = Catalog::build(std::move(codes), std::move(policy), std::move(version),
                                    loaded.diagnostics, policy_path);
  } catch (const std::exception& e) {  // a yaml-cpp surprise must still end as a diagnostic
    loaded.diagnostics.push_back({codes_path, 0, std::string("unexpected error: ") + e.what()});
    loaded.catalog.reset();
  }
  return loaded;
}

std::string default_codes_path() {
  const char* dir = std::getenv("DLR_CATALOG_DIR");
  return std::string(dir && *dir ? dir : DLR_CATALOG_SOURCE_DIR) + "/codes.yaml";
}

std::string default_policy_path() {
  const char* dir = std::getenv("DLR_CATALOG_DIR");
  return std::string(dir && *dir ? dir : DLR_CATALOG_SOURCE_DIR) + "/policy.yaml";
}

}  // namespace dlr::catalog

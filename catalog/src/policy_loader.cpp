// policy.yaml: rules, sending windows and defaults, with every problem reported.
#include <date/tz.h>
#include <yaml-cpp/yaml.h>

#include <map>
#include <memory>

#include "dlr/catalog/loader.h"
#include "yaml_checker.h"

namespace dlr::catalog {
namespace {

using Windows = std::map<std::string, std::shared_ptr<const SendingWindow>, std::less<>>;

// "HH:MM", 00:00 to 24:00.
bool parse_clock(std::string_view text, int& minute_of_day) {
  const auto digit = [&](size_t i) { return i < text.size() && text[i] >= '0' && text[i] <= '9'; };
  if (text.size() != 5 || text[2] != ':' || !digit(0) || !digit(1) || !digit(3) || !digit(4)) return false;
  const int hours = (text[0] - '0') * 10 + (text[1] - '0');
  const int minutes = (text[3] - '0') * 10 + (text[4] - '0');
  minute_of_day = hours * 60 + minutes;
  return minutes < 60 && minute_of_day <= 24 * 60;
}

bool read_clock(Checker& check, const YAML::Node& window, const char* key, int& out) {
  std::string text;
  if (!check.require(window, key, "a window") || !check.get(window[key], key, text)) return false;
  if (parse_clock(text, out)) return true;
  check.error(window[key], std::string(key) + " must be a local time HH:MM, got '" + text + "'");
  return false;
}

bool read_days(Checker& check, const YAML::Node& node, uint8_t& out) {
  if (!node.IsSequence() || node.size() == 0) {
    check.error(node, "days must be a list of mon, tue, wed, thu, fri, sat, sun");
    return false;
  }
  out = 0;
  bool ok = true;
  for (const auto& item : node) {
    int bit = 0;
    while (bit < 7 && (!item.IsScalar() || SendingWindow::day_name(bit) != item.Scalar())) ++bit;
    if (bit < 7) {
      out = static_cast<uint8_t>(out | (1U << bit));
    } else {
      check.error(item, "unknown day '" + (item.IsScalar() ? item.Scalar() : std::string()) +
                            "' (known: mon, tue, wed, thu, fri, sat, sun)");
      ok = false;
    }
  }
  return ok;
}

bool resolve_zone(Checker& check, const YAML::Node& at, SendingWindow& w) {
  try {
    w.tz = date::locate_zone(w.zone);
    (void)w.next_open(0);  // reads the zone's rules now, not on the first retry
    return true;
  } catch (const std::exception& e) {
    check.error(at, "unknown time zone '" + w.zone +
                        "' (an IANA name such as Asia/Kolkata, read from the system's tzdata): " + e.what());
    return false;
  }
}

bool read_window(Checker& check, const YAML::Node& node, SendingWindow& w) {
  if (!node.IsMap()) {
    check.error(node, "a window must be a map with opens, closes and zone (and days)");
    return false;
  }
  check.reject_unknown_keys(node, {"opens", "closes", "zone", "days"}, "a window");
  bool ok = read_clock(check, node, "opens", w.opens_min);
  ok = read_clock(check, node, "closes", w.closes_min) && ok;
  if (ok && w.opens_min == w.closes_min) {
    check.error(node, "window '" + w.name + "' opens and closes at the same time");
    ok = false;
  }
  if (node["days"]) ok = read_days(check, node["days"], w.days) && ok;
  if (!check.require(node, "zone", "a window") || !check.get(node["zone"], "zone", w.zone)) return false;
  return resolve_zone(check, node["zone"], w) && ok;
}

Windows read_windows(Checker& check, const YAML::Node& node) {
  Windows windows;
  if (!node.IsMap()) {
    check.error(node, "windows must be a map of name to {opens, closes, zone, days}");
    return windows;
  }
  for (const auto& kv : node) {
    auto w = std::make_shared<SendingWindow>();
    w->name = kv.first.as<std::string>();
    if (read_window(check, kv.second, *w)) windows.emplace(w->name, std::move(w));
  }
  return windows;
}

bool read_retry(Checker& check, const YAML::Node& node, const Windows& windows, RetryHint& out) {
  if (!node.IsMap()) {
    check.error(node, "retry must be a map with not_before_s and max_attempts (or window and max_attempts)");
    return false;
  }
  check.reject_unknown_keys(node, {"not_before_s", "max_attempts", "window"}, "retry");
  bool ok = true;
  if (const auto window = node["window"]; window) {
    std::string name;
    const auto it = check.get(window, "window", name) ? windows.find(name) : windows.end();
    if (it != windows.end()) {
      out.window = it->second;
    } else {
      std::string known;
      for (const auto& [n, w] : windows) known += (known.empty() ? "" : ", ") + n;
      check.error(window, "unknown window '" + name +
                              "' (the policy's windows: " + (known.empty() ? "none" : known) + ")");
      ok = false;
    }
  }
  // With a window the wait may be left out: the next opening is the wait.
  if (node["not_before_s"] || !node["window"])
    ok = check.require(node, "not_before_s", "retry") &&
         check.get(node["not_before_s"], "not_before_s", out.not_before_s) && ok;
  ok = check.require(node, "max_attempts", "retry") &&
       check.get(node["max_attempts"], "max_attempts", out.max_attempts) && ok;
  if (ok && (out.not_before_s < 0 || out.max_attempts < 1)) {
    check.error(node, "retry needs not_before_s >= 0 and max_attempts >= 1");
    ok = false;
  }
  return ok;
}

bool read_match(Checker& check, const YAML::Node& match, Rule& rule) {
  if (!match.IsMap()) {
    check.error(match, "match must be a map");
    return false;
  }
  bool ok = true;
  check.reject_unknown_keys(match, {"kind", "family", "group", "id", "name"}, "match");
  std::string text;
  if (match["kind"]) {
    Kind kind{};
    if (check.get(match["kind"], "kind", text) && parse_kind(text, kind))
      rule.kind = kind;
    else {
      check.error(match["kind"], "kind must be status or error");
      ok = false;
    }
  }
  if (match["family"]) {
    Family family{};
    if (check.get(match["family"], "family", text) && parse_family(text, family))
      rule.family = family;
    else {
      check.error(match["family"], "unknown family '" + text + "' (known: " + family_names() + ")");
      ok = false;
    }
  }
  if (match["group"]) ok &= check.get_optional_int(match["group"], "group", rule.group);
  if (match["id"]) ok &= check.get_optional_int(match["id"], "id", rule.id);
  if (match["name"]) {
    if (check.get(match["name"], "name", text))
      rule.code_name = text;
    else
      ok = false;
  }
  if (match.size() == 0) {
    check.error(match, "match must name at least one of kind, family, group, id, name");
    ok = false;
  }
  return ok;
}

// `quote:` is one string or a list of them, none empty.
bool read_quotes(Checker& check, const YAML::Node& node, std::vector<std::string>& out) {
  const auto one = [&](const YAML::Node& item) {
    std::string text;
    if (!check.get(item, "quote", text)) return false;
    if (text.empty()) {
      check.error(item, "a quote must not be empty");
      return false;
    }
    out.push_back(std::move(text));
    return true;
  };
  if (!node.IsSequence()) return one(node);
  bool ok = node.size() > 0;
  if (!ok) check.error(node, "quote must name at least one passage");
  for (const auto& item : node) ok = one(item) && ok;
  return ok;
}

// One rule; false when it cannot be used (every problem reported). `names` finds duplicates.
bool read_rule(Checker& check, const YAML::Node& node, const Windows& windows,
               std::map<std::string, int>& names, Rule& rule) {
  check.reject_unknown_keys(node, {"name", "match", "outcome", "final", "retry", "reason", "quote", "firm"},
                            "a rule");
  rule.line = node.Mark().line + 1;
  bool ok = check.require(node, "name", "rule") && check.get(node["name"], "name", rule.name);
  ok = check.require(node, "reason", "rule") && check.get(node["reason"], "reason", rule.reason) && ok;
  if (ok) {
    if (auto [it, inserted] = names.emplace(rule.name, rule.line); !inserted) {
      check.error(
          node, "duplicate rule name '" + rule.name + "' (first at line " + std::to_string(it->second) + ")");
      ok = false;
    }
  }
  ok = check.require(node, "match", "rule") && read_match(check, node["match"], rule) && ok;
  if (node["outcome"]) {
    std::string text;
    Outcome outcome{};
    if (check.get(node["outcome"], "outcome", text) && parse_outcome(text, outcome)) {
      rule.outcome = outcome;
    } else {
      check.error(node["outcome"], "outcome must be delivered, pending, retryable or permanent");
      ok = false;
    }
  }
  if (node["final"]) {
    bool final = false;
    ok = check.get(node["final"], "final", final) && ok;
    rule.final = final;
  }
  if (const auto quote = node["quote"]; quote) ok = read_quotes(check, quote, rule.quotes) && ok;
  if (node["firm"]) ok = check.get(node["firm"], "firm", rule.firm) && ok;
  if (node["retry"]) {
    RetryHint hint;
    ok = read_retry(check, node["retry"], windows, hint) && ok;
    rule.retry = std::move(hint);
  }
  return ok;
}

}  // namespace

Policy parse_policy(std::string_view yaml, std::string_view file, std::vector<Diagnostic>& diagnostics) {
  Policy policy;
  YAML::Node root;
  if (!load_yaml(yaml, file, diagnostics, root)) return policy;
  Checker check(file, diagnostics);
  if (!root.IsMap()) {
    check.error(root, "top level must be a map with 'defaults' and 'rules'");
    return policy;
  }
  check.reject_unknown_keys(root, {"defaults", "windows", "rules"}, "the policy");
  const Windows windows = root["windows"] ? read_windows(check, root["windows"]) : Windows{};
  for (const auto& [name, w] : windows) policy.windows.push_back(w);
  if (const auto defaults = root["defaults"]; defaults) {
    if (defaults.IsMap()) {
      check.reject_unknown_keys(defaults, {"retry"}, "defaults");
      if (defaults["retry"]) read_retry(check, defaults["retry"], windows, policy.default_retry);
    } else {
      check.error(defaults, "defaults must be a map");
    }
  }
  const auto rules = root["rules"];
  if (!rules || !rules.IsSequence()) {
    check.error(root, "'rules' must be a list");
    return policy;
  }
  std::map<std::string, int> names;
  for (const auto& node : rules) {
    if (!node.IsMap()) {
      check.error(node, "each rule must be a map");
      continue;
    }
    Rule rule;
    if (read_rule(check, node, windows, names, rule)) policy.rules.push_back(std::move(rule));
  }
  return policy;
}

}  // namespace dlr::catalog

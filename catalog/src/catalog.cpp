#include "dlr/catalog/catalog.h"

#include <algorithm>
#include <bit>
#include <cctype>
#include <map>
#include <set>

namespace dlr::catalog {
namespace {

constexpr uint64_t kEmptyKey = ~0ULL;

uint64_t family_key(Family family, Kind kind, int id) {
  return (static_cast<uint64_t>(family) << 33) | (static_cast<uint64_t>(kind) << 32) |
         static_cast<uint32_t>(id);
}
uint64_t code_key(Kind kind, int id) {
  return (static_cast<uint64_t>(kind) << 32) | static_cast<uint32_t>(id);
}

uint64_t mix(uint64_t key) {
  return key * 0x9E3779B97F4A7C15ULL;
}

bool iequals(std::string_view a, std::string_view b) {
  return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) {
           return std::tolower(static_cast<unsigned char>(x)) == std::tolower(static_cast<unsigned char>(y));
         });
}

// Resolves the policy for one entry; false when nothing decides its outcome.
bool decide(const Entry& entry, const Policy& policy, Decision& out, std::vector<bool>& used,
            const Rule** rule_out = nullptr) {
  const Rule* best = nullptr;
  size_t best_index = 0;
  for (size_t i = 0; i < policy.rules.size(); ++i) {
    const Rule& rule = policy.rules[i];
    if (rule.matches(entry) && (!best || rule.specificity() > best->specificity())) {
      best = &rule;
      best_index = i;
    }
  }
  if (best) used[best_index] = true;
  if (rule_out) *rule_out = best;
  if (best && best->outcome) {
    out.outcome = *best->outcome;
  } else if (entry.permanent) {
    out.outcome = *entry.permanent ? Outcome::permanent : Outcome::retryable;
  } else {
    return false;
  }
  if (best) {
    out.rule = best->name;
    out.reason = best->reason;
  } else {
    out.rule = "vendor-flag";
    out.reason = *entry.permanent ? "The vendor flags this error permanent."
                                  : "The vendor flags this error temporary.";
  }
  out.final = best && best->final ? *best->final : out.outcome != Outcome::pending;
  out.retry = best && best->retry ? *best->retry : policy.default_retry;
  out.firm = best && best->firm;
  return true;
}

bool quotes_entry(const Rule& rule, const Entry& entry) {
  for (const std::string& quote : rule.quotes) {
    for (const std::string* text :
         {&entry.description, &entry.resolution, &entry.group_name, &entry.group_title})
      if (text->find(quote) != std::string::npos) return true;
  }
  return false;
}

// A decision must rest on the vendor's words where it is ours rather than the page's: against the
// vendor's own flag, or by a rule for one code where the page gives no flag. The rule then quotes
// a passage of that entry's description, resolution or group. "" when it does, else the problem.
std::string unsupported_decision(const Entry& entry, const Decision& decision, const Rule* rule) {
  const auto flagged = flagged_outcome(entry);
  const bool overrides = flagged && decision.outcome != *flagged;
  const bool one_code = !flagged && rule && (rule->id || rule->code_name);
  if (!overrides && !one_code) return {};
  std::string what = std::string(to_string(entry.family)) + " " + std::string(to_string(entry.kind)) + " " +
                     std::to_string(entry.id) + " " + entry.name;
  what = overrides ? "overrides the vendor's flag of " + what + " (flagged " +
                         (*entry.permanent ? "permanent" : "temporary") + ", decided " +
                         std::string(to_string(decision.outcome)) + ")"
                   : "decides " + what + ", which the page gives no flag, " +
                         std::string(to_string(decision.outcome));
  if (!rule || rule->quotes.empty())
    return "rule '" + decision.rule + "' " + what +
           " without quoting the vendor's words it rests on (quote:)";
  if (quotes_entry(*rule, entry)) return {};
  return "rule '" + decision.rule + "' " + what + ", but none of its quotes is in that entry's text";
}

}  // namespace

std::optional<Outcome> flagged_outcome(const Entry& entry) noexcept {
  if (!entry.permanent) return std::nullopt;
  return *entry.permanent ? Outcome::permanent : Outcome::retryable;
}

const Rule* Catalog::rule(std::string_view name) const noexcept {
  for (const Rule& r : policy_.rules)
    if (r.name == name) return &r;
  return nullptr;
}

std::string_view to_string(MatchKind kind) noexcept {
  switch (kind) {
    case MatchKind::channel:
      return "channel";
    case MatchKind::general:
      return "general";
    case MatchKind::unique:
      return "unique";
    case MatchKind::ambiguous:
      return "ambiguous";
    case MatchKind::unknown:
      return "unknown";
  }
  return "unknown";
}

uint64_t content_hash(std::string_view bytes, uint64_t seed) noexcept {
  uint64_t hash = seed;
  for (unsigned char c : bytes) {
    hash ^= c;
    hash *= 0x100000001b3ULL;
  }
  return hash;
}

void Catalog::IntIndex::build(const std::vector<std::pair<uint64_t, Span>>& items) {
  const size_t capacity = std::bit_ceil(std::max<size_t>(16, items.size() * 2));
  keys.assign(capacity, kEmptyKey);
  values.assign(capacity, Span{});
  mask = capacity - 1;
  for (const auto& [key, span] : items) {
    uint64_t slot = mix(key) >> 32 & mask;
    while (keys[slot] != kEmptyKey) slot = (slot + 1) & mask;
    keys[slot] = key;
    values[slot] = span;
  }
}

const Catalog::Span* Catalog::IntIndex::find(uint64_t key) const noexcept {
  if (keys.empty()) return nullptr;
  for (uint64_t slot = mix(key) >> 32 & mask;; slot = (slot + 1) & mask) {
    if (keys[slot] == key) return &values[slot];
    if (keys[slot] == kEmptyKey) return nullptr;
  }
}

std::shared_ptr<const Catalog> Catalog::build(CodesDocument codes, Policy policy, std::string version,
                                              std::vector<Diagnostic>& diagnostics,
                                              std::string_view policy_file) {
  auto catalog = std::shared_ptr<Catalog>(new Catalog());
  const size_t errors_before = diagnostics.size();
  std::vector<bool> used(policy.rules.size(), false);

  std::sort(codes.entries.begin(), codes.entries.end(), [](const Entry& a, const Entry& b) {
    return std::make_tuple(a.family, a.kind, a.id, a.group_id.value_or(-1)) <
           std::make_tuple(b.family, b.kind, b.id, b.group_id.value_or(-1));
  });
  catalog->entries_.reserve(codes.entries.size());
  for (Entry& entry : codes.entries) {
    CompiledEntry compiled;
    const Rule* rule = nullptr;
    if (!decide(entry, policy, compiled.decision, used, &rule)) {
      diagnostics.push_back({std::string(policy_file), 0,
                             "no outcome for " + std::string(to_string(entry.family)) + " " +
                                 std::string(to_string(entry.kind)) + " " + std::to_string(entry.id) + " " +
                                 entry.name + ": the page gives no permanent flag and no rule decides it"});
      continue;
    }
    if (std::string problem = unsupported_decision(entry, compiled.decision, rule); !problem.empty())
      diagnostics.push_back({std::string(policy_file), rule ? rule->line : 0, std::move(problem)});
    compiled.entry = std::move(entry);
    catalog->entries_.push_back(std::move(compiled));
  }

  catalog->decide_fallbacks(policy, used);
  catalog->number_decisions();

  for (size_t i = 0; i < policy.rules.size(); ++i) {
    if (!used[i]) {
      diagnostics.push_back(
          {std::string(policy_file), policy.rules[i].line,
           "rule '" + policy.rules[i].name + "' decides no catalogue entry or status group (a typo?)"});
    }
  }

  catalog->build_indexes();

  catalog->policy_ = std::move(policy);
  catalog->source_ = std::move(codes.source);
  catalog->version_ = std::move(version);
  if (diagnostics.size() != errors_before) return nullptr;
  return catalog;
}

void Catalog::decide_fallbacks(const Policy& policy, std::vector<bool>& used) {
  // Status codes the catalogue does not list are decided by their group, as the page defines groups.
  for (int group = 0; group < static_cast<int>(status_groups_.size()); ++group) {
    Entry probe;
    probe.kind = Kind::status;
    probe.group_id = group;
    probe.id = -1;
    Decision decision;
    if (decide(probe, policy, decision, used)) status_groups_[group] = std::make_unique<Decision>(decision);
  }
  for (const bool permanent : {false, true}) {
    auto& d = report_flags_[permanent ? 1 : 0];
    d = std::make_unique<Decision>();
    d->outcome = permanent ? Outcome::permanent : Outcome::retryable;
    d->final = true;
    d->rule = "report-flag";
    d->reason = permanent ? "Code unknown to the catalogue: the report flags it permanent."
                          : "Code unknown to the catalogue: the report flags it temporary.";
    d->retry = policy.default_retry;
  }
}

void Catalog::build_indexes() {
  std::vector<std::pair<uint64_t, Span>> family_items;
  for (uint32_t i = 0; i < entries_.size();) {
    const Entry& e = entries_[i].entry;
    uint32_t j = i;
    while (j < entries_.size() && entries_[j].entry.family == e.family && entries_[j].entry.kind == e.kind &&
           entries_[j].entry.id == e.id) {
      ++j;
    }
    family_items.push_back({family_key(e.family, e.kind, e.id), Span{i, j - i}});
    i = j;
  }
  family_index_.build(family_items);

  by_code_.resize(entries_.size());
  for (uint32_t i = 0; i < entries_.size(); ++i) by_code_[i] = i;
  std::stable_sort(by_code_.begin(), by_code_.end(), [&](uint32_t a, uint32_t b) {
    return std::make_pair(entries_[a].entry.kind, entries_[a].entry.id) <
           std::make_pair(entries_[b].entry.kind, entries_[b].entry.id);
  });
  std::vector<std::pair<uint64_t, Span>> code_items;
  for (uint32_t i = 0; i < by_code_.size();) {
    const Entry& e = entries_[by_code_[i]].entry;
    uint32_t j = i;
    while (j < by_code_.size() && entries_[by_code_[j]].entry.kind == e.kind &&
           entries_[by_code_[j]].entry.id == e.id) {
      ++j;
    }
    code_items.push_back({code_key(e.kind, e.id), Span{i, j - i}});
    i = j;
  }
  code_index_.build(code_items);
}

void Catalog::number_decisions() {
  std::vector<Decision*> all;
  for (auto& e : entries_) all.push_back(&e.decision);
  for (auto& d : status_groups_)
    if (d) all.push_back(d.get());
  for (auto& d : report_flags_) all.push_back(d.get());
  for (size_t i = 0; i < all.size(); ++i) all[i]->id = static_cast<uint32_t>(i);
  decisions_.assign(all.begin(), all.end());
}

const CompiledEntry* Catalog::pick(const Span& span, int group, std::string_view name,
                                   bool& group_mismatch) const noexcept {
  // The report's group decides between same-id entries (status 87 in groups 4 and 5), then its name.
  const CompiledEntry* best = nullptr;
  int best_score = -1;
  for (uint32_t i = span.first; i < span.first + span.count; ++i) {
    const CompiledEntry& candidate = entries_[i];
    const int score = (group >= 0 && candidate.entry.group_id == group ? 2 : 0) +
                      (!name.empty() && candidate.entry.name == name ? 1 : 0);
    if (score > best_score) {
      best = &candidate;
      best_score = score;
    }
  }
  if (!best) return nullptr;  // an empty span: nothing to choose from
  group_mismatch = group >= 0 && best->entry.group_id.has_value() && *best->entry.group_id != group;
  return best;
}

Match Catalog::find(Kind kind, std::span<const Family> families, int id, int group,
                    std::string_view name) const noexcept {
  Match match;
  for (Family family : families) {
    if (const Span* span = family_index_.find(family_key(family, kind, id))) {
      match.entry = pick(*span, group, name, match.group_mismatch);
      match.how = family == Family::general ? MatchKind::general : MatchKind::channel;
      return match;
    }
  }
  if (const Span* span = family_index_.find(family_key(Family::general, kind, id))) {
    match.entry = pick(*span, group, name, match.group_mismatch);
    match.how = MatchKind::general;
    return match;
  }
  // Not in the channel's families nor in general: accept only a code that a single family defines.
  const Span* span = code_index_.find(code_key(kind, id));
  if (!span) return match;
  const Family first_family = entries_[by_code_[span->first]].entry.family;
  for (uint32_t i = span->first; i < span->first + span->count; ++i) {
    if (entries_[by_code_[i]].entry.family != first_family) {
      match.how = MatchKind::ambiguous;
      return match;
    }
  }
  if (const Span* own = family_index_.find(family_key(first_family, kind, id))) {
    match.entry = pick(*own, group, name, match.group_mismatch);
    match.how = MatchKind::unique;
  }
  return match;
}

const Decision* Catalog::status_group_decision(int group) const noexcept {
  if (group < 0 || group >= static_cast<int>(status_groups_.size())) return nullptr;
  return status_groups_[static_cast<size_t>(group)].get();
}

std::vector<const CompiledEntry*> Catalog::find_by_name(std::string_view name) const {
  std::vector<const CompiledEntry*> found;
  for (const auto& e : entries_) {
    bool hit = iequals(e.entry.name, name);
    for (const auto& alias : e.entry.aliases) hit |= iequals(alias, name);
    if (hit) found.push_back(&e);
  }
  return found;
}

}  // namespace dlr::catalog

// The compiled catalogue: immutable lookup tables over the codes, each entry with its decision.
#pragma once

#include <array>
#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "dlr/catalog/model.h"
#include "dlr/catalog/policy.h"

namespace dlr::catalog {

/// What the policy decided for a code (or a status group), resolved once at build time.
struct Decision {
  Outcome outcome = Outcome::pending;
  bool final = false;
  std::string rule;    ///< the rule's name, or "vendor-flag"
  std::string reason;  ///< why, in words
  RetryHint retry;     ///< meaningful when outcome is retryable
  /// A status decision the report's error does not replace (the rule's `firm`).
  bool firm = false;
  /// Dense index among the catalogue's decisions: decisions()[id] is this one. Lets a serializer
  /// keep per-decision data in a plain array.
  uint32_t id = 0;
};

struct CompiledEntry {
  Entry entry;
  Decision decision;
};

/// The outcome the vendor's permanent flag alone would give, when the entry has one.
[[nodiscard]] std::optional<Outcome> flagged_outcome(const Entry& entry) noexcept;

/// How a code was found.
enum class MatchKind : uint8_t {
  channel,    ///< in one of the channel's families
  general,    ///< in the general tables, the fallback
  unique,     ///< in exactly one other family (channel unknown or not bound)
  ambiguous,  ///< in several other families: not guessed, treated as unknown
  unknown,    ///< nowhere in the catalogue
};
[[nodiscard]] std::string_view to_string(MatchKind kind) noexcept;

struct Match {
  const CompiledEntry* entry = nullptr;
  MatchKind how = MatchKind::unknown;
  bool group_mismatch = false;  ///< found by id, but the report's group id differs
};

/// Immutable after build; share it read-only across threads through shared_ptr<const Catalog>.
class Catalog {
 public:
  /// Compiles codes and policy. Every entry must end with a decided outcome: entries the policy
  /// leaves undecided (no rule outcome and no vendor flag) are diagnostics, as are rules that
  /// match nothing. Returns null when there is any diagnostic.
  static std::shared_ptr<const Catalog> build(CodesDocument codes, Policy policy, std::string version,
                                              std::vector<Diagnostic>& diagnostics,
                                              std::string_view policy_file);

  /// Looks a code up: the channel's families in order (general need not be among them), then
  /// general, then a family that alone defines the code; several such families is `ambiguous`.
  /// Among entries with the same id in a family, the one of `group` (-1: none given) is chosen,
  /// and of those the one called `name` (the report's own name for the code) when there are two.
  /// Allocation-free and integer-indexed: this is on the per-message path.
  [[nodiscard]] Match find(Kind kind, std::span<const Family> families, int id, int group,
                           std::string_view name = {}) const noexcept;

  /// Decision for a status code the catalogue does not list, from its group (null if none).
  [[nodiscard]] const Decision* status_group_decision(int group) const noexcept;

  /// Decision for a code the catalogue does not know, taken from the report's own permanent flag.
  [[nodiscard]] const Decision& report_flag_decision(bool permanent) const noexcept {
    return *report_flags_[permanent ? 1 : 0];
  }

  /// Every decision the catalogue holds (entries, status groups, report flags), by Decision::id.
  [[nodiscard]] std::span<const Decision* const> decisions() const noexcept { return decisions_; }
  /// The entry's position in entries(): a dense index for per-entry data.
  [[nodiscard]] size_t index_of(const CompiledEntry& entry) const noexcept {
    return static_cast<size_t>(&entry - entries_.data());
  }

  /// Every entry whose name or alias equals `name` (case-insensitive).
  [[nodiscard]] std::vector<const CompiledEntry*> find_by_name(std::string_view name) const;

  [[nodiscard]] const std::vector<CompiledEntry>& entries() const noexcept { return entries_; }
  [[nodiscard]] const Policy& policy() const noexcept { return policy_; }
  /// The policy rule of that name, or null ("vendor-flag" and the fallbacks are no rule).
  [[nodiscard]] const Rule* rule(std::string_view name) const noexcept;
  [[nodiscard]] const Source& source() const noexcept { return source_; }
  /// "<source date>+<12 hex digits of the content hash of codes and policy>".
  [[nodiscard]] std::string_view version() const noexcept { return version_; }

 private:
  struct Span {
    uint32_t first = 0;
    uint32_t count = 0;
  };
  // Open addressing over integer keys; no string hashing.
  struct IntIndex {
    std::vector<uint64_t> keys;
    std::vector<Span> values;
    uint64_t mask = 0;
    void build(const std::vector<std::pair<uint64_t, Span>>& items);
    [[nodiscard]] const Span* find(uint64_t key) const noexcept;
  };

  void number_decisions();  // sets Decision::id and decisions_, once the tables are final
  // Decisions for codes the catalogue lacks: per status group, and from the report's own flag.
  void decide_fallbacks(const Policy& policy, std::vector<bool>& used);
  void build_indexes();  // the (family, kind, id) and (kind, id) lookup tables over entries_
  const CompiledEntry* pick(const Span& span, int group, std::string_view name,
                            bool& group_mismatch) const noexcept;

  std::vector<CompiledEntry> entries_;  // sorted by family, kind, id, group
  std::vector<uint32_t> by_code_;       // entry indices sorted by kind, id, family
  IntIndex family_index_;               // (family, kind, id) -> span of entries_
  IntIndex code_index_;                 // (kind, id) -> span of by_code_
  std::array<std::unique_ptr<Decision>, 16> status_groups_{};
  std::array<std::unique_ptr<Decision>, 2> report_flags_{};  // [temporary, permanent]
  std::vector<const Decision*> decisions_;
  Policy policy_;
  Source source_;
  std::string version_;
};

/// Hash used for the catalogue version (FNV-1a, 64 bits).
[[nodiscard]] uint64_t content_hash(std::string_view bytes, uint64_t seed = 0xcbf29ce484222325ULL) noexcept;

}  // namespace dlr::catalog

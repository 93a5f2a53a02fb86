// The classification policy: data that says what each code means for the sender.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "dlr/catalog/model.h"

namespace dlr::catalog {

enum class Outcome : uint8_t { delivered, pending, retryable, permanent };
[[nodiscard]] std::string_view to_string(Outcome outcome) noexcept;
[[nodiscard]] bool parse_outcome(std::string_view text, Outcome& out) noexcept;

/// When a failed message may be sent again, and how often at most.
struct RetryHint {
  int not_before_s = 0;  ///< seconds to wait before the next attempt
  int max_attempts = 0;  ///< attempts in all, the first one included
};

/// One policy rule. Every match field that is set must hold; the most specific matching rule
/// (id or name 8, group 4, family 2, kind 1, summed) decides, the first in the file on a tie.
struct Rule {
  std::string name;  ///< stable identifier, stamped on every report the rule decides
  std::optional<Kind> kind;
  std::optional<Family> family;
  std::optional<int> group;
  std::optional<int> id;
  std::optional<std::string> code_name;
  std::optional<Outcome> outcome;  ///< absent: the vendor's permanent flag decides
  std::optional<bool> final;       ///< absent: delivered/retryable/permanent are final, pending is not
  std::optional<RetryHint> retry;  ///< absent: the policy's default for retryable outcomes
  std::string reason;
  /// The vendor's words the rule rests on. Required where the rule overrides the vendor's flag:
  /// each entry it overrides must contain one of them (description, resolution or group).
  std::vector<std::string> quotes;
  /// A status rule whose verdict stands whatever the report's error says (see classify).
  bool firm = false;
  int line = 0;

  [[nodiscard]] int specificity() const noexcept;
  [[nodiscard]] bool matches(const Entry& entry) const noexcept;
};

struct Policy {
  RetryHint default_retry{600, 5};
  std::vector<Rule> rules;
};

}  // namespace dlr::catalog

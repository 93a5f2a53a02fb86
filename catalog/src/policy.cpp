#include "dlr/catalog/policy.h"

#include <algorithm>

namespace dlr::catalog {

std::string_view to_string(Outcome outcome) noexcept {
  switch (outcome) {
    case Outcome::delivered:
      return "delivered";
    case Outcome::pending:
      return "pending";
    case Outcome::retryable:
      return "retryable";
    case Outcome::permanent:
      return "permanent";
  }
  return "pending";
}

bool parse_outcome(std::string_view text, Outcome& out) noexcept {
  for (Outcome o : {Outcome::delivered, Outcome::pending, Outcome::retryable, Outcome::permanent}) {
    if (to_string(o) == text) {
      out = o;
      return true;
    }
  }
  return false;
}

int Rule::specificity() const noexcept {
  return (id || code_name ? 8 : 0) + (group ? 4 : 0) + (family ? 2 : 0) + (kind ? 1 : 0);
}

bool Rule::matches(const Entry& entry) const noexcept {
  if (kind && *kind != entry.kind) return false;
  if (family && *family != entry.family) return false;
  if (group && entry.group_id != group) return false;
  if (id && *id != entry.id) return false;
  if (code_name && *code_name != entry.name &&
      std::find(entry.aliases.begin(), entry.aliases.end(), *code_name) == entry.aliases.end()) {
    return false;
  }
  return true;
}

}  // namespace dlr::catalog

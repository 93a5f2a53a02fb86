#include "dlr/core/verdict.h"

namespace dlr::core {
namespace {
constexpr std::array<std::string_view, enum_count<Route>> kRouteNames = {"delivered", "pending", "retryable",
                                                                         "permanent", "invalid"};
constexpr std::array<std::string_view, enum_count<Destination>> kDestinationNames = {
    "enriched", "retry", "dead_letter", "analytics"};

template <class E, class Names>
std::optional<E> parse(std::string_view text, const Names& names) noexcept {
  for (size_t i = 0; i < names.size(); ++i)
    if (names[i] == text) return static_cast<E>(i);
  return std::nullopt;
}
}  // namespace

std::string_view to_string(Route route) noexcept {
  return kRouteNames[static_cast<size_t>(route)];
}
std::string_view to_string(Destination destination) noexcept {
  return kDestinationNames[static_cast<size_t>(destination)];
}
std::optional<Route> parse_route(std::string_view text) noexcept {
  return parse<Route>(text, kRouteNames);
}
std::optional<Destination> parse_destination(std::string_view text) noexcept {
  return parse<Destination>(text, kDestinationNames);
}

}  // namespace dlr::core

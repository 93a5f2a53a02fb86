// The route and destination vocabulary: what a report counts as, and where its records go.
// Config, metrics, the stage and the CLI all speak it; names are stable (config keys, metric
// labels).
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string_view>

#include "dlr/catalog/policy.h"

namespace dlr::core {

/// What a report is routed by: its outcome when classified, or invalid. Skipped reports are not
/// routed anywhere.
enum class Route : uint8_t { delivered, pending, retryable, permanent, invalid };
/// Where an output record goes; each has its own topic.
enum class Destination : uint8_t { enriched, retry, dead_letter, analytics };

template <class E>
inline constexpr size_t enum_count = 0;
template <>
inline constexpr size_t enum_count<Route> = 5;
template <>
inline constexpr size_t enum_count<Destination> = 4;

/// Every value of E, in order.
template <class E>
constexpr std::array<E, enum_count<E>> all() noexcept {
  std::array<E, enum_count<E>> values{};
  for (size_t i = 0; i < values.size(); ++i) values[i] = static_cast<E>(i);
  return values;
}

/// An array indexed by an enum: no magic indices.
template <class E, class T>
struct EnumArray {
  std::array<T, enum_count<E>> items{};
  T& operator[](E e) noexcept { return items[static_cast<size_t>(e)]; }
  const T& operator[](E e) const noexcept { return items[static_cast<size_t>(e)]; }
  auto begin() noexcept { return items.begin(); }
  auto end() noexcept { return items.end(); }
  [[nodiscard]] auto begin() const noexcept { return items.begin(); }
  [[nodiscard]] auto end() const noexcept { return items.end(); }
};

[[nodiscard]] std::string_view to_string(Route route) noexcept;
[[nodiscard]] std::string_view to_string(Destination destination) noexcept;
/// Parses the names to_string gives; nullopt when unknown.
[[nodiscard]] std::optional<Route> parse_route(std::string_view text) noexcept;
[[nodiscard]] std::optional<Destination> parse_destination(std::string_view text) noexcept;

/// The route of a classified report's outcome.
[[nodiscard]] constexpr Route route_of(catalog::Outcome outcome) noexcept {
  return static_cast<Route>(static_cast<uint8_t>(outcome));  // the outcomes are the first routes
}
static_assert(static_cast<int>(catalog::Outcome::permanent) == static_cast<int>(Route::permanent));

}  // namespace dlr::core

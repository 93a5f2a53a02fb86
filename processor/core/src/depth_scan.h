// The nesting limit, held over the whole message: On-Demand checks depth only in what it visits,
// and consumers parse everything we pass through.
#pragma once

#include <cstddef>
#include <cstdint>

namespace dlr::core {

/// The offset of the first bracket (outside strings) nested deeper than `limit`, or -1.
[[nodiscard]] int64_t nesting_beyond(const char* p, size_t n, size_t limit) noexcept;

}  // namespace dlr::core

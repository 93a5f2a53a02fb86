#include "depth_scan.h"

#include <immintrin.h>

#include <array>
#include <bit>

namespace dlr::core {
namespace {

struct NestingState {
  size_t depth = 0;
  bool in_string = false;
};

// Scans [i, end) byte by byte; `i` may end past `end` when the last byte escapes the next.
int64_t nesting_scalar(const char* p, size_t& i, size_t end, size_t limit, NestingState& s) noexcept {
  static constexpr auto kSpecial = [] {
    std::array<bool, 256> table{};
    for (unsigned char c : {'"', '\\', '[', '{', ']', '}'}) table[c] = true;
    return table;
  }();
  for (; i < end; ++i) {
    const auto c = static_cast<unsigned char>(p[i]);
    if (!kSpecial[c]) continue;
    if (s.in_string) {
      if (c == '\\')
        ++i;
      else if (c == '"')
        s.in_string = false;
    } else if (c == '"') {
      s.in_string = true;
    } else if (c == '[' || c == '{') {
      if (++s.depth > limit) return static_cast<int64_t>(i);
    } else if (c != '\\' && s.depth > 0) {  // a close; a backslash outside a string is just bad JSON
      --s.depth;
    }
  }
  return -1;
}

#if defined(__AVX2__) && defined(__PCLMUL__)
uint64_t byte_mask(__m256i lo, __m256i hi, char c) noexcept {
  const __m256i v = _mm256_set1_epi8(c);
  const auto a = static_cast<uint32_t>(_mm256_movemask_epi8(_mm256_cmpeq_epi8(lo, v)));
  const auto b = static_cast<uint32_t>(_mm256_movemask_epi8(_mm256_cmpeq_epi8(hi, v)));
  return a | (static_cast<uint64_t>(b) << 32);
}
// Bit k = XOR of bits 0..k: 1 from an opening quote up to (not including) its closing quote.
uint64_t prefix_xor(uint64_t bits) noexcept {
  const __m128i r =
      _mm_clmulepi64_si128(_mm_set_epi64x(0, static_cast<long long>(bits)), _mm_set1_epi8(-1), 0);
  return static_cast<uint64_t>(_mm_cvtsi128_si64(r));
}
#endif

}  // namespace

// On-Demand checks depth only in what it visits; a deep array it skips passes unchecked, and
// consumers parse everything we pass through, so the whole message is held to the limit.
// 64 bytes at a time: strings masked out with a carry-less multiply, brackets counted; a block
// with a backslash, or whose brackets could reach the limit, goes byte by byte.
// Returns the offset of the first bracket beyond `limit`, or -1.
int64_t nesting_beyond(const char* p, size_t n, size_t limit) noexcept {
  NestingState s;
  size_t i = 0;
#if defined(__AVX2__) && defined(__PCLMUL__)
  const __m256i case_bit = _mm256_set1_epi8(0x20);  // '[' | 0x20 == '{', ']' | 0x20 == '}'
  while (i + 64 <= n) {
    const __m256i lo = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(p + i));
    const __m256i hi = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(p + i + 32));
    if (byte_mask(lo, hi, '\\') != 0) {
      if (const int64_t at = nesting_scalar(p, i, i + 64, limit, s); at >= 0) return at;
      continue;
    }
    const uint64_t inside = prefix_xor(byte_mask(lo, hi, '"')) ^ (s.in_string ? ~0ULL : 0ULL);
    const __m256i lo_folded = _mm256_or_si256(lo, case_bit), hi_folded = _mm256_or_si256(hi, case_bit);
    const auto opens = static_cast<size_t>(std::popcount(byte_mask(lo_folded, hi_folded, '{') & ~inside));
    const auto closes = static_cast<size_t>(std::popcount(byte_mask(lo_folded, hi_folded, '}') & ~inside));
    if (s.depth + opens > limit || closes > s.depth) {  // near the limit, or a close at depth 0 (clamped)
      if (const int64_t at = nesting_scalar(p, i, i + 64, limit, s); at >= 0) return at;
      continue;
    }
    s.depth = s.depth + opens - closes;
    s.in_string = (inside >> 63) != 0;
    i += 64;
  }
#endif
  return nesting_scalar(p, i, n, limit, s);
}

}  // namespace dlr::core

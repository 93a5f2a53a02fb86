#include "mask.h"

#include <cstring>

namespace dlr::app {
namespace {

constexpr size_t kMinDigits = 7;   // shorter runs are counts and codes, not phone numbers
constexpr size_t kMaxDigits = 15;  // E.164's longest number

bool is_digit(char c) {
  return c >= '0' && c <= '9';
}
bool is_local_char(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || is_digit(c) ||
         std::strchr("._%+-", c) != nullptr;
}
bool is_domain_char(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || is_digit(c) || c == '.' || c == '-';
}

void star_digits(std::string& text, size_t from, size_t to) {  // [from, to), keeps the last two
  for (size_t i = from; i + 2 < to; ++i)
    if (is_digit(text[i])) text[i] = '*';
}

bool mask_emails(std::string& text) {
  bool masked = false;
  for (size_t at = text.find('@'); at != std::string::npos; at = text.find('@', at + 1)) {
    size_t begin = at;
    while (begin > 0 && is_local_char(text[begin - 1])) --begin;
    size_t end = at + 1;
    bool dot = false;
    while (end < text.size() && is_domain_char(text[end])) dot |= text[end++] == '.';
    if (begin == at || end == at + 1 || !dot) continue;
    if (at - begin == 4 && text.compare(begin + 1, 3, "***") == 0) continue;  // already masked
    text.replace(begin + 1, at - begin - 1, "***");
    at = begin + 4;
    masked = true;
  }
  return masked;
}

bool mask_phones(std::string& text) {
  bool masked = false;
  for (size_t i = 0; i < text.size(); ++i) {
    const char c = text[i];
    if (c == '+' && (i == 0 || !is_digit(text[i - 1]))) {
      size_t end = i + 1;
      while (end < text.size() && is_digit(text[end])) ++end;
      const size_t digits = end - i - 1;
      if (digits >= kMinDigits && digits <= kMaxDigits &&
          (end == text.size() || !is_domain_char(text[end]))) {
        star_digits(text, i + 1, end);
        masked = true;
      }
      i = end - 1;
    } else if (c == '"' || c == '\'') {
      size_t start = i + 1;
      if (start < text.size() && text[start] == '+') ++start;
      size_t end = start;
      while (end < text.size() && is_digit(text[end])) ++end;
      const size_t digits = end - start;
      if (end < text.size() && text[end] == c && digits >= kMinDigits && digits <= kMaxDigits) {
        star_digits(text, start, end);
        masked = true;
        i = end;  // the closing quote
      }
    }
  }
  return masked;
}

}  // namespace

bool mask_personal_data(std::string& text) {
  // The common line has neither: two scans for characters, then done.
  const bool maybe_email = text.find('@') != std::string::npos;
  const bool maybe_phone = text.find_first_of("+\"'") != std::string::npos;
  bool masked = false;
  if (maybe_email) masked |= mask_emails(text);
  if (maybe_phone) masked |= mask_phones(text);
  return masked;
}

}  // namespace dlr::app

// Cell text of the vendor's page without its markup: what `catalog import` stores.
#include <string>
#include <string_view>

#include "dlr/catalog/importer.h"
#include "text.h"

namespace dlr::catalog {
namespace {

using text::starts_with;
using text::trim;

std::string rewrite_tags(std::string_view in) {
  std::string out;
  out.reserve(in.size());
  size_t i = 0;
  while (i < in.size()) {
    if (in[i] != '<') {
      out.push_back(in[i++]);
      continue;
    }
    const size_t close = in.find('>', i);
    if (close == std::string_view::npos) {
      out.append(in.substr(i));
      break;
    }
    const std::string_view tag = in.substr(i + 1, close - i - 1);
    const bool is_br = tag == "br/" || tag == "br" || tag == "br /";
    std::string_view base;
    if (starts_with(tag, "apidocslink")) base = "https://www.infobip.com/docs/api/";
    if (starts_with(tag, "portallink")) base = "https://portal.infobip.com/";
    if (is_br) {
      out.push_back('\n');
      i = close + 1;
      continue;
    }
    if (!base.empty()) {
      const std::string name(tag.substr(0, tag.find(' ')));
      const size_t href = tag.find("href=\"");
      std::string target;
      if (href != std::string_view::npos) {
        const size_t start = href + 6;
        target = std::string(tag.substr(start, tag.find('"', start) - start));
      }
      const std::string end_tag = "</" + name + ">";
      const size_t text_end = in.find(end_tag, close + 1);
      if (text_end != std::string_view::npos) {
        out.append(in.substr(close + 1, text_end - close - 1));
        out.append(" (").append(base).append(target).append(")");
        i = text_end + end_tag.size();
        continue;
      }
    }
    i = close + 1;  // any other tag: keep only its text
  }
  return out;
}

// "[text](url)" -> "text (url)"; a mailto: link keeps just the address.
std::string rewrite_links(std::string_view in) {
  std::string out;
  out.reserve(in.size());
  size_t i = 0;
  while (i < in.size()) {
    if (in[i] == '[') {
      const size_t text_end = in.find("](", i);
      const size_t url_end = text_end == std::string_view::npos ? text_end : in.find(')', text_end);
      if (text_end != std::string_view::npos && url_end != std::string_view::npos &&
          in.substr(i, text_end - i).find('\n') == std::string_view::npos) {
        std::string_view url = in.substr(text_end + 2, url_end - text_end - 2);
        if (starts_with(url, "mailto:")) url.remove_prefix(7);
        out.append(in.substr(i + 1, text_end - i - 1)).append(" (").append(url).append(")");
        i = url_end + 1;
        continue;
      }
    }
    out.push_back(in[i++]);
  }
  return out;
}

bool is_word_char(char c) {
  return std::isalnum(static_cast<unsigned char>(c)) || c == '_';
}

// Drops emphasis marks: "**x**", "`x`" and "_x_" (only at word boundaries, so EC_CODE_NAMES survive).
std::string drop_emphasis(std::string_view in) {
  std::string out;
  out.reserve(in.size());
  for (size_t i = 0; i < in.size(); ++i) {
    const char c = in[i];
    if (c == '`') continue;
    if (c == '*' && i + 1 < in.size() && in[i + 1] == '*') {
      ++i;
      continue;
    }
    if (c == '_') {
      const bool opens = (i == 0 || !is_word_char(in[i - 1])) && i + 1 < in.size() &&
                         !std::isspace(static_cast<unsigned char>(in[i + 1]));
      const bool closes = i > 0 && !std::isspace(static_cast<unsigned char>(in[i - 1])) &&
                          (i + 1 == in.size() || !is_word_char(in[i + 1]));
      if (opens || closes) continue;
    }
    out.push_back(c);
  }
  return out;
}

// Trims every line and collapses runs of blanks; keeps single blank lines between paragraphs.
std::string tidy_whitespace(std::string_view in) {
  std::string out;
  size_t start = 0;
  int pending_newlines = 0;
  while (start <= in.size()) {
    size_t end = in.find('\n', start);
    if (end == std::string_view::npos) end = in.size();
    std::string_view line = trim(in.substr(start, end - start));
    if (line.empty()) {
      if (!out.empty()) ++pending_newlines;
    } else {
      if (!out.empty()) out.append(pending_newlines >= 1 ? "\n\n" : "\n");
      pending_newlines = 0;
      bool last_space = false;
      for (char c : line) {
        const bool space = c == ' ' || c == '\t';
        if (space && last_space) continue;
        out.push_back(space ? ' ' : c);
        last_space = space;
      }
    }
    start = end + 1;
  }
  return out;
}

}  // namespace

std::string strip_markup(std::string_view cell) {
  return tidy_whitespace(drop_emphasis(rewrite_links(rewrite_tags(cell))));
}

}  // namespace dlr::catalog

#include "dlr/catalog/importer.h"
#include "text.h"

#include <algorithm>
#include <array>
#include <cctype>
#include <charconv>
#include <map>
#include <optional>
#include <tuple>


namespace dlr::catalog {
namespace {

struct SectionFamily {
  std::string_view title;
  Family family;
  Kind kind;
};

// The page's second-level headings that hold code tables. Headings are matched
// case-insensitively; a table anywhere else is reported rather than guessed at.
constexpr std::array<SectionFamily, 18> kSections = {{
    {"general status codes", Family::general, Kind::status},
    {"voice status codes", Family::voice, Kind::status},
    {"mms status codes", Family::mms, Kind::status},
    {"email status codes", Family::email, Kind::status},
    {"push notifications status codes", Family::push, Kind::status},
    {"moments status codes", Family::moments, Kind::status},
    {"general error codes", Family::general, Kind::error},
    {"voice error codes (deprecated)", Family::voice_deprecated, Kind::error},
    {"voice and webrtc error codes", Family::voice_webrtc, Kind::error},
    {"push notification error codes", Family::push, Kind::error},
    {"mms error codes", Family::mms, Kind::error},
    {"email error codes", Family::email, Kind::error},
    {"chat error codes", Family::chat, Kind::error},
    {"mobile identity error codes", Family::mobile_identity, Kind::error},
    {"dlt error codes", Family::dlt, Kind::error},
    {"live chat error codes", Family::live_chat, Kind::error},
    {"moments error codes", Family::moments, Kind::error},
    {"people api error codes", Family::people_api, Kind::error},
}};

std::string lower(std::string_view text) {
  std::string out(text);
  std::transform(out.begin(), out.end(), out.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return out;
}

using text::starts_with;
using text::trim;

std::optional<int> parse_int(std::string_view text) {
  text = trim(text);
  int value = 0;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (ec != std::errc() || end != text.data() + text.size()) return std::nullopt;
  return value;
}

// "<tag href="x">text</tag>" -> "text (base + x)" for the page's two link tags; other tags dropped.
std::vector<std::string_view> split_row(std::string_view line) {
  line = trim(line);
  if (starts_with(line, "|")) line.remove_prefix(1);
  if (!line.empty() && line.back() == '|') line.remove_suffix(1);
  std::vector<std::string_view> cells;
  size_t start = 0;
  for (size_t i = 0; i <= line.size(); ++i) {
    if (i == line.size() || line[i] == '|') {
      cells.push_back(trim(line.substr(start, i - start)));
      start = i + 1;
    }
  }
  return cells;
}

bool is_separator_row(std::string_view line) {
  return line.find('-') != std::string_view::npos &&
         line.find_first_not_of("|:- \t") == std::string_view::npos;
}

enum class Column { id, permanent, name, description, extra };

std::string snake_case(std::string_view text) {
  std::string out;
  for (char c : trim(text)) {
    if (std::isalnum(static_cast<unsigned char>(c))) {
      out.push_back(static_cast<char>(std::tolower(static_cast<unsigned char>(c))));
    } else if (!out.empty() && out.back() != '_') {
      out.push_back('_');
    }
  }
  while (!out.empty() && out.back() == '_') out.pop_back();
  return out;
}

}  // namespace

std::string canonical_group_name(std::string_view title) {
  std::string name = snake_case(title);
  std::transform(name.begin(), name.end(), name.begin(),
                 [](unsigned char c) { return static_cast<char>(std::toupper(c)); });
  return name;
}

ImportResult import_page(std::string_view page, std::string_view page_name, std::string_view source_date) {
  ImportResult result;
  result.document.source.page = std::string(page_name);
  result.document.source.date = std::string(source_date);
  auto diag = [&](int line, std::string message) {
    result.diagnostics.push_back({std::string(page_name), line, std::move(message)});
  };

  const SectionFamily* section = nullptr;
  std::string section_title;
  std::string group_title;
  std::string anchor;
  std::optional<int> group_id;
  std::vector<Column> columns;
  std::vector<std::string> extra_keys;
  bool in_table = false;
  // (family, kind, group, id) -> entry index, to fold a repeated id into aliases.
  std::map<std::tuple<int, int, int, int>, std::pair<size_t, int>> seen;

  int line_no = 0;
  size_t pos = 0;
  while (pos <= page.size()) {
    size_t end = page.find('\n', pos);
    if (end == std::string_view::npos) end = page.size();
    const std::string_view raw_line = page.substr(pos, end - pos);
    pos = end + 1;
    ++line_no;
    const std::string_view line = trim(raw_line);

    if (!starts_with(line, "|")) in_table = false;
    if (starts_with(line, "# ")) {
      if (result.document.source.title.empty()) result.document.source.title = std::string(trim(line.substr(2)));
      continue;
    }
    if (starts_with(line, "## ")) {
      section_title = std::string(trim(line.substr(3)));
      section = nullptr;
      for (const auto& s : kSections) {
        if (lower(section_title) == s.title) section = &s;
      }
      group_title.clear();
      anchor.clear();
      group_id.reset();
      continue;
    }
    if (starts_with(line, "### ")) {
      std::string_view heading = trim(line.substr(4));
      anchor.clear();
      if (const size_t open = heading.rfind("[#"); open != std::string_view::npos && heading.back() == ']') {
        anchor = std::string(heading.substr(open + 2, heading.size() - open - 3));
        heading = trim(heading.substr(0, open));
      }
      group_title = std::string(heading);
      group_id.reset();
      continue;
    }
    if (starts_with(line, "**Group ID:")) {
      std::string_view rest = trim(line.substr(11));
      size_t digits = 0;
      while (digits < rest.size() && std::isdigit(static_cast<unsigned char>(rest[digits]))) ++digits;
      group_id = parse_int(rest.substr(0, digits));
      if (!group_id) diag(line_no, "cannot read the group id in '" + std::string(line) + "'");
      continue;
    }
    if (!starts_with(line, "|")) continue;

    if (!in_table) {  // header row
      in_table = true;
      columns.clear();
      extra_keys.clear();
      if (!section) {
        diag(line_no, "a code table under section '" + section_title +
                          "', which the importer does not map to a product family");
      }
      for (auto cell : split_row(line)) {
        const std::string name = lower(cell);
        Column column = Column::extra;
        if (name == "id") column = Column::id;
        else if (name == "permanent") column = Column::permanent;
        else if (name == "status" || name == "error" || name == "name" || name == "value") column = Column::name;
        else if (name == "description") column = Column::description;
        columns.push_back(column);
        extra_keys.push_back(column == Column::extra ? snake_case(cell) : std::string());
      }
      const auto has = [&](Column c) { return std::find(columns.begin(), columns.end(), c) != columns.end(); };
      if (!has(Column::id) || !has(Column::name)) {
        diag(line_no, "table header has no ID or name column: '" + std::string(line) + "'");
      }
      continue;
    }
    if (is_separator_row(line)) continue;
    if (!section) continue;  // already reported at the header

    ++result.table_rows;
    const auto cells = split_row(line);
    if (cells.size() != columns.size()) {
      diag(line_no, "row has " + std::to_string(cells.size()) + " cells, header has " +
                        std::to_string(columns.size()));
      continue;
    }
    Entry entry;
    entry.kind = section->kind;
    entry.family = section->family;
    entry.group_id = group_id;
    entry.group_title = group_title;
    entry.group_name = canonical_group_name(group_title);
    entry.section = anchor;
    bool ok = true;
    for (size_t c = 0; c < cells.size(); ++c) {
      const std::string_view cell = cells[c];
      switch (columns[c]) {
        case Column::id:
          if (auto id = parse_int(cell)) {
            entry.id = *id;
          } else {
            diag(line_no, "cannot read the id '" + std::string(cell) + "'");
            ok = false;
          }
          break;
        case Column::permanent:
          if (lower(cell) == "true") entry.permanent = true;
          else if (lower(cell) == "false") entry.permanent = false;
          else {
            diag(line_no, "permanent flag must be true or false, got '" + std::string(cell) + "'");
            ok = false;
          }
          break;
        case Column::name: entry.name = strip_markup(cell); break;
        case Column::description: {
          // The page separates the description from what to do about it with a blank line.
          const size_t split = cell.find("<br/><br/>");
          entry.description = strip_markup(cell.substr(0, split));
          if (split != std::string_view::npos) entry.resolution = strip_markup(cell.substr(split + 10));
          break;
        }
        case Column::extra: entry.extra.push_back({extra_keys[c], strip_markup(cell)}); break;
      }
    }
    if (!ok) continue;
    if (entry.name.empty()) {
      diag(line_no, "row has an empty name");
      continue;
    }
    const auto key = std::make_tuple(static_cast<int>(entry.family), static_cast<int>(entry.kind),
                                     entry.group_id.value_or(-1), entry.id);
    if (auto it = seen.find(key); it != seen.end()) {
      Entry& first = result.document.entries[it->second.first];
      if (first.section != entry.section || first.group_title != entry.group_title) {
        diag(line_no, "duplicate code " + std::string(to_string(entry.kind)) + " " + std::to_string(entry.id) +
                          " in family " + std::string(to_string(entry.family)) + " (first at line " +
                          std::to_string(it->second.second) + ")");
        continue;
      }
      // Same table, same id, another name: the page gives two names for one code. Both rows stay
      // entries, each naming the other, so either name finds the code and its own text.
      entry.aliases.push_back(first.name);
      for (const auto& alias : first.aliases) entry.aliases.push_back(alias);
      for (size_t i = it->second.first; i < result.document.entries.size(); ++i) {
        Entry& sibling = result.document.entries[i];
        if (sibling.family == entry.family && sibling.kind == entry.kind && sibling.id == entry.id &&
            sibling.group_id == entry.group_id) {
          sibling.aliases.push_back(entry.name);
        }
      }
      result.document.entries.push_back(std::move(entry));
      continue;
    }
    seen.emplace(key, std::make_pair(result.document.entries.size(), line_no));
    result.document.entries.push_back(std::move(entry));
  }
  if (result.document.entries.empty() && result.diagnostics.empty()) {
    diag(0, "no code tables found");
  }
  return result;
}


}  // namespace dlr::catalog

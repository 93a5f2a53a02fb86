#include "dlr/catalog/importer.h"

#include <algorithm>
#include <array>
#include <cctype>
#include <charconv>
#include <map>
#include <optional>
#include <tuple>

#include "text.h"

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

namespace {

// Reads the page line by line: headings set the section and group that the rows of the next
// table belong to; a table's first row names its columns.
class PageImporter {
 public:
  PageImporter(std::string_view page_name, std::string_view source_date) : page_name_(page_name) {
    result_.document.source.page = std::string(page_name);
    result_.document.source.date = std::string(source_date);
  }

  void line(std::string_view line, int line_no) {
    line_no_ = line_no;
    if (starts_with(line, "|") && line.back() != '|') {
      incomplete("a table row is cut short: " + std::string(line.substr(0, 60)));
      return;
    }
    if (!starts_with(line, "|")) in_table_ = false;
    if (starts_with(line, "# ")) {
      if (result_.document.source.title.empty())
        result_.document.source.title = std::string(trim(line.substr(2)));
    } else if (starts_with(line, "## ")) {
      section_heading(trim(line.substr(3)));
    } else if (starts_with(line, "### ")) {
      group_heading(trim(line.substr(4)));
    } else if (starts_with(line, "**Group ID:")) {
      group_id_line(line);
    } else if (starts_with(line, "|")) {
      if (!in_table_) {
        in_table_ = true;
        header_row(line);
      } else if (!is_separator_row(line) &&
                 section_) {  // a table outside any family is reported at its header
        data_row(line);
      }
    }
  }

  ImportResult finish() {
    if (result_.document.entries.empty() && result_.diagnostics.empty()) diag("no code tables found", 0);
    for (size_t i = 0; i < kSections.size(); ++i) {
      if (!sections_seen_[i])
        incomplete("section '" + std::string(kSections[i].title) + "' is missing", line_no_);
    }
    return std::move(result_);
  }

 private:
  void diag(std::string message, int line_no) {
    result_.diagnostics.push_back({std::string(page_name_), line_no, std::move(message)});
  }
  void diag(std::string message) { diag(std::move(message), line_no_); }
  void incomplete(std::string message, int line_no) {
    result_.incomplete.push_back({std::string(page_name_), line_no, std::move(message)});
  }
  void incomplete(std::string message) { incomplete(std::move(message), line_no_); }

  void section_heading(std::string_view title) {
    section_title_ = std::string(title);
    section_ = nullptr;
    for (size_t i = 0; i < kSections.size(); ++i) {
      if (lower(section_title_) != kSections[i].title) continue;
      section_ = &kSections[i];
      sections_seen_[i] = true;
    }
    group_title_.clear();
    anchor_.clear();
    group_id_.reset();
  }

  void group_heading(std::string_view heading) {
    anchor_.clear();
    if (const size_t open = heading.rfind("[#"); open != std::string_view::npos && heading.back() == ']') {
      anchor_ = std::string(heading.substr(open + 2, heading.size() - open - 3));
      heading = trim(heading.substr(0, open));
    }
    group_title_ = std::string(heading);
    group_id_.reset();
  }

  void group_id_line(std::string_view line) {
    std::string_view rest = trim(line.substr(11));
    size_t digits = 0;
    while (digits < rest.size() && std::isdigit(static_cast<unsigned char>(rest[digits]))) ++digits;
    group_id_ = parse_int(rest.substr(0, digits));
    if (!group_id_) diag("cannot read the group id in '" + std::string(line) + "'");
  }

  void header_row(std::string_view line) {
    columns_.clear();
    extra_keys_.clear();
    if (!section_) {
      diag("a code table under section '" + section_title_ +
           "', which the importer does not map to a product family");
    }
    for (auto cell : split_row(line)) {
      const std::string name = lower(cell);
      Column column = Column::extra;
      if (name == "id")
        column = Column::id;
      else if (name == "permanent")
        column = Column::permanent;
      else if (name == "status" || name == "error" || name == "name" || name == "value")
        column = Column::name;
      else if (name == "description")
        column = Column::description;
      columns_.push_back(column);
      extra_keys_.push_back(column == Column::extra ? snake_case(cell) : std::string());
    }
    const auto has = [&](Column c) {
      return std::find(columns_.begin(), columns_.end(), c) != columns_.end();
    };
    if (!has(Column::id) || !has(Column::name))
      diag("table header has no ID or name column: '" + std::string(line) + "'");
  }

  void data_row(std::string_view line) {
    ++result_.table_rows;
    const auto cells = split_row(line);
    if (cells.size() != columns_.size()) {
      diag("row has " + std::to_string(cells.size()) + " cells, header has " +
           std::to_string(columns_.size()));
      return;
    }
    Entry entry;
    entry.kind = section_->kind;
    entry.family = section_->family;
    entry.group_id = group_id_;
    entry.group_title = group_title_;
    entry.group_name = canonical_group_name(group_title_);
    entry.section = anchor_;
    bool ok = true;
    for (size_t c = 0; c < cells.size(); ++c)
      ok = read_cell(columns_[c], extra_keys_[c], cells[c], entry) && ok;
    if (!ok) return;
    if (entry.name.empty()) {
      diag("row has an empty name");
      return;
    }
    add(std::move(entry));
  }

  bool read_cell(Column column, const std::string& extra_key, std::string_view cell, Entry& entry) {
    switch (column) {
      case Column::id:
        if (auto id = parse_int(cell)) {
          entry.id = *id;
          return true;
        }
        diag("cannot read the id '" + std::string(cell) + "'");
        return false;
      case Column::permanent:
        if (lower(cell) == "true" || lower(cell) == "false") {
          entry.permanent = lower(cell) == "true";
          return true;
        }
        diag("permanent flag must be true or false, got '" + std::string(cell) + "'");
        return false;
      case Column::name:
        entry.name = strip_markup(cell);
        return true;
      case Column::description: {
        // The page separates the description from what to do about it with a blank line.
        const size_t split = cell.find("<br/><br/>");
        entry.description = strip_markup(cell.substr(0, split));
        if (split != std::string_view::npos) entry.resolution = strip_markup(cell.substr(split + 10));
        return true;
      }
      case Column::extra:
        entry.extra.push_back({extra_key, strip_markup(cell)});
        return true;
    }
    return true;
  }

  // A repeated id in the same table is a second name for one code; anywhere else, an error.
  void add(Entry entry) {
    auto& entries = result_.document.entries;
    const auto key = std::make_tuple(static_cast<int>(entry.family), static_cast<int>(entry.kind),
                                     entry.group_id.value_or(-1), entry.id);
    const auto it = seen_.find(key);
    if (it == seen_.end()) {
      seen_.emplace(key, std::make_pair(entries.size(), line_no_));
      entries.push_back(std::move(entry));
      return;
    }
    const Entry& first = entries[it->second.first];
    if (first.section != entry.section || first.group_title != entry.group_title) {
      diag("duplicate code " + std::string(to_string(entry.kind)) + " " + std::to_string(entry.id) +
           " in family " + std::string(to_string(entry.family)) + " (first at line " +
           std::to_string(it->second.second) + ")");
      return;
    }
    // Both rows stay entries, each naming the other, so either name finds the code and its own text.
    entry.aliases.push_back(first.name);
    for (const auto& alias : first.aliases) entry.aliases.push_back(alias);
    for (size_t i = it->second.first; i < entries.size(); ++i) {
      Entry& sibling = entries[i];
      if (sibling.family == entry.family && sibling.kind == entry.kind && sibling.id == entry.id &&
          sibling.group_id == entry.group_id) {
        sibling.aliases.push_back(entry.name);
      }
    }
    entries.push_back(std::move(entry));
  }

  std::string_view page_name_;
  ImportResult result_;
  int line_no_ = 0;
  const SectionFamily* section_ = nullptr;
  std::string section_title_;
  std::string group_title_;
  std::string anchor_;
  std::optional<int> group_id_;
  std::vector<Column> columns_;
  std::vector<std::string> extra_keys_;
  bool in_table_ = false;
  std::array<bool, kSections.size()> sections_seen_{};
  // (family, kind, group, id) -> (entry index, line), to fold a repeated id into aliases.
  std::map<std::tuple<int, int, int, int>, std::pair<size_t, int>> seen_;
};

}  // namespace

ImportResult import_page(std::string_view page, std::string_view page_name, std::string_view source_date) {
  PageImporter importer(page_name, source_date);
  int line_no = 0;
  for (size_t pos = 0; pos <= page.size();) {
    size_t end = page.find('\n', pos);
    if (end == std::string_view::npos) end = page.size();
    importer.line(trim(page.substr(pos, end - pos)), ++line_no);
    pos = end + 1;
  }
  return importer.finish();
}

}  // namespace dlr::catalog

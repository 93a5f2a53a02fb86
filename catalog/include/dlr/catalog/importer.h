// Turns the vendor's published page of status and error codes (Markdown) into catalogue data.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "dlr/catalog/model.h"

namespace dlr::catalog {

struct ImportResult {
  CodesDocument document;
  int table_rows = 0;                   ///< data rows read from the page's tables
  std::vector<Diagnostic> diagnostics;  ///< empty on success
  /// Signs of a page cut short (a failed download): a known section missing, a table row cut
  /// off. Kept apart from `diagnostics` because a new edition may drop a section on purpose.
  std::vector<Diagnostic> incomplete;
};

/// Parses every code table of `page`. A table under a section the importer has no family for,
/// an unreadable id or flag, or a duplicate code is a diagnostic (all are collected), so a new
/// edition of the page with new sections fails loudly instead of losing rows.
/// `page_name` is used in diagnostics and recorded as the source; `source_date` is an ISO date.
[[nodiscard]] ImportResult import_page(std::string_view page, std::string_view page_name,
                                       std::string_view source_date);

/// Removes the page's markup from a table cell: <br/> becomes a newline, links keep their text
/// and URL ("Support (support@infobip.com)"), emphasis and code marks go.
[[nodiscard]] std::string strip_markup(std::string_view cell);

/// "Handset errors" -> "HANDSET_ERRORS": the spelling delivery reports use for group names.
[[nodiscard]] std::string canonical_group_name(std::string_view title);

/// The catalogue as YAML, byte-for-byte deterministic so that re-importing reproduces the file.
[[nodiscard]] std::string to_yaml(const CodesDocument& document);

}  // namespace dlr::catalog

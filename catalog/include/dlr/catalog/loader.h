// Loading catalogue data from YAML files, with every problem reported with its file and line.
#pragma once

#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "dlr/catalog/catalog.h"
#include "dlr/catalog/model.h"
#include "dlr/catalog/policy.h"

namespace dlr::catalog {

/// Parses catalog/codes.yaml. Unknown keys, missing fields, bad types, unknown families and
/// duplicate codes are appended to `diagnostics` (all of them, not just the first).
[[nodiscard]] CodesDocument parse_codes(std::string_view yaml, std::string_view file,
                                        std::vector<Diagnostic>& diagnostics);

/// Parses catalog/policy.yaml, with the same error reporting.
[[nodiscard]] Policy parse_policy(std::string_view yaml, std::string_view file,
                                  std::vector<Diagnostic>& diagnostics);

struct Loaded {
  std::shared_ptr<const Catalog> catalog;  ///< null when anything is wrong
  std::vector<Diagnostic> diagnostics;
};

/// Reads, validates and compiles codes and policy. Never throws.
[[nodiscard]] Loaded load_catalog(const std::string& codes_path, const std::string& policy_path);

/// Where the shipped files are: $DLR_CATALOG_DIR, else the source tree's catalog/ folder.
[[nodiscard]] std::string default_codes_path();
[[nodiscard]] std::string default_policy_path();

/// Reads a whole file; false (with `error` set) when it cannot be read.
[[nodiscard]] bool read_file(const std::string& path, std::string& out, std::string& error);

}  // namespace dlr::catalog

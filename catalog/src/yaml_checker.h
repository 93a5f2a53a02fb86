// Reading YAML with every problem reported as a diagnostic with its file and line (private to the
// catalogue's loaders).
#pragma once

#include <yaml-cpp/yaml.h>

#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "dlr/catalog/catalog.h"

namespace dlr::catalog {

// Collects diagnostics for one file; every check reports and carries on.
class Checker {
 public:
  Checker(std::string_view file, std::vector<Diagnostic>& out) : file_(file), out_(out) {}

  void error(const YAML::Node& at, const std::string& message) {
    out_.push_back({file_, at.Mark().line + 1, message});
  }
  void error(int line, const std::string& message) { out_.push_back({file_, line, message}); }

  void reject_unknown_keys(const YAML::Node& map, const std::set<std::string>& known, std::string_view what) {
    for (const auto& kv : map) {
      const auto key = kv.first.as<std::string>();
      if (!known.count(key)) {
        std::string list;
        for (const auto& k : known) list += (list.empty() ? "" : ", ") + k;
        error(kv.first, "unknown key '" + key + "' in " + std::string(what) + " (known: " + list + ")");
      }
    }
  }

  bool require(const YAML::Node& map, const char* key, std::string_view what) {
    if (map[key]) return true;
    error(map, std::string(what) + " is missing required field '" + key + "'");
    return false;
  }

  template <typename T>
  bool get(const YAML::Node& node, const char* key, T& out) {
    try {
      if (!node.IsScalar()) throw YAML::Exception(node.Mark(), "");
      out = node.as<T>();
      return true;
    } catch (const YAML::Exception&) {
      error(node, std::string("field '") + key + "' must be " + type_name<T>());
      return false;
    }
  }

  bool get_optional_int(const YAML::Node& node, const char* key, std::optional<int>& out) {
    if (!node || node.IsNull()) {
      out.reset();
      return true;
    }
    int value = 0;
    if (!get(node, key, value)) return false;
    out = value;
    return true;
  }

 private:
  template <typename T>
  static const char* type_name() {
    if constexpr (std::is_same_v<T, int>)
      return "an integer";
    else if constexpr (std::is_same_v<T, bool>)
      return "true or false";
    else
      return "a string";
  }
  std::string file_;
  std::vector<Diagnostic>& out_;
};

inline bool load_yaml(std::string_view text, std::string_view file, std::vector<Diagnostic>& diagnostics,
                      YAML::Node& root) {
  try {
    root = YAML::Load(std::string(text));
    return true;
  } catch (const YAML::ParserException& e) {
    diagnostics.push_back({std::string(file), e.mark.line + 1, "YAML syntax: " + e.msg});
    return false;
  }
}

}  // namespace dlr::catalog

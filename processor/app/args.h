// A small command-line parser: --flag VALUE, --flag=VALUE, --switch and positionals; --help and
// -h are known to every command.
#pragma once

#include <map>
#include <optional>
#include <set>
#include <string>
#include <vector>

namespace dlr::app {

class Args {
 public:
  /// `with_value` lists options that take a value, `switches` those that do not.
  Args(int argc, char** argv, int first, const std::set<std::string>& with_value,
       const std::set<std::string>& switches);

  [[nodiscard]] bool ok() const { return error_.empty(); }
  [[nodiscard]] bool help() const { return help_; }
  [[nodiscard]] const std::string& error() const { return error_; }
  [[nodiscard]] std::optional<std::string> get(const std::string& name) const;
  [[nodiscard]] bool has(const std::string& name) const { return values_.count(name) > 0; }
  [[nodiscard]] const std::vector<std::string>& positionals() const { return positionals_; }

 private:
  std::map<std::string, std::string> values_;
  std::vector<std::string> positionals_;
  std::string error_;
  bool help_ = false;
};

/// Parses a whole decimal int; false on anything else.
bool parse_int(const std::string& text, int& out);

}  // namespace dlr::app

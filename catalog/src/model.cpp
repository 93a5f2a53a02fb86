#include "dlr/catalog/model.h"

#include <array>

namespace dlr::catalog {
namespace {
constexpr std::array<std::string_view, kFamilyCount> kFamilyNames = {
    "general", "voice",           "voice-webrtc", "voice-deprecated", "mms",     "email",     "push",
    "chat",    "mobile-identity", "dlt",          "live-chat",        "moments", "people-api"};
}

std::string_view to_string(Kind kind) noexcept {
  return kind == Kind::status ? "status" : "error";
}

std::string_view to_string(Family family) noexcept {
  return kFamilyNames[static_cast<size_t>(family)];
}

bool parse_kind(std::string_view text, Kind& out) noexcept {
  if (text == "status") {
    out = Kind::status;
    return true;
  }
  if (text == "error") {
    out = Kind::error;
    return true;
  }
  return false;
}

bool parse_family(std::string_view text, Family& out) noexcept {
  for (size_t i = 0; i < kFamilyNames.size(); ++i) {
    if (kFamilyNames[i] == text) {
      out = static_cast<Family>(i);
      return true;
    }
  }
  return false;
}

std::string family_names() {
  std::string names;
  for (auto name : kFamilyNames) {
    if (!names.empty()) names += ", ";
    names += name;
  }
  return names;
}

std::string format(const Diagnostic& d) {
  std::string text = d.file;
  if (d.line > 0) {
    text += ':';
    text += std::to_string(d.line);
  }
  text += ": ";
  text += d.message;
  return text;
}

}  // namespace dlr::catalog

// The catalogue's data model: one Entry per row of the vendor's published code tables.
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace dlr::catalog {

enum class Kind : uint8_t { status, error };
inline constexpr int kKindCount = 2;

/// Product family: which table of the page an entry comes from. Ids repeat across families.
enum class Family : uint8_t {
  general,
  voice,             ///< voice status codes
  voice_webrtc,      ///< voice and WebRTC error codes (current)
  voice_deprecated,  ///< voice error codes deprecated in 2024, still seen in reports
  mms,
  email,
  push,
  chat,  ///< RCS, WhatsApp, Messenger, LINE, Viber, Zalo, KakaoTalk
  mobile_identity,
  dlt,  ///< India's DLT regulation
  live_chat,
  moments,
  people_api,
};
inline constexpr int kFamilyCount = 13;

[[nodiscard]] std::string_view to_string(Kind kind) noexcept;
[[nodiscard]] std::string_view to_string(Family family) noexcept;
/// Parses the names used in YAML and on the command line ("voice-webrtc"); false when unknown.
[[nodiscard]] bool parse_kind(std::string_view text, Kind& out) noexcept;
[[nodiscard]] bool parse_family(std::string_view text, Family& out) noexcept;
/// Every family name, in enum order, for messages that list the valid choices.
[[nodiscard]] std::string family_names();

struct Extra {
  std::string key;
  std::string value;
  friend bool operator==(const Extra&, const Extra&) = default;
};

/// One published code. Strings are plain text: markup removed, link text and URL kept.
struct Entry {
  Kind kind = Kind::status;
  Family family = Family::general;
  std::optional<int> group_id;  ///< absent where the page gives no group id
  std::string group_name;       ///< canonical, as reports spell it (HANDSET_ERRORS); empty when none
  std::string group_title;      ///< the page's heading for the group, as written
  int id = 0;
  std::string name;
  std::vector<std::string> aliases;  ///< other names the page gives the same id
  std::optional<bool> permanent;     ///< the vendor's flag; absent for tables without one
  std::string description;
  std::string resolution;    ///< action text that follows the description on the page
  std::string section;       ///< the page's anchor for the table
  std::vector<Extra> extra;  ///< columns only some tables have (Mobile Identity's response type)

  friend bool operator==(const Entry&, const Entry&) = default;
};

/// Where the catalogue came from; part of its version.
struct Source {
  std::string title;
  std::string date;  ///< ISO date of the edition imported
  std::string page;  ///< file name of the page imported
  friend bool operator==(const Source&, const Source&) = default;
};

struct CodesDocument {
  Source source;
  std::vector<Entry> entries;
};

/// A problem found while loading or importing, with where it is.
struct Diagnostic {
  std::string file;
  int line = 0;  ///< 1-based; 0 when the problem concerns the whole file
  std::string message;
};
[[nodiscard]] std::string format(const Diagnostic& d);

}  // namespace dlr::catalog

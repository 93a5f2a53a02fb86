// The state of one message, and the merge that folds its delivery reports into it.
//
// Reports arrive duplicated and out of order. The merge is built so that the state it reaches
// depends only on the set of distinct reports, never on their order or repetitions:
//   - the state shows the best report by `outranks`: a higher rank first (final over a later
//     intermediate over an earlier one); among finals the earliest, so a second, conflicting
//     final never replaces the first; among intermediates of one rank the latest;
//   - `reports` counts distinct reports, `duplicates` the repeats, `conflicts` the distinct
//     final outcomes beyond the first, all computed from the set.
// Only `late` (an intermediate that arrived after a higher-ranked report) depends on arrival
// order, by its definition.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "dlr/catalog/model.h"
#include "dlr/catalog/policy.h"

namespace dlr::tracking {

/// How far along a report says the message is. Finals outrank every intermediate; an
/// intermediate in a status group whose own verdict is final (DELIVERED_TO_OPERATOR, in the
/// DELIVERED group) outranks one in a group still pending.
enum class Rank : uint8_t { none = 0, intermediate = 1, handed_on = 2, final = 3 };

/// The codes and verdict of one report: what a state shows of the report it shows.
struct ReportCodes {
  Rank rank = Rank::none;
  catalog::Outcome outcome = catalog::Outcome::pending;
  bool final = false;
  catalog::Family family = catalog::Family::general;
  int32_t status_group = -1;
  int32_t status_id = -1;
  bool has_error = false;
  catalog::Family error_family = catalog::Family::general;
  int32_t error_id = 0;
};

/// What the tracker reads of one enriched report (from its analytics record).
struct TrackedReport : ReportCodes {
  std::string_view message_id;
  int64_t time_ms = 0;  ///< event time: the report's doneAt, else the record's timestamp
  std::string_view channel;
};

/// One distinct report, as the duplicate check and the conflict count see it.
struct SeenReport {
  int64_t time_ms = 0;
  int32_t status_id = 0;
  int32_t error_id = 0;  ///< -1: the report had no error
  bool final = false;
  catalog::Outcome outcome = catalog::Outcome::pending;
  friend bool operator==(const SeenReport& a, const SeenReport& b) {
    return a.time_ms == b.time_ms && a.status_id == b.status_id && a.error_id == b.error_id;
  }
};

/// Everything the store keeps per message; encoded for RocksDB and the changelog by `encode`.
struct MessageState : ReportCodes {  // the codes of the report the state shows
  int64_t report_time_ms = 0;
  std::string channel;
  // Over all reports.
  int64_t first_report_ms = 0;
  int64_t last_report_ms = 0;
  uint32_t total = 0;  ///< every report applied, repeats included
  uint32_t late = 0;
  /// Input offset of the last report applied: the same input read again after a restart is a
  /// replay, not a duplicate, and changes nothing.
  int64_t input_offset = -1;
  std::vector<SeenReport> seen;  ///< distinct reports, at most kMaxSeen

  [[nodiscard]] bool empty() const noexcept { return rank == Rank::none; }
  [[nodiscard]] uint32_t reports() const noexcept { return static_cast<uint32_t>(seen.size()) + overflow; }
  [[nodiscard]] uint32_t duplicates() const noexcept { return total - reports(); }
  [[nodiscard]] uint32_t conflicts() const noexcept;
  uint32_t overflow = 0;  ///< distinct reports beyond kMaxSeen: counted, not remembered
};

/// A message with more distinct reports than this keeps counting them but stops remembering
/// the oldest for the duplicate check (real messages have a handful).
inline constexpr size_t kMaxSeen = 32;

enum class Effect : uint8_t {
  applied,    ///< the report is the state's report now
  kept,       ///< a new report that does not change what the state shows (counted)
  late,       ///< an intermediate behind a higher-ranked report (counted as late)
  conflict,   ///< a second final with another outcome, status or error (the first stays)
  duplicate,  ///< the same status id, error id and time again (counted)
  replayed,   ///< an input at or before the last one applied: nothing changes
};
[[nodiscard]] std::string_view to_string(Effect effect) noexcept;

/// Folds one report, read from input offset `input_offset` (increasing per message), into `state`.
Effect merge(MessageState& state, const TrackedReport& report, int64_t input_offset);

/// True when report `a` should be shown rather than `b` (the order the merge maximises).
[[nodiscard]] bool outranks(const TrackedReport& a, const MessageState& b) noexcept;

/// Compact binary form for the store and the changelog. `decode` returns false on bytes it
/// cannot read (another format version, or corruption), leaving `out` empty.
void encode(const MessageState& state, std::string& out);
[[nodiscard]] bool decode(std::string_view bytes, MessageState& out);
/// The `last_report_ms` of an encoded state without decoding the rest (the store's index
/// position); nothing when the bytes are not an encoded state.
[[nodiscard]] std::optional<int64_t> encoded_last_report_ms(std::string_view bytes) noexcept;

}  // namespace dlr::tracking

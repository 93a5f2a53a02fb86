#include "dlr/tracking/state.h"

#include <algorithm>
#include <cstring>
#include <tuple>

namespace dlr::tracking {
namespace {

int32_t error_key(bool has_error, int32_t error_id) {
  return has_error ? error_id : -1;
}

SeenReport seen_of(const TrackedReport& r) {
  return {r.time_ms, r.status_id, error_key(r.has_error, r.error_id), r.final, r.outcome};
}

void show(MessageState& s, const TrackedReport& r) {
  static_cast<ReportCodes&>(s) = r;
  s.report_time_ms = r.time_ms;
  s.channel.assign(r.channel);
}

// Remembers a distinct report. When full, the oldest intermediate makes room: finals stay, so
// the conflict count holds however many reports a message gets.
void remember(MessageState& s, const SeenReport& seen) {
  if (s.seen.size() >= kMaxSeen) {
    ++s.overflow;  // one distinct report is counted without being remembered
    const auto victim =
        std::find_if(s.seen.begin(), s.seen.end(), [](const SeenReport& x) { return !x.final; });
    if (victim == s.seen.end()) return;
    s.seen.erase(victim);
  }
  s.seen.push_back(seen);
}

template <typename T>
void put(std::string& out, T value) {
  char bytes[sizeof(T)];
  std::memcpy(bytes, &value, sizeof(T));
  out.append(bytes, sizeof(T));
}

class Cursor {
 public:
  explicit Cursor(std::string_view bytes) : bytes_(bytes) {}
  template <typename T>
  bool get(T& value) {
    if (bytes_.size() < sizeof(T)) return false;
    std::memcpy(&value, bytes_.data(), sizeof(T));
    bytes_.remove_prefix(sizeof(T));
    return true;
  }
  bool get(std::string& text, size_t size) {
    if (bytes_.size() < size) return false;
    text.assign(bytes_.substr(0, size));
    bytes_.remove_prefix(size);
    return true;
  }
  [[nodiscard]] bool done() const { return bytes_.empty(); }

 private:
  std::string_view bytes_;
};

constexpr uint8_t kFormat = 1;
// Where `encode` puts last_report_ms: six bytes, three int32 and two int64 before it.
constexpr size_t kLastReportAt = 6 + 3 * sizeof(int32_t) + 2 * sizeof(int64_t);

}  // namespace

std::string_view to_string(Effect effect) noexcept {
  switch (effect) {
    case Effect::applied:
      return "applied";
    case Effect::kept:
      return "kept";
    case Effect::late:
      return "late";
    case Effect::conflict:
      return "conflict";
    case Effect::duplicate:
      return "duplicate";
    case Effect::replayed:
      return "replayed";
  }
  return "applied";
}

uint32_t MessageState::conflicts() const noexcept {
  uint32_t distinct = 0;
  for (size_t i = 0; i < seen.size(); ++i) {
    if (!seen[i].final) continue;
    bool first_of_its_kind = true;
    for (size_t j = 0; j < i && first_of_its_kind; ++j) {
      first_of_its_kind =
          !(seen[j].final && seen[j].status_id == seen[i].status_id && seen[j].error_id == seen[i].error_id);
    }
    distinct += first_of_its_kind ? 1 : 0;
  }
  return distinct > 0 ? distinct - 1 : 0;
}

bool outranks(const TrackedReport& a, const MessageState& b) noexcept {
  if (b.empty()) return true;
  if (a.rank != b.rank) return a.rank > b.rank;
  const auto ka = std::make_tuple(a.time_ms, a.status_id, error_key(a.has_error, a.error_id));
  const auto kb = std::make_tuple(b.report_time_ms, b.status_id, error_key(b.has_error, b.error_id));
  return a.rank == Rank::final ? ka < kb : ka > kb;  // the first final stays; the latest intermediate shows
}

Effect merge(MessageState& state, const TrackedReport& report, int64_t input_offset) {
  if (input_offset <= state.input_offset) return Effect::replayed;
  state.input_offset = input_offset;
  ++state.total;
  const SeenReport seen = seen_of(report);
  if (std::find(state.seen.begin(), state.seen.end(), seen) != state.seen.end()) return Effect::duplicate;
  const uint32_t conflicts_before = state.conflicts();
  const bool first = state.empty();
  remember(state, seen);
  state.first_report_ms = first ? report.time_ms : std::min(state.first_report_ms, report.time_ms);
  state.last_report_ms = first ? report.time_ms : std::max(state.last_report_ms, report.time_ms);
  Effect effect = Effect::kept;
  if (outranks(report, state)) {
    show(state, report);
    effect = Effect::applied;
  } else if (!report.final) {
    ++state.late;
    effect = Effect::late;
  }
  if (state.conflicts() > conflicts_before) effect = Effect::conflict;
  return effect;
}

void encode(const MessageState& s, std::string& out) {
  out.clear();
  put<uint8_t>(out, kFormat);
  put<uint8_t>(out, static_cast<uint8_t>(s.rank));
  put<uint8_t>(out, static_cast<uint8_t>(s.outcome));
  put<uint8_t>(out, static_cast<uint8_t>((s.final ? 1 : 0) | (s.has_error ? 2 : 0)));
  put<uint8_t>(out, static_cast<uint8_t>(s.family));
  put<uint8_t>(out, static_cast<uint8_t>(s.error_family));
  put<int32_t>(out, s.status_group);
  put<int32_t>(out, s.status_id);
  put<int32_t>(out, s.error_id);
  put<int64_t>(out, s.report_time_ms);
  put<int64_t>(out, s.first_report_ms);
  put<int64_t>(out, s.last_report_ms);
  put<uint32_t>(out, s.total);
  put<uint32_t>(out, s.late);
  put<uint32_t>(out, s.overflow);
  put<int64_t>(out, s.input_offset);
  put<uint8_t>(out, static_cast<uint8_t>(std::min<size_t>(s.channel.size(), 255)));
  out.append(s.channel.data(), std::min<size_t>(s.channel.size(), 255));
  put<uint8_t>(out, static_cast<uint8_t>(s.seen.size()));
  for (const SeenReport& r : s.seen) {
    put<int64_t>(out, r.time_ms);
    put<int32_t>(out, r.status_id);
    put<int32_t>(out, r.error_id);
    put<uint8_t>(out, static_cast<uint8_t>((r.final ? 1 : 0) | static_cast<uint8_t>(r.outcome) << 1));
  }
}

std::optional<int64_t> encoded_last_report_ms(std::string_view bytes) noexcept {
  int64_t ms = 0;
  if (bytes.size() < kLastReportAt + sizeof ms || static_cast<uint8_t>(bytes[0]) != kFormat) return {};
  std::memcpy(&ms, bytes.data() + kLastReportAt, sizeof ms);
  return ms;
}

bool decode(std::string_view bytes, MessageState& out) {
  out = MessageState{};
  Cursor in(bytes);
  uint8_t format = 0, rank = 0, outcome = 0, flags = 0, family = 0, error_family = 0, channel_size = 0,
          seen = 0;
  MessageState s;
  const bool ok = in.get(format) && format == kFormat && in.get(rank) && in.get(outcome) && in.get(flags) &&
                  in.get(family) && in.get(error_family) && in.get(s.status_group) && in.get(s.status_id) &&
                  in.get(s.error_id) && in.get(s.report_time_ms) && in.get(s.first_report_ms) &&
                  in.get(s.last_report_ms) && in.get(s.total) && in.get(s.late) && in.get(s.overflow) &&
                  in.get(s.input_offset) && in.get(channel_size) && in.get(s.channel, channel_size) &&
                  in.get(seen);
  if (!ok || rank > static_cast<uint8_t>(Rank::final) ||
      outcome > static_cast<uint8_t>(catalog::Outcome::permanent) || family >= catalog::kFamilyCount ||
      error_family >= catalog::kFamilyCount) {
    return false;
  }
  s.rank = static_cast<Rank>(rank);
  s.outcome = static_cast<catalog::Outcome>(outcome);
  s.final = flags & 1;
  s.has_error = flags & 2;
  s.family = static_cast<catalog::Family>(family);
  s.error_family = static_cast<catalog::Family>(error_family);
  s.seen.resize(seen);
  for (SeenReport& r : s.seen) {
    uint8_t bits = 0;
    if (!in.get(r.time_ms) || !in.get(r.status_id) || !in.get(r.error_id) || !in.get(bits) ||
        (bits >> 1) > static_cast<uint8_t>(catalog::Outcome::permanent)) {
      return false;
    }
    r.final = bits & 1;
    r.outcome = static_cast<catalog::Outcome>(bits >> 1);
  }
  if (!in.done()) return false;
  out = std::move(s);
  return true;
}

}  // namespace dlr::tracking

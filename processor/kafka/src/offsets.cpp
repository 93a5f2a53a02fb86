#include "dlr/kafka/offsets.h"

namespace dlr::kafka {
namespace {
// A tag is librdkafka's per-record opaque: slot, lane and ticket packed into 64 bits.
constexpr int kTicketBits = 40;
constexpr uint64_t kTicketMask = (1ULL << kTicketBits) - 1;
constexpr uint64_t kLaneMask = (1U << OffsetTracker::kLaneBits) - 1;
}  // namespace

uint64_t OffsetTracker::encode(const Tag& tag) noexcept {
  return (static_cast<uint64_t>(tag.slot) << (kTicketBits + kLaneBits)) |
         (static_cast<uint64_t>(tag.lane & kLaneMask) << kTicketBits) | (tag.ticket & kTicketMask);
}

OffsetTracker::Tag OffsetTracker::decode(uint64_t tag) noexcept {
  return {static_cast<int>(tag >> (kTicketBits + kLaneBits)),
          static_cast<uint8_t>((tag >> kTicketBits) & kLaneMask), tag & kTicketMask};
}

int OffsetTracker::input_of(std::string_view topic) const noexcept {
  for (size_t i = 0; i < topics_.size(); ++i)
    if (topics_[i] == topic) return static_cast<int>(i);
  return -1;
}

int OffsetTracker::slot_of(int input, int32_t partition) {
  auto& index = index_[static_cast<size_t>(input)];
  if (static_cast<size_t>(partition) >= index.size()) index.resize(static_cast<size_t>(partition) + 1, -1);
  int& slot = index[static_cast<size_t>(partition)];
  if (slot < 0) {
    slot = static_cast<int>(slots_.size());
    auto s = std::make_unique<Slot>();
    s->topic = topics_[static_cast<size_t>(input)];
    s->partition = partition;
    s->input = input;
    slots_.push_back(std::move(s));
  }
  return slot;
}

uint64_t OffsetTracker::begin(int slot, int64_t offset, uint32_t outputs) {
  Slot& s = *slots_[static_cast<size_t>(slot)];
  const uint64_t ticket = s.progress.begin(offset, outputs);
  if (outputs == 0) s.dirty = true;
  return ticket;
}

void OffsetTracker::acknowledge(const Tag& tag) noexcept {
  if (static_cast<size_t>(tag.slot) >= slots_.size()) return;
  Slot& s = *slots_[static_cast<size_t>(tag.slot)];
  if (s.progress.complete(tag.ticket)) s.dirty = true;
}

bool OffsetTracker::holds(const Tag& tag) const noexcept {
  if (static_cast<size_t>(tag.slot) >= slots_.size()) return false;
  const Slot& s = *slots_[static_cast<size_t>(tag.slot)];
  return s.assigned && s.progress.holds(tag.ticket);
}

void OffsetTracker::assign(int slot) noexcept {
  Slot& s = *slots_[static_cast<size_t>(slot)];
  s.progress.reset();
  s.txn_first = -1;
  s.assigned = true;
  s.dirty = false;
  s.next_offset = -1;
}

size_t OffsetTracker::revoke(int slot) noexcept {
  Slot& s = *slots_[static_cast<size_t>(slot)];
  const size_t unfinished = s.progress.in_flight();
  s.progress.reset();
  s.assigned = false;
  s.dirty = false;
  return unfinished;
}

void OffsetTracker::take_moved(std::vector<TopicPartition>& out) {
  for (auto& s : slots_) {
    if (!s->dirty) continue;
    s->dirty = false;
    if (!s->assigned || s->progress.committable() < 0) continue;
    out.push_back({s->topic, s->partition, s->progress.committable()});
  }
}

size_t OffsetTracker::in_flight() const noexcept {
  size_t n = 0;
  for (const auto& s : slots_)
    if (s->assigned) n += s->progress.in_flight();
  return n;
}

}  // namespace dlr::kafka

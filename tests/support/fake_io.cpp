#include "fake_io.h"

namespace dlr::fakes {

void FakeInput::deliver_events() {
  while (!events_.empty()) {
    Event e = std::move(events_.front());
    events_.pop_front();
    std::vector<kafka::TopicPartition> list;
    for (const auto& p : e.partitions) list.push_back({p.first, p.second, -1});
    if (e.assign) {
      for (const auto& p : e.partitions) assigned_.push_back(p);
      if (listener_) listener_->on_assigned(list);
    } else {
      if (listener_) listener_->on_revoking(list, e.lost);
      for (const auto& p : e.partitions) std::erase(assigned_, p);
    }
  }
}

const kafka::InputRecord* FakeInput::poll(int) noexcept {
  ++polls_;
  deliver_events();
  for (const auto& p : assigned_) {
    if (paused_.count(p)) continue;
    auto& log = log_[p];
    int64_t& at = position_[p];
    if (at < 0 || at >= static_cast<int64_t>(log.size())) continue;
    current_record_ = &log[static_cast<size_t>(at)];
    current_ = {};
    current_.topic = p.first;
    current_.partition = p.second;
    current_.offset = at++;
    current_.timestamp = 1000 + current_.offset;
    current_.key = current_record_->key;
    current_.value = current_record_->value;
    ++consumed_;
    return &current_;
  }
  return nullptr;
}

std::optional<std::string_view> FakeInput::last_header(std::string_view name) const noexcept {
  if (!current_record_) return std::nullopt;
  std::optional<std::string_view> found;
  for (const auto& [n, v] : current_record_->headers)
    if (n == name) found = v;
  return found;
}

Error FakeOutput::produce_to(int topic, int32_t partition, std::string_view key, std::string_view value,
                             std::span<const kafka::Header> headers, uint64_t tag) noexcept {
  ++produce_calls_;
  if (in_flight_.size() >= capacity) return RD_KAFKA_RESP_ERR__QUEUE_FULL;
  Produced p{topic, partition, std::string(key), std::string(value), {}, tag};
  for (const auto& h : headers) p.headers.emplace_back(std::string(h.name), std::string(h.value));
  in_flight_.push_back(std::move(p));
  return RD_KAFKA_RESP_ERR_NO_ERROR;
}

int FakeOutput::poll(int) noexcept {
  if (auto_acknowledge) acks_owed_ = in_flight_.size();
  int served = 0;
  while (!in_flight_.empty() && (acks_owed_ > 0 || !failures_.empty())) {
    Produced p = std::move(in_flight_.front());
    in_flight_.pop_front();
    kafka::Delivery d;
    d.tag = p.tag;
    d.topic = p.topic;
    d.key = p.key;
    d.value = p.value;
    std::vector<kafka::Header> headers;
    for (const auto& [n, v] : p.headers) headers.push_back({n, v});
    if (!failures_.empty()) {
      d.err = failures_.front();
      failures_.pop_front();
      d.headers = headers;
    } else {
      --acks_owed_;
      d.partition = p.partition < 0 ? 0 : p.partition;
      d.offset = next_offset_[{p.topic, d.partition}]++;
      written_.push_back(p);
    }
    if (listener_) listener_->on_delivery(d);
    ++served;
  }
  return served;
}

}  // namespace dlr::fakes

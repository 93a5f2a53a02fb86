// The relays the end-to-end benchmark compares the stage with: the same consumer group, librdkafka
// settings (dlr/kafka/properties.h) and at-least-once offset handling (stored after every output is
// acknowledged), but no parsing.
// - Pass-through (`--fanout F`): each input is written on as F records on average (what the stage's
//   routing writes per input), the input's bytes cut into that many slices.
// - Replay (`--replay FILE`): each input is written on as exactly the records the stage wrote for it
//   in an earlier run (topic, key, value, headers), captured by bench/e2e.py. Same records, same
//   settings, nothing computed: the limit for writing the stage's output on this broker.
//
//   dlr_relay --config FILE (--fanout F | --replay FILE)   runs until SIGTERM/SIGINT; "assigned" on
//                                                          stderr when ready
#include <atomic>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <string>
#include <unordered_map>
#include <vector>

#include "dlr/config/config.h"
#include "dlr/kafka/kafka_io.h"
#include "dlr/kafka/offsets.h"
#include "dlr/kafka/properties.h"

namespace {

std::atomic<bool> g_stop{false};
extern "C" void on_signal(int) {
  g_stop = true;
}

// The stage's output records of one input message, as captured.
struct Captured {
  struct Record {
    uint8_t destination = 0;  // 0 enriched, 1 retry, 2 dead letter, 3 analytics
    std::string key, value;
    std::vector<std::string> header_text;  // name, value, name, value, ...
    std::vector<dlr::kafka::Header> headers;
  };
  std::vector<Record> records;
};

uint64_t input_key(int input, int32_t partition, int64_t offset) {
  return (uint64_t(input) << 56) | (uint64_t(uint32_t(partition) & 0xffff) << 40) | uint64_t(offset);
}

// The capture file bench/e2e.py writes, little-endian: per record u8 input (the config's input
// order), i32 partition, i64 offset, u8 destination, u32 key length and key, u32 value length and
// value, u8 header count and per header u16 name length, name, u32 value length, value.
bool read_capture(const std::string& path, std::unordered_map<uint64_t, Captured>& out) {
  std::ifstream in(path, std::ios::binary);
  const auto read = [&](auto& v) { return bool(in.read(reinterpret_cast<char*>(&v), sizeof v)); };
  const auto bytes = [&](std::string& s, uint32_t n) {
    s.resize(n);
    return n == 0 || bool(in.read(s.data(), n));
  };
  uint8_t input = 0;
  while (read(input)) {
    int32_t partition = 0;
    int64_t offset = 0;
    uint32_t n = 0;
    Captured::Record r;
    uint8_t headers = 0;
    if (!read(partition) || !read(offset) || !read(r.destination) || !read(n) || !bytes(r.key, n) ||
        !read(n) || !bytes(r.value, n) || !read(headers))
      return false;
    for (uint8_t h = 0; h < headers; ++h) {
      uint16_t name_size = 0;
      std::string name, value;
      if (!read(name_size) || !bytes(name, name_size) || !read(n) || !bytes(value, n)) return false;
      r.header_text.push_back(std::move(name));
      r.header_text.push_back(std::move(value));
    }
    out[input_key(input, partition, offset)].records.push_back(std::move(r));
  }
  for (auto& [key, message] : out)  // views into strings that no longer move
    for (auto& r : message.records)
      for (size_t i = 0; i + 1 < r.header_text.size(); i += 2)
        r.headers.push_back({r.header_text[i], r.header_text[i + 1]});
  return in.eof();
}

// The relay's loop over the same seams, offset tracking and client properties as the stage.
struct Relay final : dlr::kafka::DeliveryListener, dlr::kafka::AssignmentListener {
  explicit Relay(std::vector<std::string> topics) : offsets(std::move(topics)) {}
  dlr::kafka::OffsetTracker offsets;
  std::vector<dlr::kafka::TopicPartition> moved;
  dlr::kafka::Input* input = nullptr;

  void on_delivery(const dlr::kafka::Delivery& d) noexcept override {
    if (d.err) {
      std::fprintf(stderr, "relay: delivery failed: %s\n", rd_kafka_err2str(d.err));
      std::exit(1);  // a baseline need not recover
    }
    offsets.acknowledge(dlr::kafka::OffsetTracker::decode(d.tag));
  }
  void on_assigned(std::span<const dlr::kafka::TopicPartition> parts) noexcept override {
    for (const auto& p : parts) offsets.assign(offsets.slot_of(offsets.input_of(p.topic), p.partition));
    std::fprintf(stderr, "assigned %zu\n", parts.size());
  }
  void on_revoking(std::span<const dlr::kafka::TopicPartition> parts, bool) noexcept override {
    for (const auto& p : parts) offsets.revoke(offsets.slot_of(offsets.input_of(p.topic), p.partition));
  }
  void store() {
    moved.clear();
    offsets.take_moved(moved);
    if (!moved.empty()) input->store_offsets(moved);
  }

  // Replay: the records the stage wrote for this input.
  void write_captured(const dlr::kafka::InputRecord& m, int slot) {
    const auto it = captured.find(input_key(offsets.input_of(m.topic), m.partition, m.offset));
    const std::vector<Captured::Record>* records = it == captured.end() ? nullptr : &it->second.records;
    const uint64_t ticket = offsets.begin(slot, m.offset, records ? uint32_t(records->size()) : 0);
    const uint64_t tag = dlr::kafka::OffsetTracker::encode({slot, 0, ticket});
    if (records)
      for (const auto& r : *records) produce(destinations[r.destination], r.key, r.value, r.headers, tag);
  }

  // Pass-through: the input's bytes in `fanout` slices on average.
  void write_slices(const dlr::kafka::InputRecord& m, int slot) {
    owed += fanout;
    const auto records = static_cast<uint32_t>(owed);
    owed -= records;
    const uint64_t ticket = offsets.begin(slot, m.offset, records);
    const uint64_t tag = dlr::kafka::OffsetTracker::encode({slot, 0, ticket});
    const size_t size = m.value.size();
    const size_t slice = records ? (size + records - 1) / records : 0;
    for (uint32_t r = 0; r < records; ++r) {
      const size_t from = std::min<size_t>(size, r * slice);
      produce(destinations[written++ % 2 ? 3 : 0], m.key, m.value.substr(from, std::min(slice, size - from)),
              {}, tag);
    }
  }

  void produce(int topic, std::string_view key, std::string_view value,
               std::span<const dlr::kafka::Header> headers, uint64_t tag) {
    while (output->produce(topic, key, value, headers, tag) == RD_KAFKA_RESP_ERR__QUEUE_FULL)
      output->poll(50);  // backpressure: block, as simply as a relay would
  }

  dlr::kafka::Output* output = nullptr;
  std::unordered_map<uint64_t, Captured> captured;
  int destinations[4] = {};  // enriched, retry, dead letter, analytics
  double fanout = 1.0;
  double owed = 0;
  uint64_t written = 0;
};

}  // namespace

int main(int argc, char** argv) {
  std::string config_path, replay_path;
  double fanout = 1.0;
  for (int i = 1; i + 1 < argc; i += 2) {
    if (std::strcmp(argv[i], "--config") == 0)
      config_path = argv[i + 1];
    else if (std::strcmp(argv[i], "--fanout") == 0)
      fanout = std::atof(argv[i + 1]);
    else if (std::strcmp(argv[i], "--replay") == 0)
      replay_path = argv[i + 1];
  }
  if (config_path.empty() || fanout <= 0) {
    std::fprintf(stderr, "usage: dlr_relay --config FILE (--fanout F | --replay FILE)\n");
    return 2;
  }
  std::unordered_map<uint64_t, Captured> captured;
  if (!replay_path.empty() && !read_capture(replay_path, captured)) {
    std::fprintf(stderr, "relay: cannot read the capture %s\n", replay_path.c_str());
    return 2;
  }
  auto loaded = dlr::config::load_config(config_path);
  if (!loaded.diagnostics.empty()) {
    std::fprintf(stderr, "relay: invalid config\n");
    return 2;
  }
  const auto& c = loaded.config;
  const dlr::kafka::ClientSettings settings{c.brokers,        c.group_id,       false, c.kafka_common,
                                            c.kafka_consumer, c.kafka_producer, {}};
  std::vector<std::string> topics;
  for (const auto& in : c.inputs) topics.push_back(in.topic);
  Relay relay(topics);
  relay.captured = std::move(captured);
  relay.fanout = fanout;
  std::string error;
  auto producer = dlr::kafka::KafkaOutput::create(dlr::kafka::producer_properties(settings), error);
  auto consumer =
      producer ? dlr::kafka::KafkaInput::create(dlr::kafka::consumer_properties(settings), error) : nullptr;
  if (!consumer) {
    std::fprintf(stderr, "relay: %s\n", error.c_str());
    return 2;
  }
  producer->set_listener(relay);
  consumer->set_listener(relay);
  relay.input = consumer.get();
  relay.output = producer.get();
  relay.destinations[0] = producer->topic(c.outputs.enriched);
  relay.destinations[1] = producer->topic(c.outputs.retry);
  relay.destinations[2] = producer->topic(c.outputs.dead_letter);
  relay.destinations[3] = producer->topic(c.outputs.analytics);
  if (consumer->subscribe(topics)) return 2;
  std::signal(SIGTERM, on_signal);
  std::signal(SIGINT, on_signal);

  while (!g_stop) {
    producer->poll(0);
    relay.store();
    for (int taken = 0; taken < 1000; ++taken) {
      const dlr::kafka::InputRecord* m =
          consumer->poll(taken == 0 ? (producer->queue_length() > 0 ? 5 : 100) : 0);
      if (!m) break;
      if (m->err) continue;
      const int slot = relay.offsets.slot_of(relay.offsets.input_of(m->topic), m->partition);
      if (replay_path.empty())
        relay.write_slices(*m, slot);
      else
        relay.write_captured(*m, slot);
    }
  }
  producer->flush(30000);
  relay.store();
  consumer->commit();
  consumer->close();
  return 0;
}

// The pass-through relay the end-to-end benchmark compares the stage with: the same consumer
// group, librdkafka settings (dlr/kafka/properties.h) and at-least-once offset handling (stored after every
// output is acknowledged), but no parsing. Each input is written on as `--fanout` records on average (what
// the stage's routing writes per input), the input's bytes cut into that many slices, so the relay
// writes as many records and the input's bytes once.
//
//   dlr_relay --config FILE [--fanout F]    runs until SIGTERM/SIGINT; "assigned" on stderr when ready
#include <atomic>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
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
};

}  // namespace

int main(int argc, char** argv) {
  std::string config_path;
  double fanout = 1.0;
  for (int i = 1; i + 1 < argc; i += 2) {
    if (std::strcmp(argv[i], "--config") == 0)
      config_path = argv[i + 1];
    else if (std::strcmp(argv[i], "--fanout") == 0)
      fanout = std::atof(argv[i + 1]);
  }
  if (config_path.empty() || fanout <= 0) {
    std::fprintf(stderr, "usage: dlr_relay --config FILE [--fanout F]\n");
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
  const int outputs[2] = {producer->topic(c.outputs.enriched), producer->topic(c.outputs.analytics)};
  if (consumer->subscribe(topics)) return 2;
  std::signal(SIGTERM, on_signal);
  std::signal(SIGINT, on_signal);

  double owed = 0;
  uint64_t written = 0;
  while (!g_stop) {
    producer->poll(0);
    relay.store();
    for (int taken = 0; taken < 1000; ++taken) {
      const dlr::kafka::InputRecord* m =
          consumer->poll(taken == 0 ? (producer->queue_length() > 0 ? 5 : 100) : 0);
      if (!m) break;
      if (m->err) continue;
      owed += fanout;
      const auto records = static_cast<uint32_t>(owed);
      owed -= records;
      const int slot = relay.offsets.slot_of(relay.offsets.input_of(m->topic), m->partition);
      const uint64_t ticket = relay.offsets.begin(slot, m->offset, records);
      const uint64_t tag = dlr::kafka::OffsetTracker::encode({slot, 0, ticket});
      const size_t size = m->value.size();
      const size_t slice = records ? (size + records - 1) / records : 0;
      for (uint32_t r = 0; r < records; ++r) {
        const size_t from = std::min<size_t>(size, r * slice);
        const std::string_view value = m->value.substr(from, std::min(slice, size - from));
        while (producer->produce(outputs[written++ % 2], m->key, value, {}, tag) ==
               RD_KAFKA_RESP_ERR__QUEUE_FULL)
          producer->poll(50);  // backpressure: block, as simply as a relay would
      }
    }
  }
  producer->flush(30000);
  relay.store();
  consumer->commit();
  consumer->close();
  return 0;
}

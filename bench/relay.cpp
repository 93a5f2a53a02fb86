// The pass-through relay the end-to-end benchmark compares the stage with: the same consumer
// group, librdkafka settings and at-least-once offset handling (stored after every output is
// acknowledged), but no parsing. Each input is written on as `--fanout` records on average (what
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
#include "dlr/kafka/client.h"
#include "dlr/kafka/progress.h"

namespace {

std::atomic<bool> g_stop{false};
extern "C" void on_signal(int) { g_stop = true; }

struct Relay final : dlr::kafka::DeliveryHandler, dlr::kafka::RebalanceHandler {
  std::vector<std::string> topics;  // input topic names, index = slot group
  std::vector<std::vector<dlr::kafka::PartitionProgress>> progress;  // [input][partition]
  std::vector<std::vector<bool>> dirty;
  dlr::kafka::Consumer* consumer = nullptr;

  int input_of(const char* name) const {
    for (size_t i = 0; i < topics.size(); ++i)
      if (topics[i] == name) return static_cast<int>(i);
    return -1;
  }
  dlr::kafka::PartitionProgress& at(int input, int32_t partition) {
    auto& v = progress[static_cast<size_t>(input)];
    if (static_cast<size_t>(partition) >= v.size()) {
      v.resize(static_cast<size_t>(partition) + 1);
      dirty[static_cast<size_t>(input)].resize(static_cast<size_t>(partition) + 1);
    }
    return v[static_cast<size_t>(partition)];
  }
  void on_delivery(const rd_kafka_message_t& m) noexcept override {
    if (m.err) {
      std::fprintf(stderr, "relay: delivery failed: %s\n", rd_kafka_err2str(m.err));
      std::exit(1);  // a baseline need not recover
    }
    const auto v = static_cast<uint64_t>(reinterpret_cast<uintptr_t>(m._private));
    const int input = static_cast<int>(v >> 56);
    const auto partition = static_cast<int32_t>((v >> 40) & 0xffff);
    if (at(input, partition).complete(v & ((1ULL << 40) - 1))) dirty[static_cast<size_t>(input)][static_cast<size_t>(partition)] = true;
  }
  void on_assigned(const dlr::kafka::PartitionList& parts) noexcept override {
    for (const auto& p : parts.items()) at(input_of(p.topic), p.partition).reset();
    std::fprintf(stderr, "assigned %d\n", parts.size());
  }
  void on_revoking(const dlr::kafka::PartitionList& parts, bool) noexcept override {
    for (const auto& p : parts.items()) at(input_of(p.topic), p.partition).reset();
  }
  void store() {
    dlr::kafka::PartitionList list(0);
    for (size_t i = 0; i < dirty.size(); ++i)
      for (size_t p = 0; p < dirty[i].size(); ++p)
        if (dirty[i][p]) {
          dirty[i][p] = false;
          if (progress[i][p].committable() >= 0)
            list.add(topics[i].c_str(), static_cast<int32_t>(p)).offset = progress[i][p].committable();
        }
    if (list.size() > 0) consumer->store_offsets(list);
  }
};

}  // namespace

int main(int argc, char** argv) {
  std::string config_path;
  double fanout = 1.0;
  for (int i = 1; i + 1 < argc; i += 2) {
    if (std::strcmp(argv[i], "--config") == 0) config_path = argv[i + 1];
    else if (std::strcmp(argv[i], "--fanout") == 0) fanout = std::atof(argv[i + 1]);
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
  // The same librdkafka settings as the stage (see processor/app/stage.cpp).
  dlr::kafka::Properties consumer_props = {{"partition.assignment.strategy", "cooperative-sticky"},
                                           {"auto.offset.reset", "earliest"},
                                           {"enable.auto.commit", "true"},
                                           {"enable.partition.eof", "false"}};
  dlr::kafka::Properties producer_props = {{"enable.idempotence", "true"}, {"partitioner", "murmur2_random"}, {"linger.ms", "5"}};
  for (const auto& kv : c.kafka_common) consumer_props.emplace_back(kv), producer_props.emplace_back(kv);
  for (const auto& kv : c.kafka_consumer) consumer_props.emplace_back(kv);
  for (const auto& kv : c.kafka_producer) producer_props.emplace_back(kv);
  consumer_props.insert(consumer_props.end(), {{"bootstrap.servers", c.brokers}, {"group.id", c.group_id},
                                               {"enable.auto.offset.store", "false"}});
  producer_props.emplace_back("bootstrap.servers", c.brokers);

  Relay relay;
  for (const auto& in : c.inputs) relay.topics.push_back(in.topic);
  relay.progress.resize(relay.topics.size());
  relay.dirty.resize(relay.topics.size());
  std::string error;
  auto producer = dlr::kafka::Producer::create(producer_props, relay, error);
  auto consumer = producer ? dlr::kafka::Consumer::create(consumer_props, relay, error) : nullptr;
  if (!consumer) {
    std::fprintf(stderr, "relay: %s\n", error.c_str());
    return 2;
  }
  relay.consumer = consumer.get();
  rd_kafka_topic_t* outputs[2] = {producer->topic(c.outputs.enriched), producer->topic(c.outputs.analytics)};
  if (consumer->subscribe(relay.topics)) return 2;
  std::signal(SIGTERM, on_signal);
  std::signal(SIGINT, on_signal);

  double owed = 0;
  uint64_t written = 0;
  while (!g_stop) {
    producer->poll(0);
    relay.store();
    for (int taken = 0; taken < 1000; ++taken) {
      dlr::kafka::MessagePtr m = consumer->poll(taken == 0 ? (producer->queue_length() > 0 ? 5 : 100) : 0);
      if (!m) break;
      if (m->err) continue;
      const int input = relay.input_of(rd_kafka_topic_name(m->rkt));
      owed += fanout;
      const auto records = static_cast<uint32_t>(owed);
      owed -= records;
      auto& progress = relay.at(input, m->partition);
      const uint64_t ticket = progress.begin(m->offset, records);
      const std::string_view key(static_cast<const char*>(m->key), m->key ? m->key_len : 0);
      const size_t slice = records ? (m->len + records - 1) / records : 0;
      for (uint32_t r = 0; r < records; ++r) {
        const size_t from = std::min<size_t>(m->len, r * slice);
        const std::string_view value(static_cast<const char*>(m->payload) + from, std::min(slice, m->len - from));
        void* opaque = reinterpret_cast<void*>(static_cast<uintptr_t>((static_cast<uint64_t>(input) << 56) |
                                                                      (static_cast<uint64_t>(m->partition) << 40) | ticket));
        while (producer->produce(outputs[written++ % 2], key, value, {}, opaque) == RD_KAFKA_RESP_ERR__QUEUE_FULL)
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

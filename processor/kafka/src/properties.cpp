#include "dlr/kafka/properties.h"

#include <fmt/format.h>
#include <unistd.h>

#include <array>
#include <chrono>
#include <cstdlib>

namespace dlr::kafka {

Properties consumer_properties(const ClientSettings& c) {
  Properties p = {
      {"partition.assignment.strategy", "cooperative-sticky"},
      // A member that dies is noticed within 6 s (the broker's least by default) and its
      // partitions move on, instead of 45 s (librdkafka's default); a heartbeat every second.
      {"session.timeout.ms", "6000"},
      {"heartbeat.interval.ms", "1000"},
      {"auto.offset.reset", "earliest"},  // a new group starts from the beginning: nothing skipped
      {"enable.auto.commit", "true"},     // commits what store_offsets() stored, every interval
      {"auto.commit.interval.ms", "5000"},
      {"enable.partition.eof", "false"},
      {"queued.max.messages.kbytes",
       "32768"},  // prefetch: a fetch round trip's worth at full speed, RSS bounded
  };
  for (const auto& kv : c.common) p.emplace_back(kv);
  for (const auto& kv : c.consumer) p.emplace_back(kv);
  p.emplace_back("bootstrap.servers", c.brokers);
  p.emplace_back("group.id", c.group_id);
  p.emplace_back("enable.auto.offset.store",
                 "false");  // offsets are stored only after outputs are acknowledged
  if (c.exactly_once) {
    p.emplace_back("enable.auto.commit", "false");  // offsets travel in the transactions
    p.emplace_back("isolation.level", "read_committed");
  }
  return p;
}

Properties reader_properties(const ClientSettings& c) {
  // One partition after another through one connection: a fetch left waiting at the end of the
  // last partition would hold up the next one for up to fetch.wait.max.ms (500 ms by default).
  Properties p = {{"enable.partition.eof", "false"},
                  {"queued.max.messages.kbytes", "32768"},
                  {"fetch.wait.max.ms", "10"}};
  for (const auto& kv : c.common) p.emplace_back(kv);
  for (const auto& kv : c.consumer) p.emplace_back(kv);
  p.emplace_back("bootstrap.servers", c.brokers);
  // librdkafka's consumer API needs a group even for assigned partitions; this one never joins
  // (no subscribe) and never commits.
  p.emplace_back("group.id", c.group_id + "-restore");
  p.emplace_back("enable.auto.commit", "false");
  p.emplace_back("enable.auto.offset.store", "false");
  if (c.exactly_once) p.emplace_back("isolation.level", "read_committed");
  return p;
}

Properties lag_properties(const ClientSettings& c) {
  Properties p = consumer_properties(c);
  p.emplace_back("enable.auto.commit", "false");
  p.emplace_back("isolation.level", "read_uncommitted");
  return p;
}

Properties producer_properties(const ClientSettings& c) {
  Properties p = {
      {"enable.idempotence", "true"},
      {"partitioner", "murmur2_random"},  // the Java client's partitioner: same key, same partition
      {"linger.ms", "5"},
      // About a quarter second of output at full speed: enough to keep batches full, small enough
      // that a slow broker pauses consumption before memory grows.
      {"queue.buffering.max.messages", "50000"},
      {"queue.buffering.max.kbytes", "65536"},
  };
  for (const auto& kv : c.common) p.emplace_back(kv);
  for (const auto& kv : c.producer) p.emplace_back(kv);
  p.emplace_back("bootstrap.servers", c.brokers);
  if (c.exactly_once) {
    // It also bounds message.timeout.ms, so it must outlast a broker's failover (the controller
    // fences a dead broker after 9 s, and writes with acks=all wait for that): at 10 s records
    // timed out and the broker aborted the transaction under the stage. A transaction a crashed
    // instance left open holds its partitions this long, unless a static member's restart ends it.
    p.emplace(p.begin(), "transaction.timeout.ms", "30000");
    // With the group's metadata on every offset commit (KIP-447), zombie fencing does not need
    // the id to follow the partitions: unique per process will do. A stable one (the tracker's,
    // kept in its state folder, or the static member's) also ends at once a transaction its
    // killed predecessor left open, instead of after transaction.timeout.ms.
    const auto instance = c.consumer.find("group.instance.id");
    std::string id = c.transactional_id;
    if (id.empty() && instance != c.consumer.end() && !instance->second.empty())
      id = c.group_id + "-" + instance->second;
    if (id.empty()) {
      std::array<char, 256> host{};
      gethostname(host.data(), host.size() - 1);
      id = c.group_id + "-" + host.data() + "-" + std::to_string(getpid()) + "-" +
           std::to_string(std::chrono::steady_clock::now().time_since_epoch().count());
    }
    p.emplace_back("transactional.id", id);
  }
  return p;
}

std::string property(const Properties& p, const std::string& key) {
  for (auto it = p.rbegin(); it != p.rend(); ++it)
    if (it->first == key) return it->second;
  return {};
}

int property_int(const Properties& p, const std::string& key, int fallback) {
  const std::string value = property(p, key);
  return value.empty() ? fallback : std::atoi(value.c_str());
}

// librdkafka before 2.6.1 builds a SCRAM proof that Kafka 4 brokers reject (it repeats the client
// nonce; confluentinc/librdkafka#4895): to the operator it looks exactly like a wrong password.
std::string scram_hint(const Properties& p) {
  const std::string mechanism = property(p, "sasl.mechanisms") + property(p, "sasl.mechanism");
  if (mechanism.find("SCRAM") == std::string::npos || rd_kafka_version() >= 0x02060100) return {};
  return fmt::format(
      "; note: this librdkafka ({}) cannot authenticate with SCRAM to Kafka 4.x brokers (fixed in librdkafka "
      "2.6.1): against such brokers use PLAIN over TLS, or build against a newer librdkafka",
      rd_kafka_version_str());
}

}  // namespace dlr::kafka

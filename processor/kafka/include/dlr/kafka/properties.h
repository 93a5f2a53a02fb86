// The librdkafka properties a run loop's clients are made with: the defaults it sets, the user's
// properties over them, and last the ones at-least-once and exactly-once depend on. One place,
// used by the stage and the bench relay alike.
#pragma once

#include <map>
#include <string>

#include "dlr/kafka/client.h"

namespace dlr::kafka {

struct ClientSettings {
  std::string brokers;
  std::string group_id;
  bool exactly_once = false;
  std::map<std::string, std::string> common;    ///< the user's properties for both clients
  std::map<std::string, std::string> consumer;  ///< consumer-only
  std::map<std::string, std::string> producer;  ///< producer-only
  /// Exactly-once: the producer's transactional.id; "" for one unique to this process.
  std::string transactional_id;
};

[[nodiscard]] Properties consumer_properties(const ClientSettings& settings);
/// For a PartitionReader: the user's consumer properties, no group membership, no commits; with
/// exactly-once it reads committed records only.
[[nodiscard]] Properties reader_properties(const ClientSettings& settings);
/// For GroupOffsets reading the group's lag: the consumer's group and connection, never joining,
/// never committing, counting every record (read_uncommitted) as Kafka's own tools do.
[[nodiscard]] Properties lag_properties(const ClientSettings& settings);
/// With exactly-once, the transactional.id: settings.transactional_id; else, with static
/// membership (group.instance.id), the group's id and the instance's, so that a restarted instance
/// fences its predecessor and ends at once the transaction it left open; else one unique to this
/// process.
[[nodiscard]] Properties producer_properties(const ClientSettings& settings);

/// The value in force (the last one given), or "".
[[nodiscard]] std::string property(const Properties& properties, const std::string& key);
[[nodiscard]] int property_int(const Properties& properties, const std::string& key, int fallback);

/// A hint to add to an authentication failure when this librdkafka's SCRAM is the likely cause
/// (it cannot authenticate with SCRAM to Kafka 4 brokers); "" when it is not.
[[nodiscard]] std::string scram_hint(const Properties& properties);

}  // namespace dlr::kafka

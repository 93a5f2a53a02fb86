// The stage's librdkafka clients, made from the config: the producer (with transactions in
// exactly-once mode) and the subscribed group consumer.
#pragma once

#include <memory>
#include <string>

#include "dlr/config/config.h"
#include "dlr/kafka/kafka_io.h"
#include "dlr/kafka/properties.h"
#include "stage.h"

namespace dlr::app {

[[nodiscard]] kafka::ClientSettings client_settings(const config::Config& config);

struct StageClients {
  // Destroyed in reverse: the consumer leaves before the producer goes.
  std::unique_ptr<kafka::KafkaOutput> output;
  std::unique_ptr<kafka::KafkaInput> input;
  std::unique_ptr<kafka::KafkaTransactions> transactions;
  int hold_above = 37500;
  std::string scram_hint;

  /// Creates and subscribes the clients; null with `error` set when they cannot be made.
  static std::unique_ptr<StageClients> connect(const config::Config& config, std::string& error);
  [[nodiscard]] StageIo io() { return {*input, *output, transactions.get(), hold_above, scram_hint}; }
};

}  // namespace dlr::app

#include "stage_clients.h"

#include <spdlog/spdlog.h>

#include "dlr/kafka/properties.h"

namespace dlr::app {

kafka::ClientSettings client_settings(const config::Config& c) {
  return {c.brokers, c.group_id, c.exactly_once, c.kafka_common, c.kafka_consumer, c.kafka_producer, {}};
}

std::unique_ptr<StageClients> StageClients::connect(const config::Config& config, std::string& error) {
  auto clients = std::make_unique<StageClients>();
  const kafka::ClientSettings settings = client_settings(config);
  const kafka::Properties producer_props = kafka::producer_properties(settings);
  clients->output = kafka::KafkaOutput::create(producer_props, error);
  if (!clients->output) {
    error = "producer: " + error;
    return nullptr;
  }
  clients->scram_hint = kafka::scram_hint(producer_props);
  if (!clients->scram_hint.empty()) {
    spdlog::warn(
        "SCRAM with librdkafka {}: fine with Kafka 3.x brokers, rejected by Kafka 4.x brokers (fixed in "
        "librdkafka 2.6.1)",
        rd_kafka_version_str());
  }
  // Hold back with room left for the records of one more batch (up to 50 reports, 4 outputs each).
  clients->hold_above =
      std::max(1, kafka::property_int(producer_props, "queue.buffering.max.messages", 50000) * 3 / 4);
  clients->input = kafka::KafkaInput::create(kafka::consumer_properties(settings), error);
  if (!clients->input) {
    error = "consumer: " + error;
    return nullptr;
  }
  if (config.exactly_once) {
    clients->transactions =
        std::make_unique<kafka::KafkaTransactions>(clients->output->producer(), clients->input->consumer());
    if (const auto s = clients->transactions->init(30000); !s.ok) {
      error = "producer transactions: " + s.message;
      return nullptr;
    }
  }
  std::vector<std::string> topics;
  for (const auto& input : config.inputs) topics.push_back(input.topic);
  if (auto err = clients->input->subscribe(topics)) {
    error = "subscribe: " + kafka::describe(err);
    return nullptr;
  }
  return clients;
}

}  // namespace dlr::app

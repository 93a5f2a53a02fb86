// The HTTP endpoint of the Kafka stage: GET /metrics (Prometheus), /healthz and /readyz.
// One thread, one connection at a time: scrapes and probes are rare and small.
#pragma once

#include <atomic>
#include <functional>
#include <string>
#include <thread>

namespace dlr::app {

struct EndpointResponse {
  int status = 200;
  std::string content_type = "text/plain; charset=utf-8";
  std::string body;
};

class Endpoint {
 public:
  using Handler = std::function<EndpointResponse(const std::string& path)>;
  Endpoint() = default;
  ~Endpoint() { stop(); }
  Endpoint(const Endpoint&) = delete;
  Endpoint& operator=(const Endpoint&) = delete;

  /// Binds HOST:PORT and serves on a thread. Returns "" or why it could not bind.
  [[nodiscard]] std::string start(const std::string& address, Handler handler);
  void stop();
  /// The port actually bound (useful with port 0).
  [[nodiscard]] int port() const noexcept { return port_; }

 private:
  void serve();
  int fd_ = -1;
  int port_ = 0;
  Handler handler_;
  std::atomic<bool> stopping_{false};
  std::thread thread_;
};

}  // namespace dlr::app

// The HTTP endpoint of both stages: GET /metrics (Prometheus), /healthz, /readyz and the status
// pages, served by libmicrohttpd on one polling thread with idle timeouts and request limits.
#pragma once

#include <functional>
#include <string>
#include <string_view>

struct MHD_Daemon;

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
  /// The answer to one request (called on the HTTP thread).
  [[nodiscard]] EndpointResponse respond(std::string_view method, const std::string& path) const;
  /// The port actually bound (useful with port 0).
  [[nodiscard]] int port() const noexcept { return port_; }

 private:
  int fd_ = -1;
  int port_ = 0;
  Handler handler_;
  MHD_Daemon* daemon_ = nullptr;
};

}  // namespace dlr::app

#include "status_pages.h"

#include <string>

namespace dlr::app {

int64_t steady_now_ms() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

EndpointResponse status_page(Metrics& metrics, std::string_view path, int64_t now_ms) {
  const std::string text = "text/plain; charset=utf-8";
  if (path == "/metrics") return {200, "text/plain; version=0.0.4; charset=utf-8", metrics.render()};
  if (path == "/healthz") {
    const bool alive = !metrics.fatal && now_ms - metrics.loop_heartbeat_ms.load() < kStallAfter.count();
    return {alive ? 200 : 503, text, alive ? "ok\n" : "run loop stalled or failed\n"};
  }
  if (path == "/readyz") {
    const int partitions = metrics.assigned_partitions.load();
    if (!metrics.catalog_loaded || partitions <= 0 || metrics.fatal)
      return {503, text,
              metrics.fatal ? "not ready: the run loop failed\n" : "not ready: no partitions assigned yet\n"};
    return {200, text,
            "ready: " + std::to_string(partitions) + " partition(s), catalogue " + metrics.catalog_version() +
                "\n"};
  }
  return {404, text, "not found: /metrics, /healthz, /readyz\n"};
}

}  // namespace dlr::app

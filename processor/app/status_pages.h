// What a stage's HTTP endpoint serves: / (the live status page), /metrics (Prometheus), /healthz
// (the run loop turns and nothing fatal stopped it) and /readyz (the stage says it is ready: the
// enrichment stage once it has partitions and a catalogue, the tracker once its stores are
// restored).
#pragma once

#include <chrono>
#include <cstdint>
#include <string>
#include <string_view>

#include "endpoint.h"

namespace dlr::app {

/// The live status page (HTML and JavaScript reading /metrics and /readyz).
[[nodiscard]] std::string_view status_html() noexcept;

/// The run loop counts as stalled when it has not turned for this long.
inline constexpr std::chrono::milliseconds kStallAfter{30000};

/// Milliseconds on the steady clock: the unit of the loops' heartbeat.
[[nodiscard]] int64_t steady_now_ms();

/// The response to GET `path`, read from a stage's metrics at `now_ms` (steady clock). `M` has
/// render(), ready(), ready_text(), and the atomics fatal and loop_heartbeat_ms.
template <typename M>
[[nodiscard]] EndpointResponse status_page(M& metrics, std::string_view path, int64_t now_ms) {
  const std::string text = "text/plain; charset=utf-8";
  if (path == "/metrics") return {200, "text/plain; version=0.0.4; charset=utf-8", metrics.render()};
  if (path == "/healthz") {
    const bool alive = !metrics.fatal && now_ms - metrics.loop_heartbeat_ms.load() < kStallAfter.count();
    return {alive ? 200 : 503, text, alive ? "ok\n" : "run loop stalled or failed\n"};
  }
  if (path == "/readyz") return {metrics.ready() ? 200 : 503, text, metrics.ready_text()};
  if (path == "/") return {200, "text/html; charset=utf-8", std::string(status_html())};
  return {404, text, "not found: /, /metrics, /healthz, /readyz\n"};
}

}  // namespace dlr::app

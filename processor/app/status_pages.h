// What the stage's HTTP endpoint serves: /metrics (Prometheus), /healthz (the run loop turns and
// nothing fatal stopped it) and /readyz (a catalogue is loaded and partitions are assigned).
#pragma once

#include <chrono>
#include <cstdint>
#include <string_view>

#include "endpoint.h"
#include "metrics.h"

namespace dlr::app {

/// The run loop counts as stalled when it has not turned for this long.
inline constexpr std::chrono::milliseconds kStallAfter{30000};

/// Milliseconds on the steady clock: the unit of Metrics::loop_heartbeat_ms.
[[nodiscard]] int64_t steady_now_ms();

/// The response to GET `path`, read from `metrics` at `now_ms` (steady clock).
[[nodiscard]] EndpointResponse status_page(Metrics& metrics, std::string_view path, int64_t now_ms);

}  // namespace dlr::app

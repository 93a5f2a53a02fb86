// The HTTP endpoint and the pages it serves, scraped over a real socket while another thread
// updates the metrics as the run loop does (the ThreadSanitizer pass runs this).
#include "endpoint.h"

#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <string>
#include <thread>

#include "metrics.h"
#include "status_pages.h"

namespace dlr::app {
namespace {

// One request over loopback; returns the whole response, status line first.
std::string ask(int port, const std::string& method, const std::string& path) {
  const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in to{};
  to.sin_family = AF_INET;
  to.sin_port = htons(static_cast<uint16_t>(port));
  to.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (::connect(fd, reinterpret_cast<sockaddr*>(&to), sizeof to) != 0) {
    ::close(fd);
    return "connect failed";
  }
  const std::string request = method + " " + path + " HTTP/1.1\r\nHost: x\r\n\r\n";
  ::send(fd, request.data(), request.size(), MSG_NOSIGNAL);
  std::string response;
  char buffer[4096];
  for (ssize_t n; (n = ::recv(fd, buffer, sizeof buffer, 0)) > 0;)
    response.append(buffer, static_cast<size_t>(n));
  ::close(fd);
  return response;
}

std::string get(int port, const std::string& path) {
  return ask(port, "GET", path);
}

class StatusEndpoint : public ::testing::Test {
 protected:
  void SetUp() override {
    metrics.catalog_loaded = true;
    metrics.set_catalog_version("v-test");
    metrics.loop_heartbeat_ms = steady_now_ms();
    ASSERT_EQ(endpoint.start(
                  "127.0.0.1:0",
                  [this](const std::string& path) { return status_page(metrics, path, steady_now_ms()); }),
              "");
  }
  Metrics metrics{{"in"}};
  Endpoint endpoint;
};

TEST_F(StatusEndpoint, ServesCountersTheRunLoopIsUpdating) {
  std::atomic<bool> done{false};
  std::thread run_loop([&] {
    for (uint64_t i = 0; !done; ++i) {
      metrics.reports[core::Route::delivered].fetch_add(1, std::memory_order_relaxed);
      metrics.in_flight_messages.store(static_cast<int64_t>(i % 7), std::memory_order_relaxed);
      metrics.set_catalog_version(i % 2 ? "v-a" : "v-b");
      std::lock_guard lock(metrics.lag_mutex);
      metrics.lag.assign(1, PartitionLag{"in", 0, static_cast<int64_t>(i % 100), 5, 1});
    }
  });
  for (int scrape = 0; scrape < 20; ++scrape) {
    const std::string page = get(endpoint.port(), "/metrics");
    EXPECT_EQ(page.rfind("HTTP/1.1 200 OK\r\n", 0), 0u) << page;
    EXPECT_NE(page.find("dlr_reports_total{verdict=\"delivered\"}"), std::string::npos) << page;
  }
  done = true;
  run_loop.join();
  const std::string last = get(endpoint.port(), "/metrics");
  const std::string expected = "dlr_reports_total{verdict=\"delivered\"} " +
                               std::to_string(metrics.reports[core::Route::delivered].load());
  EXPECT_NE(last.find(expected), std::string::npos) << last;
}

TEST_F(StatusEndpoint, IsReadyOnlyWithPartitionsAndNoFatalError) {
  EXPECT_EQ(get(endpoint.port(), "/readyz").rfind("HTTP/1.1 503", 0), 0u);
  metrics.assigned_partitions = 3;
  const std::string ready = get(endpoint.port(), "/readyz");
  EXPECT_EQ(ready.rfind("HTTP/1.1 200", 0), 0u) << ready;
  EXPECT_NE(ready.find("ready: 3 partition(s), catalogue v-test"), std::string::npos) << ready;
  metrics.fatal = true;
  EXPECT_EQ(get(endpoint.port(), "/readyz").rfind("HTTP/1.1 503", 0), 0u);
}

TEST_F(StatusEndpoint, IsUnhealthyOnceTheRunLoopStallsOrFails) {
  EXPECT_EQ(get(endpoint.port(), "/healthz").rfind("HTTP/1.1 200", 0), 0u);
  metrics.loop_heartbeat_ms = steady_now_ms() - kStallAfter.count() - 1;
  EXPECT_EQ(get(endpoint.port(), "/healthz").rfind("HTTP/1.1 503", 0), 0u);
  metrics.loop_heartbeat_ms = steady_now_ms();
  metrics.fatal = true;
  EXPECT_EQ(get(endpoint.port(), "/healthz").rfind("HTTP/1.1 503", 0), 0u);
}

TEST_F(StatusEndpoint, AnswersUnknownPathsAndMethodsWithErrors) {
  EXPECT_EQ(get(endpoint.port(), "/nope").rfind("HTTP/1.1 404", 0), 0u);
  EXPECT_EQ(ask(endpoint.port(), "POST", "/metrics").rfind("HTTP/1.1 405", 0), 0u);
}

}  // namespace
}  // namespace dlr::app

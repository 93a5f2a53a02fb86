// The HTTP endpoint and the pages it serves, scraped over a real socket while another thread
// updates the metrics as the run loop does (the ThreadSanitizer pass runs this).
#include "endpoint.h"

#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <chrono>
#include <string>
#include <thread>
#include <vector>

#include "metrics.h"
#include "status_pages.h"

namespace dlr::app {
namespace {

// A loopback socket connected (or, non-blocking, connecting) to `port`, or -1.
int connect_to(int port, bool nonblocking = false) {
  const int fd = ::socket(AF_INET, SOCK_STREAM | (nonblocking ? SOCK_NONBLOCK : 0), 0);
  sockaddr_in to{};
  to.sin_family = AF_INET;
  to.sin_port = htons(static_cast<uint16_t>(port));
  to.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (::connect(fd, reinterpret_cast<sockaddr*>(&to), sizeof to) != 0 &&
      !(nonblocking && errno == EINPROGRESS)) {
    ::close(fd);
    return -1;
  }
  return fd;
}

// One request over loopback; returns the whole response, status line first.
std::string ask(int port, const std::string& method, const std::string& path) {
  const int fd = connect_to(port);
  if (fd < 0) return "connect failed";
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
      std::lock_guard lock(metrics.assigned_mutex);
      metrics.assigned.assign(1, AssignedPartition{"in", 0, 5, static_cast<size_t>(i % 100)});
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

TEST_F(StatusEndpoint, ServesTheLivePageAtTheRoot) {
  const std::string page = get(endpoint.port(), "/");
  EXPECT_EQ(page.rfind("HTTP/1.1 200", 0), 0u) << page;
  EXPECT_NE(page.find("Content-Type: text/html; charset=utf-8"), std::string::npos) << page;
  EXPECT_NE(page.find("fetch(\"/metrics\""), std::string::npos);  // it reads what Prometheus reads
}

TEST_F(StatusEndpoint, AnswersUnknownPathsAndMethodsWithErrors) {
  EXPECT_EQ(get(endpoint.port(), "/nope").rfind("HTTP/1.1 404", 0), 0u);
  EXPECT_EQ(ask(endpoint.port(), "POST", "/metrics").rfind("HTTP/1.1 405", 0), 0u);
}

// GET `path` and wait for the whole response until `deadline`; what arrived by then.
std::string get_by(int port, const std::string& path, std::chrono::steady_clock::time_point deadline) {
  const int fd = connect_to(port, true);
  if (fd < 0) return "connect failed";
  const auto left = [&] {
    return static_cast<int>(std::max<int64_t>(
        0, std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now())
               .count()));
  };
  pollfd writable{fd, POLLOUT, 0};
  if (::poll(&writable, 1, left()) <= 0) {
    ::close(fd);
    return "not connected";
  }
  const std::string request = "GET " + path + " HTTP/1.1\r\nHost: x\r\n\r\n";
  ::send(fd, request.data(), request.size(), MSG_NOSIGNAL);
  std::string response;
  char buffer[4096];
  for (;;) {
    pollfd p{fd, POLLIN, 0};
    if (::poll(&p, 1, left()) <= 0) break;
    const ssize_t n = ::recv(fd, buffer, sizeof buffer, 0);
    if (n <= 0) break;
    response.append(buffer, static_cast<size_t>(n));
  }
  ::close(fd);
  return response;
}

// What a liveness probe meets on a pod network with a misbehaving neighbour: connections that send
// nothing, one that asks and never reads, one that sends headers without end.
TEST_F(StatusEndpoint, ProbesAreAnsweredWhileOtherClientsHoldConnections) {
  std::vector<int> idle;
  for (int i = 0; i < 200; ++i) {
    const int fd = connect_to(endpoint.port(), true);
    ASSERT_GE(fd, 0);
    idle.push_back(fd);
  }
  const auto writable = [](int fd) {
    pollfd p{fd, POLLOUT, 0};
    return ::poll(&p, 1, 1000) == 1;
  };
  const int never_reads = connect_to(endpoint.port(), true);
  ASSERT_TRUE(writable(never_reads));
  const std::string scrape = "GET /metrics HTTP/1.1\r\nHost: x\r\n\r\n";
  ::send(never_reads, scrape.data(), scrape.size(), MSG_NOSIGNAL);
  const int endless = connect_to(endpoint.port(), true);
  ASSERT_TRUE(writable(endless));
  const std::string huge = "GET /metrics HTTP/1.1\r\nX-Padding: " + std::string(64 * 1024, 'a');
  ::send(endless, huge.data(), huge.size(), MSG_NOSIGNAL | MSG_DONTWAIT);

  const std::string health =
      get_by(endpoint.port(), "/healthz", std::chrono::steady_clock::now() + std::chrono::milliseconds(100));
  EXPECT_EQ(health.rfind("HTTP/1.1 200", 0), 0u) << "no answer within 100 ms: '" << health << "'";
  // The oversized request is refused, not buffered: its connection ends.
  pollfd p{endless, POLLIN, 0};
  ASSERT_EQ(::poll(&p, 1, 2000), 1);
  char byte[256];
  EXPECT_GE(::recv(endless, byte, sizeof byte, 0), 0);
  for (const int fd : idle) ::close(fd);
  ::close(never_reads);
  ::close(endless);
}

}  // namespace
}  // namespace dlr::app

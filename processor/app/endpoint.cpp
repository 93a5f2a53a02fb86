#include "endpoint.h"

#include <arpa/inet.h>
#include <netdb.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <string_view>

namespace dlr::app {
namespace {

const char* status_text(int status) {
  switch (status) {
    case 200:
      return "OK";
    case 404:
      return "Not Found";
    case 405:
      return "Method Not Allowed";
    case 503:
      return "Service Unavailable";
    default:
      return "Error";
  }
}

void write_all(int fd, std::string_view data) {
  while (!data.empty()) {
    const ssize_t n = ::send(fd, data.data(), data.size(), MSG_NOSIGNAL);
    if (n <= 0) return;
    data.remove_prefix(static_cast<size_t>(n));
  }
}

}  // namespace

std::string Endpoint::start(const std::string& address, Handler handler) {
  const size_t colon = address.rfind(':');
  if (colon == std::string::npos) return "metrics address '" + address + "' is not HOST:PORT";
  std::string host = address.substr(0, colon);
  if (host.size() > 1 && host.front() == '[' && host.back() == ']') host = host.substr(1, host.size() - 2);
  const std::string service = address.substr(colon + 1);
  addrinfo hints{};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  hints.ai_flags = AI_PASSIVE | AI_NUMERICSERV;
  addrinfo* found = nullptr;
  if (int rc = ::getaddrinfo(host.c_str(), service.c_str(), &hints, &found); rc != 0)
    return "metrics address '" + address + "': " + ::gai_strerror(rc);
  std::string error;
  for (addrinfo* ai = found; ai; ai = ai->ai_next) {
    const int fd = ::socket(ai->ai_family, ai->ai_socktype | SOCK_CLOEXEC, 0);
    if (fd < 0) continue;
    const int one = 1;
    ::setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    if (::bind(fd, ai->ai_addr, ai->ai_addrlen) == 0 && ::listen(fd, 16) == 0) {
      fd_ = fd;
      sockaddr_storage bound{};
      socklen_t len = sizeof bound;
      ::getsockname(fd, reinterpret_cast<sockaddr*>(&bound), &len);
      port_ = ntohs(bound.ss_family == AF_INET6 ? reinterpret_cast<sockaddr_in6*>(&bound)->sin6_port
                                                : reinterpret_cast<sockaddr_in*>(&bound)->sin_port);
      break;
    }
    error = std::strerror(errno);
    ::close(fd);
  }
  ::freeaddrinfo(found);
  if (fd_ < 0) return "cannot listen on " + address + ": " + error;
  handler_ = std::move(handler);
  thread_ = std::thread([this] { serve(); });
  return {};
}

void Endpoint::stop() {
  stopping_ = true;
  if (thread_.joinable()) thread_.join();
  if (fd_ >= 0) ::close(fd_);
  fd_ = -1;
}

void Endpoint::serve() {
  char buffer[2048];
  while (!stopping_) {
    pollfd p{fd_, POLLIN, 0};
    if (::poll(&p, 1, 200) <= 0) continue;
    const int client = ::accept4(fd_, nullptr, nullptr, SOCK_CLOEXEC);
    if (client < 0) continue;
    // A request line and headers fit in one read from a local scraper; wait at most 2 s for it.
    pollfd c{client, POLLIN, 0};
    ssize_t n = 0;
    if (::poll(&c, 1, 2000) > 0) n = ::recv(client, buffer, sizeof buffer - 1, 0);
    EndpointResponse response;
    if (n > 0) {
      const std::string_view request(buffer, static_cast<size_t>(n));
      const size_t sp1 = request.find(' ');
      const size_t sp2 = sp1 == std::string_view::npos ? sp1 : request.find(' ', sp1 + 1);
      const std::string_view method = request.substr(0, sp1);
      std::string path(sp2 == std::string_view::npos ? std::string_view()
                                                     : request.substr(sp1 + 1, sp2 - sp1 - 1));
      if (const size_t q = path.find('?'); q != std::string::npos) path.resize(q);
      if (method != "GET" && method != "HEAD") {
        response = {405, "text/plain; charset=utf-8", "only GET\n"};
      } else {
        response = handler_(path);
      }
      std::string head = "HTTP/1.1 " + std::to_string(response.status) + " " + status_text(response.status) +
                         "\r\nContent-Type: " + response.content_type +
                         "\r\nContent-Length: " + std::to_string(response.body.size()) +
                         "\r\nConnection: close\r\n\r\n";
      write_all(client, head);
      if (method != "HEAD") write_all(client, response.body);
    }
    ::close(client);
  }
}

}  // namespace dlr::app

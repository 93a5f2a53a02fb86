#include "endpoint.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <microhttpd.h>
#include <netdb.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <string_view>

namespace dlr::app {
namespace {

// Scrapes and probes are small: a request bigger than this is refused, an idle connection dropped.
constexpr size_t kRequestMemory = size_t{16} << 10;
constexpr unsigned kIdleSeconds = 10;
constexpr unsigned kMaxConnections = 1000;

// Called by libmicrohttpd's polling thread for each request, once its headers are in; a body,
// if any, is not read.
MHD_Result answer(void* self, MHD_Connection* connection, const char* url, const char* method,
                  const char* /*version*/, const char* /*upload_data*/, size_t* upload_data_size,
                  void** /*request*/) {
  *upload_data_size = 0;
  EndpointResponse response = static_cast<const Endpoint*>(self)->respond(method, url);
  MHD_Response* reply =
      MHD_create_response_from_buffer(response.body.size(), response.body.data(), MHD_RESPMEM_MUST_COPY);
  if (!reply) return MHD_NO;
  (void)MHD_add_response_header(reply, MHD_HTTP_HEADER_CONTENT_TYPE, response.content_type.c_str());
  (void)MHD_add_response_header(reply, MHD_HTTP_HEADER_CONNECTION, "close");
  const MHD_Result queued = MHD_queue_response(connection, static_cast<unsigned>(response.status), reply);
  MHD_destroy_response(reply);
  return queued;
}

}  // namespace

EndpointResponse Endpoint::respond(std::string_view method, const std::string& path) const {
  if (method != "GET" && method != "HEAD") return {405, "text/plain; charset=utf-8", "only GET\n"};
  return handler_(path);
}

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
    // A deep backlog: a burst of connections (idle ones included) never drops a probe's SYN,
    // which the client would only send again a second later.
    if (::bind(fd, ai->ai_addr, ai->ai_addrlen) == 0 && ::listen(fd, 1024) == 0) {
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
  (void)::fcntl(fd_, F_SETFL, ::fcntl(fd_, F_GETFL) | O_NONBLOCK);
  // One thread polling every connection (epoll): a client that sends nothing or reads nothing
  // holds a little memory until it times out, never the thread that answers the probes.
  daemon_ = MHD_start_daemon(MHD_USE_EPOLL_INTERNAL_THREAD, 0, nullptr, nullptr, &answer, this,
                             MHD_OPTION_LISTEN_SOCKET, fd_, MHD_OPTION_CONNECTION_TIMEOUT, kIdleSeconds,
                             MHD_OPTION_CONNECTION_LIMIT, kMaxConnections, MHD_OPTION_CONNECTION_MEMORY_LIMIT,
                             kRequestMemory, MHD_OPTION_END);
  if (!daemon_) {
    ::close(fd_);
    fd_ = -1;
    return "cannot serve HTTP on " + address;
  }
  return {};
}

void Endpoint::stop() {
  if (daemon_) MHD_stop_daemon(daemon_);  // closes the listening socket too
  daemon_ = nullptr;
  fd_ = -1;
}

}  // namespace dlr::app

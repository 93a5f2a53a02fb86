#include "state_dir_claim.h"

#include <fcntl.h>
#include <sys/file.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <random>

namespace dlr::app {

std::unique_ptr<StateDirClaim> StateDirClaim::claim(const std::string& dir, std::string& error) {
  std::error_code ec;
  std::filesystem::create_directories(dir, ec);
  const std::string path = (std::filesystem::path(dir) / "instance-id").string();
  const int fd = ::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644);
  if (fd < 0) {
    error = "cannot open " + path + ": " + std::strerror(errno);
    return nullptr;
  }
  if (::flock(fd, LOCK_EX | LOCK_NB) != 0) {
    error = "state_dir " + dir + " is in use by another tracker (each instance needs its own)";
    ::close(fd);
    return nullptr;
  }
  char stored[33] = {};
  const ssize_t n = ::pread(fd, stored, 32, 0);
  std::string id(stored, n > 0 ? static_cast<size_t>(n) : 0);
  if (id.size() != 32 || id.find_first_not_of("0123456789abcdef") != std::string::npos) {
    std::random_device random;
    static constexpr char kHex[] = "0123456789abcdef";
    id.clear();
    for (int i = 0; i < 32; ++i) id += kHex[random() & 0xF];
    if (::ftruncate(fd, 0) != 0 || ::pwrite(fd, id.data(), id.size(), 0) != static_cast<ssize_t>(id.size()) ||
        ::fsync(fd) != 0) {
      error = "cannot write " + path + ": " + std::strerror(errno);
      ::close(fd);
      return nullptr;
    }
  }
  return std::unique_ptr<StateDirClaim>(new StateDirClaim(fd, std::move(id)));
}

StateDirClaim::~StateDirClaim() {
  ::close(fd_);  // releases the lock
}

}  // namespace dlr::app

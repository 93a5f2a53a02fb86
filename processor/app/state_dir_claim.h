// The tracker's claim on its state folder: a lock held while it runs, so two trackers never share
// one, and an instance id kept there, so a restarted tracker is the same transactional producer
// and fences the open transaction its killed predecessor left instead of waiting it out.
#pragma once

#include <memory>
#include <string>

namespace dlr::app {

class StateDirClaim {
 public:
  /// Creates `dir` if needed, locks it and reads (or on the first start writes) its instance id.
  /// Null with `error` set when another process holds it or it cannot be written.
  static std::unique_ptr<StateDirClaim> claim(const std::string& dir, std::string& error);
  ~StateDirClaim();
  StateDirClaim(const StateDirClaim&) = delete;
  StateDirClaim& operator=(const StateDirClaim&) = delete;

  /// 32 hex digits, the same on every start on this folder.
  [[nodiscard]] const std::string& instance_id() const noexcept { return id_; }

 private:
  StateDirClaim(int fd, std::string id) : fd_(fd), id_(std::move(id)) {}
  int fd_;
  std::string id_;
};

}  // namespace dlr::app

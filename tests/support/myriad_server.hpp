#pragma once

#include <sys/types.h>

#include <cstdint>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "support/process.hpp"

namespace myriad::testing {

/// The real `myriad serve` binary as a child process on an ephemeral loopback port, against
/// `database_url` (migrated at start). Every test client is 127.0.0.1, so the per-address
/// connection cap and the rate limits are off unless `extra` turns them on (a later flag
/// wins). port() is 0 when the server did not start listening within 30 s.
class MyriadServer {
 public:
  MyriadServer(const std::string& database_url, const std::vector<std::string>& extra);
  ~MyriadServer();
  MyriadServer(const MyriadServer&) = delete;
  MyriadServer& operator=(const MyriadServer&) = delete;

  std::uint16_t port() const { return port_; }
  pid_t pid() const { return child_->pid(); }
  /// The log so far; only before the server started listening (the drain owns it after).
  const std::string& output() const { return child_->output(); }

 private:
  std::unique_ptr<ChildProcess> child_;
  std::uint16_t port_ = 0;
  std::jthread drain_;
};

}  // namespace myriad::testing

#pragma once

#include <sys/types.h>

#include <chrono>
#include <cstdint>
#include <memory>
#include <mutex>
#include <optional>
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
  /// Log() may be called at any time.
  const std::string& output() const { return child_->output(); }
  /// A copy of everything the server wrote to stdout and stderr so far: what the drain has
  /// read (it reads every 100 ms or so), or after Stop() the whole log up to the exit.
  /// Thread-safe.
  std::string Log() const;
  /// Sends SIGTERM and waits up to `timeout` for the exit, reading the log to its end. The
  /// exit status (as ChildProcess::Wait), or nullopt when it is still running; calling it
  /// again returns the same status. Call it from the thread that created the server.
  std::optional<int> Stop(std::chrono::milliseconds timeout = std::chrono::seconds(30));

 private:
  // Appends what the child has read since the last call to log_; only on the thread that
  // reads the child (the drain while it runs, else the owner).
  void CopyNewOutput();

  std::unique_ptr<ChildProcess> child_;
  std::uint16_t port_ = 0;
  mutable std::mutex log_mutex_;
  std::string log_;
  std::size_t copied_ = 0;
  std::optional<int> exit_status_;
  std::jthread drain_;
};

}  // namespace myriad::testing

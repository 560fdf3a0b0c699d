#pragma once

#include <sys/types.h>

#include <chrono>
#include <optional>
#include <string>
#include <vector>

namespace myriad::testing {

/// A child process (the real `myriad` binary) with its stdout and stderr captured, for
/// tests of signals, exit codes and start-up messages. Killed when destroyed.
class ChildProcess {
 public:
  /// Starts `argv[0]` with the given arguments; `max_open_files`, when set, becomes the
  /// child's RLIMIT_NOFILE (soft and hard) before exec.
  explicit ChildProcess(std::vector<std::string> argv,
                        std::optional<unsigned long> max_open_files = std::nullopt);
  ~ChildProcess();
  ChildProcess(const ChildProcess&) = delete;
  ChildProcess& operator=(const ChildProcess&) = delete;

  pid_t pid() const { return pid_; }
  /// Reads output until it contains `needle` or the timeout passes; true if found.
  bool WaitForOutput(const std::string& needle,
                     std::chrono::milliseconds timeout = std::chrono::seconds(20));
  /// Everything read so far.
  const std::string& output() const { return output_; }
  void Signal(int signo) const;
  /// The exit status (WEXITSTATUS, or 128 + signal) once it exits within the timeout.
  std::optional<int> Wait(std::chrono::milliseconds timeout = std::chrono::seconds(20));

 private:
  void Drain(std::chrono::milliseconds timeout);
  pid_t pid_ = -1;
  int out_fd_ = -1;
  std::string output_;
  std::optional<int> status_;
};

/// The port in a "listening on http://HOST:PORT" log line, or 0.
unsigned short ListeningPort(const std::string& output);

}  // namespace myriad::testing

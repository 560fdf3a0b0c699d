#include "support/process.hpp"

#include <fcntl.h>
#include <poll.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <csignal>
#include <thread>

namespace myriad::testing {

ChildProcess::ChildProcess(std::vector<std::string> argv,
                           std::optional<unsigned long> max_open_files) {
  int fds[2];
  if (pipe2(fds, O_CLOEXEC) != 0) return;
  pid_ = fork();
  if (pid_ == 0) {
    // A test that crashes (an ASan report aborts it) must not leave its server running.
    // The signal follows the forking thread: tests create children on their main thread.
    prctl(PR_SET_PDEATHSIG, SIGKILL);
    dup2(fds[1], STDOUT_FILENO);
    dup2(fds[1], STDERR_FILENO);
    if (max_open_files) {
      rlimit limit{*max_open_files, *max_open_files};
      setrlimit(RLIMIT_NOFILE, &limit);
    }
    std::vector<char*> args;
    for (auto& a : argv) args.push_back(a.data());
    args.push_back(nullptr);
    execv(args[0], args.data());
    _exit(127);
  }
  close(fds[1]);
  out_fd_ = fds[0];
}

ChildProcess::~ChildProcess() {
  if (pid_ > 0 && !status_) {
    kill(pid_, SIGKILL);
    Wait(std::chrono::seconds(10));
  }
  if (out_fd_ >= 0) close(out_fd_);
}

void ChildProcess::Drain(std::chrono::milliseconds timeout) {
  if (out_fd_ < 0) return;
  pollfd p{out_fd_, POLLIN, 0};
  if (poll(&p, 1, static_cast<int>(timeout.count())) <= 0) return;
  char buf[4096];
  ssize_t n = read(out_fd_, buf, sizeof(buf));
  if (n > 0) output_.append(buf, static_cast<std::size_t>(n));
  if (n == 0) {
    close(out_fd_);
    out_fd_ = -1;
  }
}

bool ChildProcess::WaitForOutput(const std::string& needle, std::chrono::milliseconds timeout) {
  auto deadline = std::chrono::steady_clock::now() + timeout;
  while (output_.find(needle) == std::string::npos) {
    if (std::chrono::steady_clock::now() >= deadline || out_fd_ < 0) {
      return output_.find(needle) != std::string::npos;
    }
    Drain(std::chrono::milliseconds(50));
  }
  return true;
}

void ChildProcess::Signal(int signo) const {
  if (pid_ > 0) kill(pid_, signo);
}

std::optional<int> ChildProcess::Wait(std::chrono::milliseconds timeout) {
  if (status_) return status_;
  auto deadline = std::chrono::steady_clock::now() + timeout;
  while (true) {
    int status = 0;
    pid_t done = waitpid(pid_, &status, WNOHANG);
    if (done == pid_) {
      status_ = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
      while (out_fd_ >= 0) Drain(std::chrono::milliseconds(100));
      return status_;
    }
    if (std::chrono::steady_clock::now() >= deadline) return std::nullopt;
    Drain(std::chrono::milliseconds(20));
  }
}

unsigned short ListeningPort(const std::string& output) {
  const std::string marker = "listening on http://";
  auto at = output.find(marker);
  if (at == std::string::npos) return 0;
  auto space = output.find_first_of(" \"", at + marker.size());
  auto hostport = output.substr(at + marker.size(), space - at - marker.size());
  auto colon = hostport.rfind(':');
  if (colon == std::string::npos) return 0;
  return static_cast<unsigned short>(std::stoi(hostport.substr(colon + 1)));
}

}  // namespace myriad::testing

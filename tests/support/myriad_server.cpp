#include "support/myriad_server.hpp"

#include <csignal>

namespace myriad::testing {

using namespace std::chrono_literals;

MyriadServer::MyriadServer(const std::string& database_url, const std::vector<std::string>& extra) {
  std::vector<std::string> args = {MYRIAD_BINARY,
                                   "serve",
                                   "--listen",
                                   "127.0.0.1:0",
                                   "--access-log",
                                   "off",
                                   "--database-url",
                                   database_url,
                                   "--migrate",
                                   "--migrations-dir",
                                   std::string(MYRIAD_SOURCE_DIR) + "/migrations",
                                   "--max-connections-per-ip",
                                   "0",
                                   "--rate-limit",
                                   "off"};
  args.insert(args.end(), extra.begin(), extra.end());
  child_ = std::make_unique<ChildProcess>(args);
  const bool listening = child_->WaitForOutput("listening on", 30s);
  CopyNewOutput();
  if (!listening) return;
  port_ = ListeningPort(child_->output());
  // The child writes its log into a pipe: keep reading it, or a full pipe would block the
  // server on its next log line.
  drain_ = std::jthread([this](const std::stop_token& stop) {
    while (!stop.stop_requested()) {
      if (!child_->WaitForOutput("\x01never", 100ms)) std::this_thread::sleep_for(10ms);
      CopyNewOutput();
    }
  });
}

MyriadServer::~MyriadServer() {
  drain_.request_stop();
  if (drain_.joinable()) drain_.join();
}

void MyriadServer::CopyNewOutput() {
  const std::string& output = child_->output();
  const std::scoped_lock lock(log_mutex_);
  log_.append(output, copied_);
  copied_ = output.size();
}

std::string MyriadServer::Log() const {
  const std::scoped_lock lock(log_mutex_);
  return log_;
}

std::optional<int> MyriadServer::Stop(std::chrono::milliseconds timeout) {
  if (exit_status_) return exit_status_;
  // ChildProcess is not thread-safe: the drain must be gone before this thread reads it.
  drain_.request_stop();
  if (drain_.joinable()) drain_.join();
  child_->Signal(SIGTERM);
  exit_status_ = child_->Wait(timeout);
  CopyNewOutput();
  return exit_status_;
}

}  // namespace myriad::testing

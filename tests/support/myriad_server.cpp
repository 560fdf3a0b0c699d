#include "support/myriad_server.hpp"

#include <chrono>

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
  if (!child_->WaitForOutput("listening on", 30s)) return;
  port_ = ListeningPort(child_->output());
  // The child writes its log into a pipe: keep reading it, or a full pipe would block the
  // server on its next log line.
  drain_ = std::jthread([child = child_.get()](const std::stop_token& stop) {
    while (!stop.stop_requested()) {
      if (!child->WaitForOutput("\x01never", 100ms)) std::this_thread::sleep_for(10ms);
    }
  });
}

MyriadServer::~MyriadServer() {
  drain_.request_stop();
  if (drain_.joinable()) drain_.join();
}

}  // namespace myriad::testing

#pragma once

#include <memory>
#include <string>
#include <string_view>

#include "log/log.hpp"

namespace spdlog {
class logger;
}

namespace myriad::http {

/// One finished request, as the access log records it.
struct AccessEntry {
  std::string_view method;
  std::string_view route;  // template, or "unmatched"
  std::string_view path;   // without the query string: queries may carry secrets
  int status = 0;
  double duration_seconds = 0;
  std::size_t bytes = 0;  // response bytes written
  std::string_view request_id;
  std::string_view peer;
};

/// Access log lines (JSON or text) written by a background thread; Write() only formats
/// and enqueues, so it never blocks an io thread. Thread-safe.
class AccessLog {
 public:
  /// destination: "stdout", "stderr", "off" or a file path.
  AccessLog(const std::string& destination, log::Format format);
  bool enabled() const { return logger_ != nullptr; }
  void Write(const AccessEntry& entry);
  void Flush();

 private:
  std::shared_ptr<spdlog::logger> logger_;
  log::Format format_;
};

/// Appends `text` to `out` escaped for a JSON string (without quotes). Exposed for tests.
void AppendJsonEscaped(std::string_view text, std::string& out);

}  // namespace myriad::http

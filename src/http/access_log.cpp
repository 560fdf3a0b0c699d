#include "http/access_log.hpp"

#include <fmt/format.h>
#include <spdlog/logger.h>

namespace myriad::http {

void AppendJsonEscaped(std::string_view text, std::string& out) {
  static constexpr std::string_view kHex = "0123456789abcdef";
  for (char c : text) {
    auto u = static_cast<unsigned char>(c);
    if (c == '"' || c == '\\') {
      out.push_back('\\');
      out.push_back(c);
    } else if (u < 0x20 || u >= 0x7f) {
      // Non-ASCII bytes are escaped one by one so that invalid UTF-8 from a client never
      // makes the line invalid JSON.
      out.append("\\u00");
      out.push_back(kHex[u >> 4]);
      out.push_back(kHex[u & 0xF]);
    } else {
      out.push_back(c);
    }
  }
}

AccessLog::AccessLog(const std::string& destination, log::Format format)
    : logger_(log::MakeAsyncLineLogger("access", destination, format)), format_(format) {}

void AccessLog::Write(const AccessEntry& e) {
  if (!logger_) return;
  thread_local std::string line;
  line.clear();
  if (format_ == log::Format::kJson) {
    line.append(R"("type":"access","method":")");
    AppendJsonEscaped(e.method, line);
    line.append(R"(","route":")");
    AppendJsonEscaped(e.route, line);
    line.append(R"(","path":")");
    AppendJsonEscaped(e.path, line);
    fmt::format_to(std::back_inserter(line),
                   R"(","status":{},"duration_ms":{:.3f},"bytes":{},"request_id":")", e.status,
                   e.duration_seconds * 1000.0, e.bytes);
    AppendJsonEscaped(e.request_id, line);
    line.append(R"(","peer":")");
    AppendJsonEscaped(e.peer, line);
    line.append("\"");
  } else {
    std::string path;
    AppendJsonEscaped(e.path, path);
    fmt::format_to(std::back_inserter(line), "{} {} {} {} {:.3f}ms {}B id={} route={}", e.peer,
                   e.method, path, e.status, e.duration_seconds * 1000.0, e.bytes, e.request_id,
                   e.route);
  }
  logger_->info(std::string_view(line));
}

void AccessLog::Flush() {
  if (logger_) logger_->flush();
}

}  // namespace myriad::http

#include "http/response_writer.hpp"

#include <array>
#include <charconv>
#include <ctime>

#include "core/clock.hpp"
#include "http/problem.hpp"

namespace myriad::http {
namespace {

void AppendNumber(std::string& out, std::size_t value) {
  std::array<char, 24> digits{};
  auto result = std::to_chars(digits.data(), digits.data() + digits.size(), value);
  out.append(digits.data(), result.ptr);
}

}  // namespace

void AppendResponse(const Response& response, const ResponseMeta& meta, std::string& out) {
  out.append(meta.version == 10 ? "HTTP/1.0 " : "HTTP/1.1 ");
  AppendNumber(out, static_cast<std::size_t>(response.status));
  out.push_back(' ');
  out.append(ReasonPhrase(response.status));
  out.append("\r\nDate: ");
  out.append(meta.date);
  out.append("\r\nServer: myriad");
  const bool no_body = response.status == 204 || response.status == 304 ||
                       (response.status >= 100 && response.status < 200);
  if (!no_body) {
    out.append("\r\nContent-Type: ");
    out.append(response.content_type);
    out.append("\r\nContent-Length: ");
    AppendNumber(out, response.body.size());
  }
  if (!meta.request_id.empty()) {
    out.append("\r\nX-Request-ID: ");
    out.append(meta.request_id);
  }
  for (const auto& [name, value] : response.headers) {
    out.append("\r\n");
    out.append(name);
    out.append(": ");
    out.append(value);
  }
  if (!meta.keep_alive || response.close) {
    out.append("\r\nConnection: close");
  } else if (meta.version == 10) {
    out.append("\r\nConnection: keep-alive");
  }
  out.append("\r\n\r\n");
  if (!meta.head && !no_body) out.append(response.body);
}

std::string_view DateCache::Get() {
  long long now = core::WallClockSeconds();
  if (now != second_) {
    second_ = now;
    auto t = static_cast<std::time_t>(now);
    std::tm tm{};
    gmtime_r(&t, &tm);
    size_ = std::strftime(text_.data(), text_.size(), "%a, %d %b %Y %H:%M:%S GMT", &tm);
  }
  return {text_.data(), size_};
}

}  // namespace myriad::http

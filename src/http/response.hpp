#pragma once

#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace myriad::http {

inline constexpr std::string_view kJsonType = "application/json";
inline constexpr std::string_view kProblemType = "application/problem+json";
inline constexpr std::string_view kPrometheusType = "text/plain; version=0.0.4; charset=utf-8";

/// What a handler returns. The server adds Date, Content-Length, X-Request-ID and
/// Connection; a handler sets only what is specific to its answer.
struct Response {
  int status = 200;
  /// Must point at storage that outlives the response (a literal or a constant above).
  std::string_view content_type = kJsonType;
  std::string body;
  std::vector<std::pair<std::string, std::string>> headers;
  /// Ask the server to close the connection after this response.
  bool close = false;

  Response& Header(std::string name, std::string value) {
    headers.emplace_back(std::move(name), std::move(value));
    return *this;
  }
};

inline Response JsonResponse(int status, std::string body) {
  Response r;
  r.status = status;
  r.body = std::move(body);
  return r;
}

}  // namespace myriad::http

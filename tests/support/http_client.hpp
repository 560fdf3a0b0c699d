#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace myriad::testing {

/// A parsed HTTP/1.1 response as a test sees it.
struct HttpResponse {
  int status = 0;
  std::vector<std::pair<std::string, std::string>> headers;
  std::string body;
  /// The header's value (case-insensitive name), or nullopt.
  std::optional<std::string> Header(std::string_view name) const;
};

/// A blocking TCP client on loopback for integration tests: raw bytes in, parsed
/// responses out, every wait bounded by a timeout so a broken server fails the test
/// instead of hanging it.
class HttpClient {
 public:
  explicit HttpClient(std::uint16_t port, std::string host = "127.0.0.1");
  ~HttpClient();
  HttpClient(const HttpClient&) = delete;
  HttpClient& operator=(const HttpClient&) = delete;

  /// Connects; returns false on failure.
  bool Connect();
  bool connected() const { return fd_ >= 0; }
  /// Sends every byte; false when the peer closed or failed.
  bool Send(std::string_view bytes);
  /// Reads one response (Content-Length or chunked body, or to EOF for Connection: close
  /// without a length). nullopt on timeout, EOF before a full response, or garbage.
  /// `head`: the answer to a HEAD request, which has no body whatever its Content-Length.
  std::optional<HttpResponse> ReadResponse(
      std::chrono::milliseconds timeout = std::chrono::seconds(10), bool head = false);
  /// Sends a request and reads its response.
  std::optional<HttpResponse> Request(
      std::string_view method, std::string_view target, std::string_view body = {},
      std::vector<std::pair<std::string, std::string>> headers = {});
  /// True when the server has closed the connection (EOF or reset) within the timeout.
  bool WaitClosed(std::chrono::milliseconds timeout = std::chrono::seconds(10));
  void Close();
  /// Bytes received but not yet consumed by ReadResponse.
  const std::string& pending() const { return buffer_; }

 private:
  bool Fill(std::chrono::steady_clock::time_point deadline);
  std::uint16_t port_;
  std::string host_;
  int fd_ = -1;
  std::string buffer_;
  bool eof_ = false;
};

/// One-shot GET on a fresh connection.
std::optional<HttpResponse> Get(std::uint16_t port, std::string_view target);

/// One request on a connection of its own.
std::optional<HttpResponse> Call(std::uint16_t port, std::string_view method,
                                 std::string_view target, std::string_view body = {},
                                 std::vector<std::pair<std::string, std::string>> headers = {});

}  // namespace myriad::testing

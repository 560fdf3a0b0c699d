#include "support/http_client.hpp"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <charconv>
#include <cstring>

namespace myriad::testing {
namespace {

std::string Lower(std::string_view s) {
  std::string out(s);
  for (char& c : out) {
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c + 32);
  }
  return out;
}

}  // namespace

std::optional<std::string> HttpResponse::Header(std::string_view name) const {
  const std::string wanted = Lower(name);
  for (const auto& [n, v] : headers) {
    if (Lower(n) == wanted) return v;
  }
  return std::nullopt;
}

HttpClient::HttpClient(std::uint16_t port, std::string host)
    : port_(port), host_(std::move(host)) {}

HttpClient::~HttpClient() { Close(); }

bool HttpClient::Connect() {
  Close();
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(port_);
  if (inet_pton(AF_INET, host_.c_str(), &addr.sin_addr) != 1) return false;
  fd_ = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd_ < 0) return false;
  int one = 1;
  setsockopt(fd_, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
  if (::connect(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) != 0) {
    Close();
    return false;
  }
  eof_ = false;
  buffer_.clear();
  return true;
}

void HttpClient::Close() {
  if (fd_ >= 0) ::close(fd_);
  fd_ = -1;
}

bool HttpClient::Send(std::string_view bytes) {
  while (!bytes.empty()) {
    ssize_t n = ::send(fd_, bytes.data(), bytes.size(), MSG_NOSIGNAL);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return false;
    bytes.remove_prefix(static_cast<std::size_t>(n));
  }
  return true;
}

bool HttpClient::Fill(std::chrono::steady_clock::time_point deadline) {
  if (fd_ < 0 || eof_) return false;
  auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
      deadline - std::chrono::steady_clock::now());
  if (left.count() <= 0) return false;
  pollfd p{fd_, POLLIN, 0};
  int ready = ::poll(&p, 1, static_cast<int>(left.count()));
  if (ready <= 0) return false;
  char chunk[16384];
  ssize_t n = ::recv(fd_, chunk, sizeof(chunk), 0);
  if (n <= 0) {
    eof_ = true;
    return false;
  }
  buffer_.append(chunk, static_cast<std::size_t>(n));
  return true;
}

std::optional<HttpResponse> HttpClient::ReadResponse(std::chrono::milliseconds timeout,
                                                     bool head_only) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  std::size_t head_end;
  while ((head_end = buffer_.find("\r\n\r\n")) == std::string::npos) {
    if (!Fill(deadline)) return std::nullopt;
  }
  HttpResponse response;
  std::string_view head(buffer_.data(), head_end);
  auto line_end = head.find("\r\n");
  std::string_view status_line = head.substr(0, line_end);
  if (status_line.size() < 12 || status_line.substr(0, 5) != "HTTP/") return std::nullopt;
  std::from_chars(status_line.data() + 9, status_line.data() + 12, response.status);
  std::string_view rest =
      line_end == std::string_view::npos ? std::string_view{} : head.substr(line_end + 2);
  while (!rest.empty()) {
    auto e = rest.find("\r\n");
    std::string_view line = rest.substr(0, e);
    auto colon = line.find(':');
    if (colon != std::string_view::npos) {
      std::string_view value = line.substr(colon + 1);
      while (!value.empty() && value.front() == ' ') value.remove_prefix(1);
      response.headers.emplace_back(std::string(line.substr(0, colon)), std::string(value));
    }
    if (e == std::string_view::npos) break;
    rest.remove_prefix(e + 2);
  }
  std::size_t body_start = head_end + 4;
  auto length = response.Header("Content-Length");
  auto encoding = response.Header("Transfer-Encoding");
  if (head_only || response.status == 204 || response.status == 304 || response.status / 100 == 1) {
    buffer_.erase(0, body_start);
    return response;
  }
  if (length) {
    std::size_t n = std::stoul(*length);
    while (buffer_.size() < body_start + n) {
      if (!Fill(deadline)) return std::nullopt;
    }
    response.body = buffer_.substr(body_start, n);
    buffer_.erase(0, body_start + n);
    return response;
  }
  if (encoding && Lower(*encoding) == "chunked") {
    std::size_t pos = body_start;
    while (true) {
      std::size_t eol;
      while ((eol = buffer_.find("\r\n", pos)) == std::string::npos) {
        if (!Fill(deadline)) return std::nullopt;
      }
      std::size_t size = std::stoul(buffer_.substr(pos, eol - pos), nullptr, 16);
      while (buffer_.size() < eol + 2 + size + 2) {
        if (!Fill(deadline)) return std::nullopt;
      }
      response.body.append(buffer_, eol + 2, size);
      pos = eol + 2 + size + 2;
      if (size == 0) break;
    }
    buffer_.erase(0, pos);
    return response;
  }
  while (Fill(deadline)) {
  }
  if (!eof_) return std::nullopt;
  response.body = buffer_.substr(body_start);
  buffer_.clear();
  return response;
}

std::optional<HttpResponse> HttpClient::Request(
    std::string_view method, std::string_view target, std::string_view body,
    std::vector<std::pair<std::string, std::string>> headers) {
  std::string request;
  request.append(method).append(" ").append(target).append(" HTTP/1.1\r\nHost: test\r\n");
  for (const auto& [n, v] : headers) request.append(n).append(": ").append(v).append("\r\n");
  if (!body.empty() || method == "POST" || method == "PUT" || method == "PATCH") {
    request.append("Content-Length: ").append(std::to_string(body.size())).append("\r\n");
  }
  request.append("\r\n").append(body);
  if (!Send(request)) return std::nullopt;
  return ReadResponse();
}

bool HttpClient::WaitClosed(std::chrono::milliseconds timeout) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  while (!eof_) {
    if (!Fill(deadline) && !eof_) return false;
  }
  return true;
}

std::optional<HttpResponse> Get(std::uint16_t port, std::string_view target) {
  return Call(port, "GET", target);
}

std::optional<HttpResponse> Call(std::uint16_t port, std::string_view method,
                                 std::string_view target, std::string_view body,
                                 std::vector<std::pair<std::string, std::string>> headers) {
  HttpClient client(port);
  if (!client.Connect()) return std::nullopt;
  return client.Request(method, target, body, std::move(headers));
}

}  // namespace myriad::testing

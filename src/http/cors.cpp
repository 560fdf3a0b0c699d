#include "http/cors.hpp"

#include <algorithm>
#include <cctype>
#include <charconv>
#include <stdexcept>

#include "http/problem.hpp"
#include "http/request.hpp"
#include "net/trusted_proxies.hpp"

namespace myriad::http {
namespace {

constexpr std::size_t kMaxHostLength = 253;
constexpr std::size_t kMaxLabelLength = 63;

std::string Quoted(std::string_view text) { return "'" + std::string(text) + "'"; }

std::string ToLower(std::string_view text) {
  std::string lower(text);
  std::transform(lower.begin(), lower.end(), lower.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return lower;
}

bool EqualsIgnoreCase(std::string_view a, std::string_view b) {
  return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) {
           return std::tolower(static_cast<unsigned char>(x)) ==
                  std::tolower(static_cast<unsigned char>(y));
         });
}

std::string_view Trim(std::string_view text) {
  const auto first = text.find_first_not_of(" \t");
  if (first == std::string_view::npos) return {};
  const auto last = text.find_last_not_of(" \t");
  return text.substr(first, last - first + 1);
}

[[noreturn]] void Invalid(std::string_view text, std::string_view reason) {
  throw std::invalid_argument("invalid origin " + Quoted(text) + ": " + std::string(reason));
}

bool IsAllDigits(std::string_view text) {
  return !text.empty() && std::all_of(text.begin(), text.end(),
                                      [](unsigned char c) { return std::isdigit(c) != 0; });
}

// `host` is lower case. A registered name is what browsers put in an Origin: ASCII labels
// (internationalised names arrive in their punycode form); a name whose last label is
// numeric is an IPv4 address to a browser, so it must be a valid one.
void CheckHostName(std::string_view text, std::string_view host) {
  if (host.empty()) Invalid(text, "the host is missing");
  if (host.find('*') != std::string_view::npos) {
    Invalid(text, "wildcards are not supported; list each allowed origin explicitly");
  }
  if (host.size() > kMaxHostLength) Invalid(text, "the host name is too long");
  std::string_view rest = host;
  std::string_view last_label;
  while (true) {
    const auto dot = rest.find('.');
    const std::string_view label = rest.substr(0, dot);
    if (label.empty() || label.size() > kMaxLabelLength || label.front() == '-' ||
        label.back() == '-' || !std::all_of(label.begin(), label.end(), [](unsigned char c) {
          return std::isalnum(c) != 0 || c == '-';
        })) {
      Invalid(text,
              "the host must be a DNS name (letters, digits, '-' and '.'; write an "
              "internationalised name in its xn-- form) or an IP address");
    }
    last_label = label;
    if (dot == std::string_view::npos) break;
    rest.remove_prefix(dot + 1);
  }
  net::Ipv6Bytes address{};
  if (IsAllDigits(last_label) && !net::ParseAddress(host, address)) {
    Invalid(text, "the host is not a valid IPv4 address");
  }
}

// `literal` is "[...]", lower case; returns it in the RFC 5952 form browsers serialise.
std::string CanonicalIpv6(std::string_view text, std::string_view literal) {
  const std::string_view inner = literal.substr(1, literal.size() - 2);
  net::Ipv6Bytes address{};
  if (inner.find(':') == std::string_view::npos || inner.find('%') != std::string_view::npos ||
      !net::ParseAddress(inner, address)) {
    Invalid(text, "the host in brackets must be an IPv6 address");
  }
  std::string formatted = net::FormatAddress(address);
  // FormatAddress prints IPv4-mapped addresses as dotted IPv4; keep those as written.
  if (formatted.find(':') == std::string::npos) formatted = std::string(inner);
  return "[" + formatted + "]";
}

unsigned ParseOriginPort(std::string_view text, std::string_view port) {
  unsigned number = 0;
  const auto [end, error] = std::from_chars(port.data(), port.data() + port.size(), number);
  if (!IsAllDigits(port) || port.size() > 5 || error != std::errc{} ||
      end != port.data() + port.size() || number == 0 || number > 65535) {
    Invalid(text, "the port must be a number from 1 to 65535");
  }
  return number;
}

}  // namespace

std::string ParseCorsOrigin(std::string_view text) {
  if (text == "*") {
    throw std::invalid_argument(
        "'*' is not allowed: explicit origins are required, e.g. "
        "https://app.example.com,http://localhost:3000 (a wildcard would let every web site "
        "read the API's answers)");
  }
  const std::string lower = ToLower(text);
  if (lower == "null") {
    throw std::invalid_argument(
        "'null' is not allowed: explicit origins are required, e.g. https://app.example.com "
        "('null' is the origin of sandboxed frames and local files, which any site can "
        "produce)");
  }
  std::string_view rest = lower;
  std::string scheme;
  unsigned default_port = 0;
  if (rest.substr(0, 8) == "https://") {
    scheme = "https";
    default_port = 443;
    rest.remove_prefix(8);
  } else if (rest.substr(0, 7) == "http://") {
    scheme = "http";
    default_port = 80;
    rest.remove_prefix(7);
  } else {
    Invalid(text, "expected http://host[:port] or https://host[:port]");
  }

  const auto tail = rest.find_first_of("/?#");
  if (tail != std::string_view::npos) {
    if (rest[tail] == '/' && tail + 1 == rest.size()) {
      Invalid(text,
              "an origin has no trailing '/'; write " + Quoted(text.substr(0, text.size() - 1)));
    }
    Invalid(text, "an origin is only scheme://host[:port], without path, query or fragment");
  }
  if (rest.find('@') != std::string_view::npos) {
    Invalid(text, "an origin has no user name or password");
  }

  std::string host;
  std::string_view port;
  if (!rest.empty() && rest.front() == '[') {
    const auto close = rest.find(']');
    if (close == std::string_view::npos) Invalid(text, "the IPv6 host has no closing ']'");
    host = CanonicalIpv6(text, rest.substr(0, close + 1));
    rest.remove_prefix(close + 1);
    if (!rest.empty()) {
      if (rest.front() != ':') Invalid(text, "expected ':port' after the IPv6 host");
      port = rest.substr(1);
      if (port.empty()) Invalid(text, "the port must be a number from 1 to 65535");
    }
  } else {
    const auto colon = rest.find(':');
    host = std::string(rest.substr(0, colon));
    CheckHostName(text, host);
    if (colon != std::string_view::npos) {
      port = rest.substr(colon + 1);
      if (port.find(':') != std::string_view::npos) {
        Invalid(text, "write an IPv6 host in brackets, e.g. http://[::1]:8080");
      }
      if (port.empty()) Invalid(text, "the port must be a number from 1 to 65535");
    }
  }

  std::string origin = scheme + "://" + host;
  if (!port.empty()) {
    // Browsers leave the scheme's default port out of the Origin header.
    const unsigned number = ParseOriginPort(text, port);
    if (number != default_port) origin += ":" + std::to_string(number);
  }
  return origin;
}

std::vector<std::string> ParseCorsOrigins(std::string_view text) {
  std::vector<std::string> origins;
  if (Trim(text) == "none") return origins;
  while (true) {
    const auto comma = text.find(',');
    const std::string_view entry = Trim(text.substr(0, comma));
    if (entry.empty()) {
      throw std::invalid_argument(
          "empty entry in the origin list; expected comma-separated origins such as "
          "https://app.example.com,http://localhost:3000, or none");
    }
    std::string origin = ParseCorsOrigin(entry);
    if (std::find(origins.begin(), origins.end(), origin) == origins.end()) {
      origins.push_back(std::move(origin));
    }
    if (comma == std::string_view::npos) break;
    text.remove_prefix(comma + 1);
  }
  return origins;
}

std::string FormatCorsOrigins(const std::vector<std::string>& origins) {
  if (origins.empty()) return "none";
  std::string text;
  for (const auto& origin : origins) {
    if (!text.empty()) text += ',';
    text += origin;
  }
  return text;
}

CorsPolicy::CorsPolicy(const std::vector<std::string>& origins) {
  for (const auto& entry : origins) {
    std::string origin = ParseCorsOrigin(entry);
    if (std::find(origins_.begin(), origins_.end(), origin) == origins_.end()) {
      origins_.push_back(std::move(origin));
    }
  }
}

bool CorsPolicy::Allows(std::string_view origin) const {
  return std::find(origins_.begin(), origins_.end(), origin) != origins_.end();
}

bool CorsPolicy::IsPreflight(const Request& request) const {
  return enabled() && request.method() == Method::kOptions && request.HasHeader("Origin") &&
         request.HasHeader("Access-Control-Request-Method");
}

Response CorsPolicy::Preflight(const Request& request, std::string_view allow_methods) const {
  const std::string_view origin = request.Header("Origin");
  if (!Allows(origin)) {
    return ProblemResponse(
        {ErrorCode::kForbidden, "This origin may not make cross-origin requests to this API."},
        request.request_id());
  }
  Response response;
  response.status = 204;
  response.Header("Access-Control-Allow-Origin", std::string(origin));
  response.Header("Access-Control-Allow-Methods", std::string(allow_methods));
  response.Header("Access-Control-Allow-Headers", std::string(kAllowHeaders));
  response.Header("Access-Control-Max-Age", std::string(kMaxAgeSeconds));
  return response;
}

void CorsPolicy::Decorate(const Request* request, Response& response) const {
  if (!enabled()) return;
  // Whether the CORS headers are present depends on Origin, so shared caches must key on it
  // even for requests without one.
  auto vary =
      std::find_if(response.headers.begin(), response.headers.end(),
                   [](const auto& header) { return EqualsIgnoreCase(header.first, "Vary"); });
  if (vary == response.headers.end()) {
    response.Header("Vary", "Origin");
  } else if (vary->second != "*") {
    bool has_origin = false;
    std::string_view rest = vary->second;
    while (!rest.empty() && !has_origin) {
      const auto comma = rest.find(',');
      has_origin = EqualsIgnoreCase(Trim(rest.substr(0, comma)), "Origin");
      rest = comma == std::string_view::npos ? std::string_view{} : rest.substr(comma + 1);
    }
    if (!has_origin) vary->second += Trim(vary->second).empty() ? "Origin" : ", Origin";
  }

  if (request == nullptr || IsPreflight(*request)) return;
  const std::string_view origin = request->Header("Origin");
  if (origin.empty() || !Allows(origin)) return;
  response.Header("Access-Control-Allow-Origin", std::string(origin));
  response.Header("Access-Control-Expose-Headers", std::string(kExposeHeaders));
}

}  // namespace myriad::http

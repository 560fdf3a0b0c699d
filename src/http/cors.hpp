#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "http/response.hpp"

namespace myriad::http {

class Request;

/// Parses one allowed origin, `scheme://host[:port]` with scheme http or https, into the
/// form browsers send in the Origin header: lower case, IPv6 hosts in brackets, the
/// scheme's default port (80, 443) left out. Throws std::invalid_argument quoting the text
/// on anything else: a wildcard `*` or `null` (explicit origins are required), another
/// scheme, a path, query, fragment, trailing slash or user info, a bad host or port.
std::string ParseCorsOrigin(std::string_view text);

/// Parses a comma-separated list of origins (spaces around entries allowed) with
/// ParseCorsOrigin; duplicates are dropped, order is kept. "none" gives an empty list.
/// Throws std::invalid_argument naming the bad entry, or on an empty entry.
std::vector<std::string> ParseCorsOrigins(std::string_view text);

/// "https://a.example,http://localhost:3000", or "none" for an empty list.
std::string FormatCorsOrigins(const std::vector<std::string>& origins);

/// The server's CORS allow-list and the headers it answers with. Without origins it is
/// disabled and changes nothing. Immutable after construction: any io thread may use it.
class CorsPolicy {
 public:
  static constexpr std::string_view kExposeHeaders =
      "ETag, Location, Retry-After, WWW-Authenticate, X-Request-Id";
  static constexpr std::string_view kAllowHeaders =
      "Authorization, Content-Type, If-Match, If-None-Match, X-Request-Id";
  static constexpr std::string_view kMaxAgeSeconds = "600";

  CorsPolicy() = default;
  /// Each origin goes through ParseCorsOrigin, so this throws std::invalid_argument on a
  /// bad one: a start-up error.
  explicit CorsPolicy(const std::vector<std::string>& origins);

  bool enabled() const { return !origins_.empty(); }
  const std::vector<std::string>& origins() const { return origins_; }
  /// Exact match of an Origin header value against the allow-list.
  bool Allows(std::string_view origin) const;

  /// True for a CORS preflight while the policy is enabled: OPTIONS carrying both Origin
  /// and Access-Control-Request-Method. The server answers it itself with Preflight(),
  /// ahead of limits and handlers.
  bool IsPreflight(const Request& request) const;

  /// The answer to a preflight for a path the router serves with `allow_methods` (an Allow
  /// header value): 204 with Access-Control-Allow-Origin, -Allow-Methods, -Allow-Headers
  /// and -Max-Age when the origin is allowed; otherwise a 403 problem without any
  /// Access-Control-* header. Vary is left to Decorate().
  Response Preflight(const Request& request, std::string_view allow_methods) const;

  /// Adds what every response of an enabled policy carries: Vary: Origin (merged into an
  /// existing Vary) and, for an allowed Origin on a request that is not a preflight,
  /// Access-Control-Allow-Origin and Access-Control-Expose-Headers. `request` is null for
  /// an answer to an unparsable request. No-op when disabled.
  void Decorate(const Request* request, Response& response) const;

 private:
  std::vector<std::string> origins_;
};

}  // namespace myriad::http

#pragma once

#include <cstdint>
#include <string>
#include <string_view>

namespace myriad::redis {

/// Where a Redis server is and how to log in: what `--redis-url` names.
struct RedisEndpoint {
  std::string host = "127.0.0.1";
  std::uint16_t port = 6379;
  /// ACL user name (Redis 6+); empty means the default user.
  std::string username;
  /// Empty means no AUTH.
  std::string password;
  /// The logical database SELECTed after connecting.
  unsigned database = 0;
};

/// Parses `redis://[[user]:password@]host[:port][/db]`. The host is a name, an IPv4 address
/// or a bracketed IPv6 address; user and password may be percent-encoded. Throws
/// std::invalid_argument with the reason (no TLS: `rediss://` is refused rather than
/// silently sent in the clear; a query string is refused rather than ignored).
RedisEndpoint ParseRedisUrl(std::string_view text);

/// The URL again with the password masked ("redis://:***@127.0.0.1:6379/0"), for logs.
std::string Describe(const RedisEndpoint& endpoint);

}  // namespace myriad::redis

#pragma once

#include <chrono>
#include <cstddef>
#include <map>
#include <string>

#include "ratelimit/token_bucket.hpp"
#include "redis/redis_url.hpp"

namespace CLI {
class App;
}

namespace myriad::config {

/// How `myriad serve` reaches Redis. Each field is a flag and a MYRIAD_* variable of the
/// same name, as in settings.hpp.
struct RedisSettings {
  /// Empty: no Redis (an in-process cache and local rate limits only).
  std::string url;
  redis::RedisEndpoint endpoint;  // parsed from url
  /// Connections per process, split across the io threads (at least one each).
  std::size_t max_connections = 2;
  /// Longest wait for one reply; past it Redis counts as down for that connection.
  std::chrono::milliseconds timeout{250};
  std::chrono::milliseconds connect_timeout{1'000};
  /// Put before every key Myriad writes, so deployments can share one Redis.
  std::string key_prefix = "myriad:";
};

/// The user cache (users/user_cache.hpp).
struct CacheSettings {
  bool enabled = true;
  std::chrono::milliseconds ttl{300'000};
  std::chrono::milliseconds negative_ttl{5'000};
  std::size_t local_entries = 100'000;
  /// While other instances' invalidations arrive (Redis pub/sub), and while they may not.
  std::chrono::milliseconds local_ttl{60'000};
  std::chrono::milliseconds local_ttl_degraded{5'000};
};

/// Per-client rate limits (ratelimit/rate_limiter.hpp).
struct RateLimitSettings {
  bool enabled = true;
  ratelimit::Limit default_limit;  // 100 req/s, burst 50: the seed stack's nginx numbers
  std::map<std::string, ratelimit::Limit> groups;
};

/// --redis-url, --redis-max-connections, --redis-timeout, --redis-connect-timeout,
/// --redis-key-prefix.
void AddRedisOptions(CLI::App& app, RedisSettings& settings);
/// --cache, --cache-ttl, --cache-negative-ttl, --cache-local-entries, --cache-local-ttl,
/// --cache-local-ttl-degraded.
void AddCacheOptions(CLI::App& app, CacheSettings& settings);
/// --rate-limit, --rate-limit-rate, --rate-limit-burst, --rate-limit-groups.
void AddRateLimitOptions(CLI::App& app, RateLimitSettings& settings);

/// "users-read=200:100,users-write=20:10" (group=rate:burst, rate in requests per second).
/// Throws std::invalid_argument naming the bad entry.
std::map<std::string, ratelimit::Limit> ParseRateLimitGroups(const std::string& text);
std::string FormatRateLimitGroups(const std::map<std::string, ratelimit::Limit>& groups);

}  // namespace myriad::config

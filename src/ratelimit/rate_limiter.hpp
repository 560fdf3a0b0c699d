#pragma once

#include <cstddef>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "http/handler.hpp"
#include "net/trusted_proxies.hpp"
#include "ratelimit/token_bucket.hpp"

namespace prometheus {
class Collectable;
}
namespace myriad::redis {
class RedisClient;
struct Script;
}  // namespace myriad::redis

namespace myriad::ratelimit {

struct RateLimitOptions {
  /// Off: Wrap() returns handlers unchanged (capacity benchmarks from one address).
  bool enabled = true;
  /// Every route group's limit unless `groups` names it.
  Limit default_limit;
  std::map<std::string, Limit> groups;
  /// Whose X-Forwarded-For names the client (net::ClientAddress).
  net::TrustedProxies trusted_proxies;
  /// Put before every Redis key (as the cache's), so deployments can share one Redis.
  std::string key_prefix = "myriad:";
  /// In-process buckets kept for the fallback.
  std::size_t local_buckets = 100'000;
};

/// Per-client token buckets in front of route groups, as a middleware: Wrap() a route's
/// handler with its group's name. The client is its address (net::ClientAddress, so a
/// trusted proxy's X-Forwarded-For counts and anybody else's is ignored), or what the
/// route's ClientKey names (authenticated callers by user id, accounts/access.hpp).
///
/// With Redis, one Lua script (loaded once per connection, run by EVALSHA) takes the
/// token atomically, with Redis' clock, so the limit holds across every replica sharing
/// that Redis. When Redis is unavailable or fails, an in-process bucket decides instead.
///
/// Allowed answers carry RateLimit-Limit / -Remaining / -Reset; denied ones are 429
/// problem+json with Retry-After as well. Metrics:
///   myriad_rate_limit_decisions_total{group,outcome="allowed"|"limited",store="redis"|"local"}
class RateLimiter {
 public:
  RateLimiter(RateLimitOptions options, std::size_t workers, std::size_t metric_shards);
  ~RateLimiter();
  RateLimiter(const RateLimiter&) = delete;
  RateLimiter& operator=(const RateLimiter&) = delete;

  /// The token-bucket script, for RedisClient's ClientOptions::scripts.
  static const redis::Script& BucketScript();

  /// Sets io thread `worker`'s Redis client (null: none). Before requests arrive.
  void SetRedis(std::size_t worker, redis::RedisClient* client);

  /// Names the bucket a request is counted in; an empty string means the client's
  /// address. Runs on the io thread before anything else of the request: keep it cheap.
  using ClientKey = std::function<std::string(const http::Request&)>;

  /// `handler` behind group `group`'s limit, counted per client address, or per what
  /// `key` names (access control keys requests that carry a known token by user). Call at
  /// start-up, before metrics are collected (each group gets its series here). The
  /// limiter must outlive the routes.
  http::AsyncHandler Wrap(const std::string& group, http::AsyncHandler handler, ClientKey key = {});

  /// The limit a group gets.
  Limit LimitFor(const std::string& group) const;
  bool enabled() const;
  /// For metrics::Registry::Add.
  std::shared_ptr<prometheus::Collectable> Collectable() const;

  struct Impl;  // defined in rate_limiter.cpp

 private:
  std::shared_ptr<Impl> impl_;
};

}  // namespace myriad::ratelimit

#pragma once

#include <string>
#include <vector>

#include "redis/redis_url.hpp"
#include "redis/reply.hpp"

namespace myriad::testing {

/// The URL (redis://HOST:PORT/DB) of the Redis server for *_redistest tests:
/// MYRIAD_REDIS_URL when set (your own server), else the server that the CTest fixture
/// `redis_start` started, read from $MYRIAD_REDISTEST_DIR/url (scripts/redis.sh writes it).
/// Throws std::runtime_error with a hint when neither is there, e.g. when the test binary
/// runs outside CTest.
std::string TestRedisUrl();
/// TestRedisUrl() parsed.
inline redis::RedisEndpoint TestRedisEndpoint() { return redis::ParseRedisUrl(TestRedisUrl()); }

/// Runs one command on a fresh connection to `url` (our own client, on a loop of its own;
/// the client itself is tested in tests/integration/redis). Throws std::runtime_error when
/// there is no reply within 10 s.
redis::Reply RedisCall(const std::string& url, const std::vector<std::string>& args);

/// A Redis server of the test's own (scripts/redis.sh in a fresh temporary folder, same port
/// across restarts), for tests that stop and restart it. Destroyed with the object.
class PrivateRedis {
 public:
  PrivateRedis();
  ~PrivateRedis();
  PrivateRedis(const PrivateRedis&) = delete;
  PrivateRedis& operator=(const PrivateRedis&) = delete;

  /// Empty when it did not start.
  const std::string& url() const { return url_; }
  /// scripts/redis.sh stop / start; true on success.
  bool Stop();
  bool Start();

 private:
  bool Run(const std::string& command);
  std::string dir_;
  std::string url_;
};

}  // namespace myriad::testing

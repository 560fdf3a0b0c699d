#pragma once

#include <array>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <deque>
#include <mutex>
#include <string>
#include <string_view>
#include <unordered_map>

namespace myriad::ratelimit {

/// A route group's limit: `rate` tokens per second refill a bucket of `burst` tokens; a
/// request takes one. (nginx's `limit_req rate=100r/s burst=50 nodelay` behaves alike.)
struct Limit {
  double rate = 100;
  std::size_t burst = 50;
};

/// What a bucket said about one request, in the units the headers use.
struct Decision {
  bool allowed = true;
  std::size_t limit = 0;      // RateLimit-Limit: the bucket's size
  std::size_t remaining = 0;  // RateLimit-Remaining: whole tokens left
  double reset_seconds = 0;   // RateLimit-Reset: until the bucket is full again
  double retry_seconds = 0;   // Retry-After (denied only): until one token is back
  bool local = false;         // decided by the in-process bucket (Redis unavailable)
};

/// The token-bucket arithmetic, shared by the local buckets and (in Lua) the Redis script:
/// `tokens` and `at` (microseconds) are the bucket's state, updated in place.
Decision Take(const Limit& limit, double& tokens, std::int64_t& at, std::int64_t now_us);

/// In-process buckets, used when Redis is unavailable: per process rather than shared by
/// every replica, so a client can get up to one bucket per replica while Redis is down.
/// Thread-safe (sharded mutexes); bounded (oldest buckets dropped first; a dropped bucket
/// comes back full, which only ever errs on the side of the client).
class LocalBuckets {
 public:
  explicit LocalBuckets(std::size_t capacity);
  Decision Take(std::string_view key, const Limit& limit);

 private:
  static constexpr std::size_t kShards = 32;
  struct Bucket {
    double tokens = 0;
    std::int64_t at = 0;
  };
  struct Shard {
    std::mutex mutex;
    std::unordered_map<std::string, Bucket> buckets;
    std::deque<std::string> order;
  };
  std::size_t per_shard_;
  std::array<Shard, kShards> shards_;
};

}  // namespace myriad::ratelimit

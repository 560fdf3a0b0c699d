#include "ratelimit/token_bucket.hpp"

#include <algorithm>
#include <cmath>
#include <functional>

namespace myriad::ratelimit {

Decision Take(const Limit& limit, double& tokens, std::int64_t& at, std::int64_t now_us) {
  const auto burst = static_cast<double>(limit.burst);
  if (now_us > at) {
    tokens = std::min(burst, tokens + static_cast<double>(now_us - at) * limit.rate / 1e6);
    at = now_us;
  }
  Decision d;
  d.limit = limit.burst;
  d.allowed = tokens >= 1;
  if (d.allowed) tokens -= 1;
  d.remaining = static_cast<std::size_t>(std::floor(tokens));
  d.reset_seconds = (burst - tokens) / limit.rate;
  d.retry_seconds = d.allowed ? 0 : (1 - tokens) / limit.rate;
  return d;
}

LocalBuckets::LocalBuckets(std::size_t capacity)
    : per_shard_(std::max<std::size_t>(1, capacity / kShards)) {}

Decision LocalBuckets::Take(std::string_view key, const Limit& limit) {
  const auto now = std::chrono::duration_cast<std::chrono::microseconds>(
                       std::chrono::steady_clock::now().time_since_epoch())
                       .count();
  Shard& s = shards_[std::hash<std::string_view>{}(key) % kShards];
  std::lock_guard lock(s.mutex);
  auto it = s.buckets.find(std::string(key));
  if (it == s.buckets.end()) {
    while (s.buckets.size() >= per_shard_ && !s.order.empty()) {
      s.buckets.erase(s.order.front());
      s.order.pop_front();
    }
    it = s.buckets.emplace(std::string(key), Bucket{static_cast<double>(limit.burst), now}).first;
    s.order.emplace_back(key);
  }
  Decision d = ratelimit::Take(limit, it->second.tokens, it->second.at, now);
  d.local = true;
  return d;
}

}  // namespace myriad::ratelimit

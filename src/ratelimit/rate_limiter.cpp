#include "ratelimit/rate_limiter.hpp"

#include <prometheus/client_metric.h>
#include <prometheus/collectable.h>
#include <prometheus/metric_family.h>
#include <prometheus/metric_type.h>

#include <boost/asio/awaitable.hpp>
#include <cmath>
#include <stdexcept>
#include <utility>

#include "http/problem.hpp"
#include "metrics/sharded_cells.hpp"
#include "redis/redis_client.hpp"

namespace myriad::ratelimit {
namespace asio = boost::asio;
using http::Request;
using http::Response;

namespace {

// KEYS[1]: the bucket. ARGV: rate (tokens/s), burst. Returns {allowed, whole tokens left,
// microseconds until full, microseconds until one token}. The same arithmetic as Take()
// in token_bucket.cpp, on Redis' clock so that every replica agrees.
const redis::Script kBucket{R"lua(
local rate = tonumber(ARGV[1])
local burst = tonumber(ARGV[2])
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000000 + tonumber(t[2])
local state = redis.call('HMGET', KEYS[1], 'tokens', 'at')
local tokens = tonumber(state[1])
local at = tonumber(state[2])
if tokens == nil or at == nil then
  tokens = burst
  at = now
end
if now > at then
  tokens = math.min(burst, tokens + (now - at) * rate / 1000000)
  at = now
end
local allowed = 0
if tokens >= 1 then
  tokens = tokens - 1
  allowed = 1
end
redis.call('HSET', KEYS[1], 'tokens', string.format('%.17g', tokens), 'at', string.format('%.17g', at))
local full_us = math.ceil((burst - tokens) * 1000000 / rate)
redis.call('PEXPIRE', KEYS[1], math.floor(full_us / 1000) + 1000)
local wait_us = 0
if allowed == 0 then
  wait_us = math.ceil((1 - tokens) * 1000000 / rate)
end
return {allowed, math.floor(tokens), full_us, wait_us}
)lua"};

constexpr std::size_t kMaxGroups = 64;
// Cells per group: allowed/limited x redis/local.
constexpr std::size_t kCellsPerGroup = 4;

std::string Seconds(double seconds) {
  return std::to_string(static_cast<long long>(std::ceil(std::max(0.0, seconds))));
}

void AddHeaders(Response& response, const Decision& d) {
  response.Header("RateLimit-Limit", std::to_string(d.limit));
  response.Header("RateLimit-Remaining", std::to_string(d.remaining));
  response.Header("RateLimit-Reset", Seconds(d.reset_seconds));
}

std::optional<Decision> FromReply(const redis::Reply& reply, const Limit& limit) {
  using Type = redis::Reply::Type;
  if (reply.type != Type::kArray || reply.elements.size() != 4) return std::nullopt;
  for (const auto& e : reply.elements) {
    if (e.type != Type::kInteger) return std::nullopt;
  }
  Decision d;
  d.limit = limit.burst;
  d.allowed = reply.elements[0].integer == 1;
  d.remaining = static_cast<std::size_t>(std::max<long long>(0, reply.elements[1].integer));
  d.reset_seconds = static_cast<double>(reply.elements[2].integer) / 1e6;
  d.retry_seconds = static_cast<double>(reply.elements[3].integer) / 1e6;
  return d;
}

}  // namespace

struct RateLimiter::Impl {
  class Collector;
  struct Group {
    std::size_t index = 0;
    std::string name;
    std::string key_prefix;  // "<prefix>rl:<group>:"
    Limit limit;
    std::vector<std::string> script_args;  // rate, burst: rendered once, not per request
    http::AsyncHandler inner;
    ClientKey key;  // may be empty: the client's address
  };

  Impl(RateLimitOptions o, std::size_t workers, std::size_t shards)
      : options(std::move(o)),
        clients(workers, nullptr),
        local(options.local_buckets),
        cells(std::make_shared<metrics::ShardedCells>(shards, kMaxGroups * kCellsPerGroup)) {}

  static asio::awaitable<Response> Handle(Impl& self, const Group& group, const Request& request);
  asio::awaitable<Decision> Decide(const Group& group, const Request& request);
  void Count(std::size_t shard, const Group& group, const Decision& d) {
    const std::size_t cell = group.index * kCellsPerGroup + (d.allowed ? 0 : 2) + (d.local ? 1 : 0);
    cells->Add(shard, cell, 1);
  }

  RateLimitOptions options;
  std::vector<redis::RedisClient*> clients;
  LocalBuckets local;
  std::shared_ptr<metrics::ShardedCells> cells;
  // Fixed once serving starts. A group's routes share its index (and counters).
  std::vector<std::string> names;
  std::vector<std::unique_ptr<Group>> routes;
};

class RateLimiter::Impl::Collector final : public prometheus::Collectable {
 public:
  explicit Collector(std::shared_ptr<const Impl> impl) : impl_(std::move(impl)) {}
  std::vector<prometheus::MetricFamily> Collect() const override {
    prometheus::MetricFamily f;
    f.name = "myriad_rate_limit_decisions_total";
    f.help = "Rate-limit decisions by route group, outcome and the store that decided.";
    f.type = prometheus::MetricType::Counter;
    for (std::size_t g = 0; g < impl_->names.size(); ++g) {
      for (std::size_t c = 0; c < kCellsPerGroup; ++c) {
        prometheus::ClientMetric m;
        m.label = {{"group", impl_->names[g]},
                   {"outcome", c < 2 ? "allowed" : "limited"},
                   {"store", c % 2 == 0 ? "redis" : "local"}};
        m.counter.value = static_cast<double>(impl_->cells->Sum(g * kCellsPerGroup + c));
        f.metric.push_back(std::move(m));
      }
    }
    return {std::move(f)};
  }

 private:
  std::shared_ptr<const Impl> impl_;
};

asio::awaitable<Decision> RateLimiter::Impl::Decide(const Group& group, const Request& request) {
  std::string client = group.key ? group.key(request) : std::string();
  if (client.empty()) {
    client = "ip:" + net::ClientAddress(request.peer(), request.Header("X-Forwarded-For"),
                                        options.trusted_proxies);
  }
  std::string key = group.key_prefix + client;
  redis::RedisClient* redis = clients[request.worker()];
  if (redis != nullptr && redis->up()) {
    std::vector<std::string> keys{key};
    std::vector<std::string> args = group.script_args;
    auto reply =
        co_await redis->Eval(kBucket, std::move(keys), std::move(args), request.deadline());
    if (reply) {
      if (auto decision = FromReply(*reply, group.limit)) co_return *decision;
    }
  }
  co_return local.Take(key, group.limit);
}

asio::awaitable<Response> RateLimiter::Impl::Handle(Impl& self, const Group& group,
                                                    const Request& request) {
  const Decision decision = co_await self.Decide(group, request);
  self.Count(request.worker(), group, decision);
  if (!decision.allowed) {
    Response response = http::ProblemResponse(
        {http::ErrorCode::kTooManyRequests, "Rate limit exceeded for " + group.name +
                                                " requests; retry after the time in Retry-After."},
        request.request_id());
    AddHeaders(response, decision);
    response.Header("Retry-After", Seconds(std::max(1.0, decision.retry_seconds)));
    co_return response;
  }
  Response response = co_await group.inner(request);
  AddHeaders(response, decision);
  co_return response;
}

RateLimiter::RateLimiter(RateLimitOptions options, std::size_t workers, std::size_t metric_shards)
    : impl_(std::make_shared<Impl>(std::move(options), workers, metric_shards)) {}
RateLimiter::~RateLimiter() = default;

const redis::Script& RateLimiter::BucketScript() { return kBucket; }

void RateLimiter::SetRedis(std::size_t worker, redis::RedisClient* client) {
  impl_->clients.at(worker) = client;
}

Limit RateLimiter::LimitFor(const std::string& group) const {
  const auto it = impl_->options.groups.find(group);
  return it != impl_->options.groups.end() ? it->second : impl_->options.default_limit;
}

bool RateLimiter::enabled() const { return impl_->options.enabled; }

http::AsyncHandler RateLimiter::Wrap(const std::string& group, http::AsyncHandler handler,
                                     ClientKey key) {
  if (!impl_->options.enabled) return handler;
  Impl& impl = *impl_;
  std::size_t index = 0;
  while (index < impl.names.size() && impl.names[index] != group) ++index;
  if (index == impl.names.size()) {
    if (index >= kMaxGroups) throw std::logic_error("RateLimiter: too many route groups");
    impl.names.push_back(group);
  }
  const Limit limit = LimitFor(group);
  impl.routes.push_back(std::make_unique<Impl::Group>(
      Impl::Group{index,
                  group,
                  impl.options.key_prefix + "rl:" + group + ":",
                  limit,
                  {std::to_string(limit.rate), std::to_string(limit.burst)},
                  std::move(handler),
                  std::move(key)}));
  const Impl::Group* route = impl.routes.back().get();
  return [&impl, route](const Request& request) { return Impl::Handle(impl, *route, request); };
}

std::shared_ptr<prometheus::Collectable> RateLimiter::Collectable() const {
  return std::make_shared<Impl::Collector>(impl_);
}

}  // namespace myriad::ratelimit

#include "cache/cache_metrics.hpp"

#include <array>
#include <string_view>

namespace myriad::cache {
namespace {

constexpr std::array<double, 12> kBounds = {0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005,
                                            0.01,   0.025,   0.05,   0.1,   0.25,   1};
constexpr std::array<std::string_view, CacheMetrics::kOutcomes> kOutcomeNames = {
    "hit", "negative_hit", "miss", "bypass", "error", "corrupt"};
constexpr std::array<std::string_view, CacheMetrics::kOps> kOpNames = {"get", "set", "invalidate"};

}  // namespace

CacheMetrics::CacheMetrics(const std::string& cache, std::size_t shards) : set(shards) {
  const std::string requests = "myriad_cache_requests_total";
  const std::string help = "Cache lookups by layer (local, redis) and outcome.";
  for (std::size_t o = 0; o < kOutcomes; ++o) {
    const std::string outcome(kOutcomeNames[o]);
    local[o] =
        set.Counter(requests, help, {{"cache", cache}, {"layer", "local"}, {"outcome", outcome}});
    redis[o] =
        set.Counter(requests, help, {{"cache", cache}, {"layer", "redis"}, {"outcome", outcome}});
  }
  loads = set.Counter("myriad_cache_loads_total", "Database loads after a cache miss.",
                      {{"cache", cache}});
  load_waits = set.Counter("myriad_cache_load_waits_total",
                           "Cache misses served by another request's load (single-flight).",
                           {{"cache", cache}});
  const std::string invalidations = "myriad_cache_invalidations_total";
  const std::string inv_help =
      "Cache updates after writes (write-through or invalidation); deferred ones could not "
      "reach Redis and are replayed.";
  invalidated = set.Counter(invalidations, inv_help, {{"cache", cache}, {"outcome", "ok"}});
  deferred = set.Counter(invalidations, inv_help, {{"cache", cache}, {"outcome", "deferred"}});
  const std::string received = "myriad_cache_invalidations_received_total";
  const std::string received_help =
      "Messages on the invalidation channel: applied to the in-process cache, or ignored.";
  invalidations_received =
      set.Counter(received, received_help, {{"cache", cache}, {"outcome", "applied"}});
  invalidations_ignored =
      set.Counter(received, received_help, {{"cache", cache}, {"outcome", "ignored"}});
  feed_up = set.Gauge("myriad_cache_invalidation_feed_up",
                      "1 while this process receives other instances' invalidations.",
                      {{"cache", cache}});
  for (std::size_t op = 0; op < kOps; ++op) {
    ops[op] = set.Histogram("myriad_cache_operation_duration_seconds",
                            "Redis round trips of the cache, by operation.",
                            {{"cache", cache}, {"op", std::string(kOpNames[op])}}, kBounds);
  }
  set.Seal();
}

}  // namespace myriad::cache

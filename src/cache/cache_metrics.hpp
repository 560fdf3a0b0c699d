#pragma once

#include <array>
#include <cstddef>
#include <string>

#include "metrics/series_set.hpp"

namespace myriad::cache {

/// One cache's metrics (label cache="<name>"), one shard per io thread:
///   myriad_cache_requests_total{cache,layer="local"|"redis",outcome}  counter
///       outcome: hit, negative_hit (a cached "not found"), miss, bypass (skipped: the
///       key was just written, or Redis is down), error (Redis failed), corrupt (a value
///       that does not decode, ignored and removed)
///   myriad_cache_loads_total{cache}                  counter: database loads after misses
///   myriad_cache_load_waits_total{cache}             counter: misses that waited for
///                                                    another request's load (single-flight)
///   myriad_cache_invalidations_total{cache,outcome="ok"|"deferred"}  counter: deferred
///       ones could not reach Redis and are replayed when it is back
///   myriad_cache_invalidations_received_total{cache,outcome="applied"|"ignored"}  counter:
///       messages on the invalidation channel (ignored: not an id)
///   myriad_cache_invalidation_feed_up{cache}        gauge: 1 while subscribed to it
///   myriad_cache_operation_duration_seconds{cache,op="get"|"set"|"invalidate"}
///       histogram: Redis round trips
struct CacheMetrics {
  CacheMetrics(const std::string& cache, std::size_t shards);

  enum Outcome : std::size_t { kHit, kNegativeHit, kMiss, kBypass, kError, kCorrupt, kOutcomes };
  enum Op : std::size_t { kGet, kSet, kInvalidate, kOps };

  void Local(std::size_t shard, Outcome outcome) { set.Add(shard, local[outcome]); }
  void Redis(std::size_t shard, Outcome outcome) { set.Add(shard, redis[outcome]); }
  void Time(std::size_t shard, Op op, double seconds) { set.Observe(shard, ops[op], seconds); }

  metrics::SeriesSet set;
  std::array<metrics::SeriesSet::Id, kOutcomes> local{};
  std::array<metrics::SeriesSet::Id, kOutcomes> redis{};
  metrics::SeriesSet::Id loads;
  metrics::SeriesSet::Id load_waits;
  metrics::SeriesSet::Id invalidated;
  metrics::SeriesSet::Id deferred;
  metrics::SeriesSet::Id invalidations_received;
  metrics::SeriesSet::Id invalidations_ignored;
  metrics::SeriesSet::Id feed_up;
  std::array<metrics::SeriesSet::Id, kOps> ops{};
};

}  // namespace myriad::cache

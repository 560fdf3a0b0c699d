#pragma once

#include <array>
#include <cstddef>

#include "metrics/series_set.hpp"
#include "redis/reply.hpp"

namespace myriad::redis {

/// Redis pool metrics, one shard per io thread (each thread's RedisClient writes its own):
///   myriad_redis_connections{state="up"|"down"}  gauge: connection slots by state
///   myriad_redis_in_flight                      gauge: commands sent, reply not yet in
///   myriad_redis_commands_total{outcome}        counter: ok, error_reply, unavailable,
///                                               connection, timeout, protocol
///   myriad_redis_command_duration_seconds       histogram: send to reply
///   myriad_redis_connects_total, myriad_redis_connect_failures_total
struct RedisMetrics {
  explicit RedisMetrics(std::size_t shards);

  metrics::SeriesSet set;
  metrics::SeriesSet::Id up;
  metrics::SeriesSet::Id down;
  metrics::SeriesSet::Id in_flight;
  metrics::SeriesSet::Id ok;
  metrics::SeriesSet::Id error_reply;
  std::array<metrics::SeriesSet::Id, 4> failed{};  // by RedisErrorKind
  metrics::SeriesSet::Id duration;
  metrics::SeriesSet::Id connects;
  metrics::SeriesSet::Id connect_failures;
};

}  // namespace myriad::redis

#include "redis/redis_metrics.hpp"

#include <string>

namespace myriad::redis {
namespace {

// A loopback Redis answers in 50-500 us; a loaded one in a few ms.
constexpr std::array<double, 12> kBounds = {0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005,
                                            0.01,   0.025,   0.05,   0.1,   0.25,   1};

constexpr const char* kCommands = "myriad_redis_commands_total";
constexpr const char* kCommandsHelp = "Redis commands by outcome.";

}  // namespace

RedisMetrics::RedisMetrics(std::size_t shards) : set(shards) {
  const std::string connections = "myriad_redis_connections";
  const std::string help = "Redis connection slots by state (down ones are reconnecting).";
  up = set.Gauge(connections, help, {{"state", "up"}});
  down = set.Gauge(connections, help, {{"state", "down"}});
  in_flight = set.Gauge("myriad_redis_in_flight", "Redis commands sent whose reply is not in.");
  ok = set.Counter(kCommands, kCommandsHelp, {{"outcome", "ok"}});
  error_reply = set.Counter(kCommands, kCommandsHelp, {{"outcome", "error_reply"}});
  for (std::size_t k = 0; k < failed.size(); ++k) {
    const auto kind = static_cast<RedisErrorKind>(k);
    failed[k] = set.Counter(kCommands, kCommandsHelp, {{"outcome", std::string(ToString(kind))}});
  }
  duration = set.Histogram("myriad_redis_command_duration_seconds",
                           "Redis command time from send to reply.", {}, kBounds);
  connects = set.Counter("myriad_redis_connects_total", "Redis connections opened.");
  connect_failures =
      set.Counter("myriad_redis_connect_failures_total", "Redis connection attempts that failed.");
  set.Seal();
}

}  // namespace myriad::redis

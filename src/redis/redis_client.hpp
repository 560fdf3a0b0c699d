#pragma once

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>
#include <chrono>
#include <cstddef>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "redis/redis_url.hpp"
#include "redis/reply.hpp"

namespace myriad::redis {

struct RedisMetrics;

/// A Lua script run with EVALSHA. Every fresh connection loads it (SCRIPT LOAD), so its
/// SHA is known before the first call; a server that lost it (SCRIPT FLUSH, restart)
/// gets EVAL with the source once, which loads it again.
struct Script {
  std::string source;
};

struct ClientOptions {
  RedisEndpoint endpoint;
  /// Connections this client keeps open. Pipelining lets one carry every concurrent
  /// command of an io thread.
  std::size_t connections = 1;
  /// Longest wait for a reply; past it the command fails with kTimeout and, unless this
  /// thread was behind, its connection is replaced (RedisConnection explains both).
  std::chrono::milliseconds command_timeout{250};
  std::chrono::milliseconds connect_timeout{1'000};
  /// Reconnect attempts back off exponentially between these, with jitter.
  std::chrono::milliseconds backoff_min{50};
  std::chrono::milliseconds backoff_max{2'000};
  /// Loaded on every fresh connection. The pointers must outlive the client.
  std::vector<const Script*> scripts;
  /// What on_connect asks of a fresh connection: `commands` are sent before it takes
  /// traffic; `done` (if set) runs once all of them were answered (error replies count as
  /// answers), and not at all if the connection failed first.
  struct Setup {
    std::vector<Command> commands;
    std::function<void()> done;
  };
  /// Asked on every fresh connection. The cache replays invalidations that could not reach
  /// Redis this way.
  std::function<Setup()> on_connect;
  std::shared_ptr<RedisMetrics> metrics;  // may be null
  std::size_t metrics_shard = 0;
};

/// One io thread's Redis connections (create, use and destroy it on the thread running
/// `executor`). Connects in the background from construction on and keeps reconnecting
/// with backoff whenever a connection is lost, for as long as it lives: callers never
/// wait for a connection. With none up, Run() answers kUnavailable at once, which lets
/// the cache and the rate limiter fall back without adding latency.
class RedisClient {
 public:
  using Clock = std::chrono::steady_clock;

  RedisClient(boost::asio::any_io_executor executor, ClientOptions options);
  ~RedisClient();
  RedisClient(const RedisClient&) = delete;
  RedisClient& operator=(const RedisClient&) = delete;

  /// Sends `command` on the least busy connection that is up. The deadline is the
  /// earlier of `deadline` and now + command_timeout.
  boost::asio::awaitable<RedisResult<Reply>> Run(Command command, Clock::time_point deadline);
  /// Run() without waiting: the command goes out on a later turn of this client's thread
  /// and `done` (if set) gets the reply there. For writes whose caller has no use for the
  /// answer (a cache fill): the request it serves need not wait a Redis round trip. Safe
  /// when the client is destroyed first (the command then fails kUnavailable or is dropped
  /// with its thread's io_context).
  void Send(Command command, Clock::time_point deadline,
            std::function<void(const RedisResult<Reply>&)> done = {});
  /// EVALSHA `script` with `keys` then `args` (falling back to EVAL as Script explains).
  boost::asio::awaitable<RedisResult<Reply>> Eval(const Script& script,
                                                  std::vector<std::string> keys,
                                                  std::vector<std::string> args,
                                                  Clock::time_point deadline);

  /// At least one connection is up.
  bool up() const;
  /// Connections up right now.
  std::size_t connections_up() const;

  struct State;  // defined in redis_client.cpp

 private:
  std::shared_ptr<State> state_;
};

}  // namespace myriad::redis

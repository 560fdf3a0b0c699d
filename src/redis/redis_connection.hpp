#pragma once

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>
#include <chrono>
#include <cstddef>
#include <functional>
#include <memory>

#include "redis/redis_url.hpp"
#include "redis/reply.hpp"

namespace myriad::redis {

/// One Redis connection on one io thread (like db::PgConnection: create, use and destroy
/// it on the thread that runs `executor`; nothing locks, nothing blocks). hiredis does the
/// protocol (its command encoder and reply reader); the socket is Asio's.
///
/// Any number of coroutines may await Run() at once: commands are written back to back
/// and their replies matched in order (pipelining), so concurrent commands share round
/// trips. A command whose deadline passes returns kTimeout and *closes the connection*: a
/// Redis that is slow past the timeout is treated as down (callers fall back at once)
/// until a fresh connection proves it healthy again. Any command still waiting then gets
/// kConnection. Except when this thread notices the deadline more than 10 ms late: then its
/// own loop was behind, not Redis, and only that command fails (kTimeout; its reply is
/// dropped when it comes), unless Redis has sent nothing on the connection for a second
/// (it is stuck whatever the thread is doing).
class RedisConnection {
 public:
  using Clock = std::chrono::steady_clock;

  /// Resolves, connects, then AUTHs and SELECTs as `endpoint` asks (pipelined).
  /// kConnection (refused, AUTH or SELECT rejected) or kTimeout at `deadline`.
  static boost::asio::awaitable<RedisResult<RedisConnection>> Connect(
      boost::asio::any_io_executor executor, const RedisEndpoint& endpoint,
      Clock::time_point deadline);

  RedisConnection(RedisConnection&&) noexcept = default;
  RedisConnection& operator=(RedisConnection&& other) noexcept;
  RedisConnection(const RedisConnection&) = delete;
  RedisConnection& operator=(const RedisConnection&) = delete;
  /// Closes; waiting commands get kConnection.
  ~RedisConnection();

  /// Sends `command` and waits for its reply (an error reply is a value, not an error).
  boost::asio::awaitable<RedisResult<Reply>> Run(Command command, Clock::time_point deadline);

  /// Connected and not closed.
  bool usable() const;
  /// Commands sent and not yet answered.
  std::size_t in_flight() const;
  /// Called once, on this thread, when the connection closes for any reason (including
  /// Close() and destruction). Replaces any earlier callback.
  void OnClose(std::function<void()> callback);
  /// Subscriber mode: replies that are published messages (RESP2 arrays whose first element is
  /// "message" or "pmessage") go to `handler`, on this thread, instead of answering a command.
  /// Set it before SUBSCRIBE; replies to SUBSCRIBE and PING still answer their commands.
  void OnPush(std::function<void(Reply&&)> handler);
  /// Closes now; waiting commands get kConnection. Idempotent.
  void Close();

  struct Impl;  // defined in redis_connection.cpp

 private:
  explicit RedisConnection(std::shared_ptr<Impl> impl) : impl_(std::move(impl)) {}
  std::shared_ptr<Impl> impl_;
};

}  // namespace myriad::redis

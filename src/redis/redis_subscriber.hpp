#pragma once

#include <boost/asio/any_io_executor.hpp>
#include <chrono>
#include <functional>
#include <memory>
#include <string>
#include <string_view>

#include "redis/redis_url.hpp"

namespace myriad::redis {

struct SubscriberOptions {
  RedisEndpoint endpoint;
  /// The channel subscribed to (SUBSCRIBE, not a pattern).
  std::string channel;
  /// Longest wait for the SUBSCRIBE confirmation and for each PING's reply.
  std::chrono::milliseconds command_timeout{250};
  std::chrono::milliseconds connect_timeout{1'000};
  /// A PING goes out this often, so a connection that died silently is noticed within
  /// ping_interval + command_timeout.
  std::chrono::milliseconds ping_interval{1'000};
  /// Reconnect attempts back off exponentially between these, with jitter.
  std::chrono::milliseconds backoff_min{50};
  std::chrono::milliseconds backoff_max{2'000};
  /// Each message published on the channel, on the executor's thread.
  std::function<void(std::string_view message)> on_message;
  /// Every change of live(), on the executor's thread: true once SUBSCRIBE is confirmed,
  /// false as soon as the connection is lost (messages published meanwhile are lost too,
  /// which is what a listener must assume from then on).
  std::function<void(bool live)> on_state;
};

/// One dedicated Redis connection subscribed to one channel, kept alive with PINGs and
/// re-established with backoff whenever it is lost, for as long as the object lives.
/// Redis pub/sub delivers at most once: a listener learns from on_state(false) that it
/// may have missed messages. Create and destroy it on the thread running `executor`; no
/// callback runs after destruction.
class RedisSubscriber {
 public:
  RedisSubscriber(boost::asio::any_io_executor executor, SubscriberOptions options);
  ~RedisSubscriber();
  RedisSubscriber(const RedisSubscriber&) = delete;
  RedisSubscriber& operator=(const RedisSubscriber&) = delete;

  /// Subscribed right now.
  bool live() const;

  struct State;  // defined in redis_subscriber.cpp

 private:
  std::shared_ptr<State> state_;
};

}  // namespace myriad::redis

// redis::RedisSubscriber against a real Redis (support/redis_support.hpp).
#include <gtest/gtest.h>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <chrono>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "redis/redis_connection.hpp"
#include "redis/redis_subscriber.hpp"
#include "support/coro_test.hpp"
#include "support/redis_support.hpp"

namespace myriad::redis {
namespace {
namespace asio = boost::asio;
using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;
using myriad::testing::RunIo;
using myriad::testing::SleepFor;

asio::awaitable<bool> WaitFor(const std::function<bool()>& done,
                              std::chrono::milliseconds limit = 5s) {
  const auto until = Clock::now() + limit;
  while (!done()) {
    if (Clock::now() > until) co_return false;
    co_await SleepFor(5ms);
  }
  co_return true;
}

struct Seen {
  std::vector<std::string> messages;
  std::vector<bool> states;
};

SubscriberOptions Options(const std::string& channel, const std::shared_ptr<Seen>& seen) {
  SubscriberOptions o;
  o.endpoint = myriad::testing::TestRedisEndpoint();
  o.channel = channel;
  o.command_timeout = 2s;
  o.ping_interval = 100ms;
  o.on_message = [seen](std::string_view m) { seen->messages.emplace_back(m); };
  o.on_state = [seen](bool live) { seen->states.push_back(live); };
  return o;
}

std::string Channel() { return "test:subscriber:" + std::to_string(::getpid()); }

TEST(RedisSubscriberTest, DeliversMessagesInOrderAndResubscribesAfterALoss) {
  RunIo([](asio::any_io_executor ex) -> asio::awaitable<void> {
    auto seen = std::make_shared<Seen>();
    const std::string channel = Channel();
    RedisSubscriber subscriber(ex, Options(channel, seen));
    CO_ASSERT_TRUE(co_await WaitFor([&] { return subscriber.live(); }));
    EXPECT_EQ(seen->states, std::vector<bool>{true});

    auto publisher = co_await RedisConnection::Connect(ex, myriad::testing::TestRedisEndpoint(),
                                                       Clock::now() + 5s);
    CO_ASSERT_TRUE(publisher.has_value());
    for (int i = 0; i < 100; ++i) {
      auto sent = co_await publisher->Run(Command("PUBLISH", channel, std::to_string(i)),
                                          Clock::now() + 5s);
      CO_ASSERT_TRUE(sent.has_value());
      EXPECT_EQ(sent->integer, 1) << "one subscriber on the channel";
    }
    CO_ASSERT_TRUE(co_await WaitFor([&] { return seen->messages.size() == 100; }));
    for (int i = 0; i < 100; ++i) EXPECT_EQ(seen->messages[i], std::to_string(i));
    // Keep-alive PINGs answer in subscriber mode without being taken for messages.
    co_await SleepFor(350ms);
    EXPECT_EQ(seen->messages.size(), 100U);
    EXPECT_TRUE(subscriber.live());

    // Lost: the listener hears false, then true once subscribed again.
    auto killed =
        co_await publisher->Run(Command("CLIENT", "KILL", "TYPE", "pubsub"), Clock::now() + 5s);
    CO_ASSERT_TRUE(killed.has_value());
    EXPECT_GE(killed->integer, 1);
    CO_ASSERT_TRUE(co_await WaitFor([&] { return seen->states.size() >= 3; }));
    EXPECT_EQ(seen->states, (std::vector<bool>{true, false, true}));
    CO_ASSERT_TRUE(subscriber.live());
    auto again = co_await publisher->Run(Command("PUBLISH", channel, "after"), Clock::now() + 5s);
    CO_ASSERT_TRUE(again.has_value());
    EXPECT_EQ(again->integer, 1);
    CO_ASSERT_TRUE(co_await WaitFor([&] { return seen->messages.size() == 101; }));
    EXPECT_EQ(seen->messages.back(), "after");
  });
}

TEST(RedisSubscriberTest, NothingListeningMeansNotLiveAndNoCallbackAfterDestruction) {
  RunIo([](asio::any_io_executor ex) -> asio::awaitable<void> {
    auto seen = std::make_shared<Seen>();
    auto options = Options(Channel() + ":none", seen);
    options.endpoint.port = 1;  // nothing listens there
    {
      RedisSubscriber subscriber(ex, options);
      co_await SleepFor(200ms);
      EXPECT_FALSE(subscriber.live());
    }
    co_await SleepFor(100ms);
    EXPECT_TRUE(seen->states.empty()) << "never live, so never reported lost either";

    // A live one destroyed mid-subscription calls nothing afterwards.
    auto live_seen = std::make_shared<Seen>();
    {
      RedisSubscriber subscriber(ex, Options(Channel() + ":gone", live_seen));
      CO_ASSERT_TRUE(co_await WaitFor([&] { return subscriber.live(); }));
    }
    co_await SleepFor(300ms);
    EXPECT_EQ(live_seen->states, std::vector<bool>{true});
  });
}

}  // namespace
}  // namespace myriad::redis

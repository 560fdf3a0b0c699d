// redis::RedisConnection and redis::RedisClient against a real Redis (support/redis_support.hpp).
#include <gtest/gtest.h>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <chrono>
#include <optional>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "redis/redis_client.hpp"
#include "redis/redis_connection.hpp"
#include "redis/redis_metrics.hpp"
#include "support/coro_test.hpp"
#include "support/redis_support.hpp"

namespace myriad::redis {
namespace {
namespace asio = boost::asio;
using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;
using myriad::testing::RunIo;
using myriad::testing::SleepFor;

// Waits (polling every 10 ms, up to `limit`) until the client has `n` connections up.
asio::awaitable<bool> WaitUp(RedisClient& client, std::size_t n,
                             std::chrono::milliseconds limit = 5s) {
  const auto until = Clock::now() + limit;
  while (client.connections_up() != n) {
    if (Clock::now() > until) co_return false;
    co_await SleepFor(10ms);
  }
  co_return true;
}

// A key of this test's own, so parallel tests never share one.
std::string Key(const std::string& name) {
  return "test:redis_client:" + name + ":" + std::to_string(::getpid());
}

// Runs `command` on `conn` in a coroutine of its own (started on the next turn of the
// loop); its result lands in `out`. A plain function: a lambda coroutine's captures would
// die with the lambda, before the coroutine ends.
asio::awaitable<void> RunInto(RedisConnection* conn, Command command, Clock::time_point deadline,
                              std::optional<RedisResult<Reply>>* out) {
  *out = co_await conn->Run(std::move(command), deadline);
}
void RunDetached(const asio::any_io_executor& ex, RedisConnection& conn, Command command,
                 Clock::time_point deadline, std::optional<RedisResult<Reply>>& out) {
  asio::co_spawn(ex, RunInto(&conn, std::move(command), deadline, &out), asio::detached);
}

// Polls until `a` (and `b`, when given) are in (5 s at most).
asio::awaitable<void> WaitFor(const std::optional<RedisResult<Reply>>& a,
                              const std::optional<RedisResult<Reply>>* b = nullptr) {
  const auto until = Clock::now() + 5s;
  while (Clock::now() < until && (!a || (b != nullptr && !*b))) {
    co_await SleepFor(5ms);
  }
}

TEST(RedisConnectionTest, CommandsAndRepliesOfEveryType) {
  RunIo([](asio::any_io_executor ex) -> asio::awaitable<void> {
    auto conn = co_await RedisConnection::Connect(ex, myriad::testing::TestRedisEndpoint(),
                                                  Clock::now() + 5s);
    CO_ASSERT_TRUE(conn.has_value());
    const auto deadline = Clock::now() + 5s;
    const std::string key = Key("types");
    auto set = co_await conn->Run(Command("SET", key, std::string("a\0b\r\n", 5)), deadline);
    CO_ASSERT_TRUE(set.has_value());
    EXPECT_TRUE(set->IsOk());
    auto get = co_await conn->Run(Command("GET", key), deadline);
    CO_ASSERT_TRUE(get.has_value());
    EXPECT_EQ(get->type, Reply::Type::kString);
    EXPECT_EQ(get->str, std::string("a\0b\r\n", 5));
    auto missing = co_await conn->Run(Command("GET", key + ":none"), deadline);
    CO_ASSERT_TRUE(missing.has_value());
    EXPECT_TRUE(missing->IsNil());
    auto error = co_await conn->Run(Command("INCR", key), deadline);
    CO_ASSERT_TRUE(error.has_value());  // an error reply is a value
    EXPECT_TRUE(error->IsError());
    EXPECT_TRUE(conn->usable());
    auto list = co_await conn->Run(Command("RPUSH", key + ":l", "x", "y"), deadline);
    CO_ASSERT_TRUE(list.has_value());
    EXPECT_EQ(list->type, Reply::Type::kInteger);
    EXPECT_EQ(list->integer, 2);
    auto range = co_await conn->Run(Command("LRANGE", key + ":l", "0", "-1"), deadline);
    CO_ASSERT_TRUE(range.has_value());
    CO_ASSERT_TRUE(range->type == Reply::Type::kArray && range->elements.size() == 2);
    EXPECT_EQ(range->elements[1].str, "y");
    (void)co_await conn->Run(Command("DEL", key, key + ":l"), deadline);
  });
}

TEST(RedisConnectionTest, ConcurrentCommandsArePipelinedAndAnsweredInOrder) {
  RunIo([](asio::any_io_executor ex) -> asio::awaitable<void> {
    auto connected = co_await RedisConnection::Connect(ex, myriad::testing::TestRedisEndpoint(),
                                                       Clock::now() + 5s);
    CO_ASSERT_TRUE(connected.has_value());
    auto conn = std::make_shared<RedisConnection>(std::move(*connected));
    const std::string key = Key("pipeline");
    (void)co_await conn->Run(Command("DEL", key), Clock::now() + 5s);
    constexpr int kCommands = 2000;
    auto seen = std::make_shared<std::vector<long long>>();
    auto done = std::make_shared<int>(0);
    std::size_t most_in_flight = 0;
    for (int i = 0; i < kCommands; ++i) {
      asio::co_spawn(
          ex,
          [conn, key, seen, done]() -> asio::awaitable<void> {
            auto reply = co_await conn->Run(Command("INCR", key), Clock::now() + 10s);
            if (reply && reply->type == Reply::Type::kInteger) seen->push_back(reply->integer);
            ++*done;
          },
          asio::detached);
    }
    while (*done < kCommands) {
      most_in_flight = std::max(most_in_flight, conn->in_flight());
      co_await SleepFor(1ms);
    }
    // Every INCR answered once, with its own value, in the order sent.
    CO_ASSERT_TRUE(seen->size() == kCommands);
    for (int i = 0; i < kCommands; ++i) EXPECT_EQ((*seen)[i], i + 1);
    EXPECT_GT(most_in_flight, 100U) << "commands were not in flight together";
    (void)co_await conn->Run(Command("DEL", key), Clock::now() + 5s);
  });
}

TEST(RedisConnectionTest, ATimeoutAnswersAtOnceAndRetiresTheConnection) {
  RunIo([](asio::any_io_executor ex) -> asio::awaitable<void> {
    auto conn = co_await RedisConnection::Connect(ex, myriad::testing::TestRedisEndpoint(),
                                                  Clock::now() + 5s);
    CO_ASSERT_TRUE(conn.has_value());
    const auto started = Clock::now();
    // BLPOP on an empty list holds the reply for 2 s: longer than our 100 ms deadline.
    auto reply = co_await conn->Run(Command("BLPOP", Key("never"), "2"), started + 100ms);
    const auto took = Clock::now() - started;
    CO_ASSERT_TRUE(!reply.has_value());
    EXPECT_EQ(reply.error().kind, RedisErrorKind::kTimeout);
    EXPECT_LT(took, 1s);
    EXPECT_FALSE(conn->usable());
    auto after = co_await conn->Run(Command("PING"), Clock::now() + 1s);
    CO_ASSERT_TRUE(!after.has_value());
    EXPECT_EQ(after.error().kind, RedisErrorKind::kConnection);
  });
}

// The same timeout noticed late, because this thread was busy: Redis is not to blame, and
// closing would fail every other command in flight on the connection.
TEST(RedisConnectionTest, ADeadlineMissedWhileTheThreadWasBusyKeepsTheConnection) {
  RunIo([](asio::any_io_executor ex) -> asio::awaitable<void> {
    auto conn = co_await RedisConnection::Connect(ex, myriad::testing::TestRedisEndpoint(),
                                                  Clock::now() + 5s);
    CO_ASSERT_TRUE(conn.has_value());
    std::optional<RedisResult<Reply>> late;
    // Redis holds this reply 300 ms, well past the deadline (as in the test above)...
    RunDetached(ex, *conn, Command("BLPOP", Key("late"), "0.3"), Clock::now() + 40ms, late);
    // ...but this thread is busy until after the deadline, so it notices it late.
    std::this_thread::sleep_for(120ms);
    co_await WaitFor(late);
    CO_ASSERT_TRUE(late.has_value());
    CO_ASSERT_TRUE(!late->has_value());
    EXPECT_EQ(late->error().kind, RedisErrorKind::kTimeout);
    EXPECT_TRUE(conn->usable()) << "a deadline this thread missed retired the connection";
    // The abandoned command's reply is matched and dropped: the next one gets its own.
    auto echo = co_await conn->Run(Command("ECHO", "after"), Clock::now() + 2s);
    CO_ASSERT_TRUE(echo.has_value());
    EXPECT_EQ(echo->str, "after");
    EXPECT_EQ(conn->in_flight(), 0U);
  });
}

// Late, but Redis has sent nothing for over a second: it is stuck, and the connection goes
// as it would have on time.
TEST(RedisConnectionTest, ALateDeadlineStillRetiresAConnectionRedisStoppedAnswering) {
  RunIo([](asio::any_io_executor ex) -> asio::awaitable<void> {
    auto conn = co_await RedisConnection::Connect(ex, myriad::testing::TestRedisEndpoint(),
                                                  Clock::now() + 5s);
    CO_ASSERT_TRUE(conn.has_value());
    std::optional<RedisResult<Reply>> first;
    std::optional<RedisResult<Reply>> second;
    RunDetached(ex, *conn, Command("BLPOP", Key("stuck"), "2"), Clock::now() + 5s, first);
    co_await SleepFor(1100ms);  // nothing has come from Redis since the handshake
    RunDetached(ex, *conn, Command("PING"), Clock::now() + 40ms, second);
    std::this_thread::sleep_for(120ms);
    co_await WaitFor(first, &second);
    CO_ASSERT_TRUE(first.has_value() && second.has_value());
    CO_ASSERT_TRUE(!second->has_value());
    EXPECT_EQ(second->error().kind, RedisErrorKind::kTimeout);
    EXPECT_FALSE(conn->usable());
    CO_ASSERT_TRUE(!first->has_value());
    EXPECT_EQ(first->error().kind, RedisErrorKind::kConnection);
  });
}

TEST(RedisConnectionTest, WrongPasswordIsRefused) {
  RunIo([](asio::any_io_executor ex) -> asio::awaitable<void> {
    RedisEndpoint endpoint = myriad::testing::TestRedisEndpoint();
    endpoint.password = "not-the-password";
    auto conn = co_await RedisConnection::Connect(ex, endpoint, Clock::now() + 5s);
    CO_ASSERT_TRUE(!conn.has_value());
    EXPECT_EQ(conn.error().kind, RedisErrorKind::kConnection);
    EXPECT_NE(conn.error().message.find("AUTH"), std::string::npos) << conn.error().message;
  });
}

TEST(RedisConnectionTest, SelectsTheDatabaseOfTheUrl) {
  RunIo([](asio::any_io_executor ex) -> asio::awaitable<void> {
    RedisEndpoint endpoint = myriad::testing::TestRedisEndpoint();
    endpoint.database = 3;
    auto conn = co_await RedisConnection::Connect(ex, endpoint, Clock::now() + 5s);
    CO_ASSERT_TRUE(conn.has_value());
    auto info = co_await conn->Run(Command("CLIENT", "INFO"), Clock::now() + 5s);
    CO_ASSERT_TRUE(info.has_value() && info->IsString());
    EXPECT_NE(info->str.find(" db=3 "), std::string::npos) << info->str;
  });
}

TEST(RedisClientTest, NothingListeningMeansUnavailableAtOnce) {
  RunIo([](asio::any_io_executor ex) -> asio::awaitable<void> {
    // A port nobody listens on: bind one, note it, close it.
    asio::ip::tcp::acceptor probe(ex, {asio::ip::make_address("127.0.0.1"), 0});
    const auto port = probe.local_endpoint().port();
    probe.close();
    ClientOptions options;
    options.endpoint.port = port;
    auto metrics = std::make_shared<RedisMetrics>(1);
    options.metrics = metrics;
    RedisClient client(ex, options);
    co_await SleepFor(100ms);
    EXPECT_FALSE(client.up());
    const auto started = Clock::now();
    auto reply = co_await client.Run(Command("PING"), Clock::now() + 5s);
    EXPECT_LT(Clock::now() - started, 50ms);
    CO_ASSERT_TRUE(!reply.has_value());
    EXPECT_EQ(reply.error().kind, RedisErrorKind::kUnavailable);
    EXPECT_GE(metrics->set.Sum(metrics->connect_failures), 1U);
    EXPECT_EQ(metrics->set.Sum(metrics->down), 1U);
  });
}

TEST(RedisClientTest, ReconnectsAfterItsConnectionIsKilled) {
  RunIo([](asio::any_io_executor ex) -> asio::awaitable<void> {
    ClientOptions options;
    options.endpoint = myriad::testing::TestRedisEndpoint();
    options.connections = 2;
    auto metrics = std::make_shared<RedisMetrics>(1);
    options.metrics = metrics;
    RedisClient client(ex, options);
    CO_ASSERT_TRUE(co_await WaitUp(client, 2));
    auto name = co_await client.Run(Command("CLIENT", "SETNAME", "victim"), Clock::now() + 5s);
    CO_ASSERT_TRUE(name.has_value() && name->IsOk());
    // Kill that connection from a connection of our own.
    auto killer = co_await RedisConnection::Connect(ex, options.endpoint, Clock::now() + 5s);
    CO_ASSERT_TRUE(killer.has_value());
    auto list = co_await killer->Run(Command("CLIENT", "LIST"), Clock::now() + 5s);
    CO_ASSERT_TRUE(list.has_value() && list->IsString());
    const auto at = list->str.find("name=victim");
    CO_ASSERT_TRUE(at != std::string::npos);
    const auto line = list->str.rfind("id=", at);
    const std::string id = list->str.substr(line + 3, list->str.find(' ', line) - line - 3);
    auto killed = co_await killer->Run(Command("CLIENT", "KILL", "ID", id), Clock::now() + 5s);
    CO_ASSERT_TRUE(killed.has_value());
    EXPECT_EQ(killed->integer, 1);
    // The other connection serves meanwhile; the killed one comes back on its own.
    CO_ASSERT_TRUE(co_await WaitUp(client, 2));
    EXPECT_GE(metrics->set.Sum(metrics->connects), 3U);
    for (int i = 0; i < 20; ++i) {
      auto ping = co_await client.Run(Command("PING"), Clock::now() + 5s);
      CO_ASSERT_TRUE(ping.has_value());
      EXPECT_EQ(ping->str, "PONG");
    }
  });
}

TEST(RedisClientTest, SendDoesNotWaitAndReportsTheReplyLater) {
  RunIo([](asio::any_io_executor ex) -> asio::awaitable<void> {
    ClientOptions options;
    options.endpoint = myriad::testing::TestRedisEndpoint();
    const std::string key = Key("send");
    {
      RedisClient client(ex, options);
      CO_ASSERT_TRUE(co_await WaitUp(client, 1));
      (void)co_await client.Run(Command("DEL", key), Clock::now() + 5s);
      std::vector<std::string> replies;
      client.Send(Command("SET", key, "first", "NX"), Clock::now() + 5s,
                  [&](const RedisResult<Reply>& r) { replies.push_back(r ? r->str : "error"); });
      client.Send(Command("SET", key, "second", "NX"), Clock::now() + 5s,
                  [&](const RedisResult<Reply>& r) {
                    replies.push_back(r ? (r->IsNil() ? "nil" : r->str) : "error");
                  });
      EXPECT_TRUE(replies.empty()) << "Send returned before anything was sent";
      const auto until = Clock::now() + 5s;
      while (replies.size() < 2 && Clock::now() < until) {
        co_await SleepFor(5ms);
      }
      CO_ASSERT_TRUE(replies.size() == 2);
      EXPECT_EQ(replies[0], "OK");
      EXPECT_EQ(replies[1], "nil") << "sent in order: the second SET NX found the first";
      auto stored = co_await client.Run(Command("GET", key), Clock::now() + 5s);
      CO_ASSERT_TRUE(stored.has_value());
      EXPECT_EQ(stored->str, "first");
      // Sent, then the client is destroyed before that command went out: nothing may touch
      // the destroyed client (ASan), and the command fails or is dropped, never hangs.
      client.Send(Command("SET", key, "third"), Clock::now() + 5s);
    }
    co_await SleepFor(50ms);
    auto check = co_await RedisConnection::Connect(ex, options.endpoint, Clock::now() + 5s);
    CO_ASSERT_TRUE(check.has_value());
    (void)co_await check->Run(Command("DEL", key), Clock::now() + 5s);
  });
}

TEST(RedisClientTest, EvalLoadsScriptsAndSurvivesAScriptFlush) {
  RunIo([](asio::any_io_executor ex) -> asio::awaitable<void> {
    static const Script kEcho{"return {KEYS[1], ARGV[1], ARGV[2]}"};
    ClientOptions options;
    options.endpoint = myriad::testing::TestRedisEndpoint();
    options.scripts = {&kEcho};
    RedisClient client(ex, options);
    CO_ASSERT_TRUE(co_await WaitUp(client, 1));
    for (int round = 0; round < 2; ++round) {
      std::vector<std::string> keys{"k"};
      std::vector<std::string> args{"a", "b"};
      auto reply = co_await client.Eval(kEcho, keys, args, Clock::now() + 5s);
      CO_ASSERT_TRUE(reply.has_value());
      CO_ASSERT_TRUE(reply->type == Reply::Type::kArray && reply->elements.size() == 3);
      EXPECT_EQ(reply->elements[0].str, "k");
      EXPECT_EQ(reply->elements[2].str, "b");
      // The server forgets the script: the next call must still work (EVAL fallback).
      auto flushed = co_await client.Run(Command("SCRIPT", "FLUSH"), Clock::now() + 5s);
      CO_ASSERT_TRUE(flushed.has_value() && flushed->IsOk());
    }
  });
}

TEST(RedisClientTest, ReplaysOnConnectCommandsBeforeTakingTraffic) {
  RunIo([](asio::any_io_executor ex) -> asio::awaitable<void> {
    const std::string key = Key("on_connect");
    ClientOptions options;
    options.endpoint = myriad::testing::TestRedisEndpoint();
    auto replayed = std::make_shared<int>(0);
    options.on_connect = [key, replayed] {
      ClientOptions::Setup setup;
      setup.commands.emplace_back("INCR", key);
      setup.done = [replayed] { ++*replayed; };
      return setup;
    };
    RedisClient client(ex, options);
    CO_ASSERT_TRUE(co_await WaitUp(client, 1));
    auto value = co_await client.Run(Command("GET", key), Clock::now() + 5s);
    CO_ASSERT_TRUE(value.has_value());
    EXPECT_EQ(value->str, "1");
    EXPECT_EQ(*replayed, 1);
    (void)co_await client.Run(Command("DEL", key), Clock::now() + 5s);
  });
}

}  // namespace
}  // namespace myriad::redis

// accounts::LoginGuard against a real Redis (support/redis_support.hpp).
#include <gtest/gtest.h>
#include <prometheus/collectable.h>
#include <prometheus/metric_family.h>

#include <boost/asio/awaitable.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <chrono>
#include <cstdint>
#include <optional>
#include <random>
#include <string>
#include <vector>

#include "accounts/login_guard.hpp"
#include "redis/redis_client.hpp"
#include "support/coro_test.hpp"
#include "support/redis_support.hpp"

namespace myriad::accounts {
namespace {
namespace asio = boost::asio;
using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;
using myriad::testing::RunIo;
using myriad::testing::SleepFor;
using redis::Command;
using redis::RedisClient;

// Short lockouts so that a test can wait one out: 3 free failures, then 2 s, 4 s, 8 s.
const LockoutPolicy kPolicy{3, 2s, 8s, 60s};

// A key prefix of this test's own, so parallel tests and reruns never share a count.
std::string RandomPrefix() {
  std::random_device random;
  std::uniform_int_distribution<std::uint64_t> bits;
  return "test:login_guard:" + std::to_string(bits(random)) + ":";
}

Clock::time_point Deadline() { return Clock::now() + 5s; }

redis::ClientOptions Options() {
  redis::ClientOptions options;
  options.endpoint = myriad::testing::TestRedisEndpoint();
  options.scripts = {&LoginGuard::Script()};
  return options;
}

asio::awaitable<bool> WaitUp(const RedisClient& client) {
  const auto until = Clock::now() + 5s;
  while (!client.up()) {
    if (Clock::now() > until) {
      co_return false;
    }
    co_await SleepFor(10ms);
  }
  co_return true;
}

// The counter `family`, series store=`store` (empty: the only series).
double Value(const LoginGuard& guard, const std::string& family, const std::string& store = "") {
  for (const auto& f : guard.Collectable()->Collect()) {
    for (const auto& m : f.metric) {
      bool match = f.name == family && store.empty();
      for (const auto& l : m.label) {
        match = match || (f.name == family && l.name == "store" && l.value == store);
      }
      if (match) {
        return m.counter.value;
      }
    }
  }
  return -1;
}

// Expects `got` to be a lockout of `want`, give or take a second.
void ExpectAbout(const std::optional<std::chrono::seconds>& got, std::chrono::seconds want) {
  ASSERT_TRUE(got.has_value()) << "not locked; want " << want.count() << "s";
  EXPECT_GE(*got, want - 1s);
  EXPECT_LE(*got, want + 1s);
}

TEST(LoginGuardRedisTest, LocksAfterTheFreeFailuresForTheGrowingLockout) {
  LoginGuard guard(kPolicy, RandomPrefix(), 1);
  RunIo([&guard](asio::any_io_executor ex) -> asio::awaitable<void> {
    RedisClient client(ex, Options());
    CO_ASSERT_TRUE(co_await WaitUp(client));
    guard.SetRedis(0, &client);
    const std::string account = "mallory-target@example.com";
    for (int i = 1; i <= 3; ++i) {
      EXPECT_EQ(co_await guard.Locked(0, account, Deadline()), std::nullopt);
      EXPECT_EQ(co_await guard.Failed(0, account, Deadline()), std::nullopt) << i;
    }
    ExpectAbout(co_await guard.Failed(0, account, Deadline()), 2s);
    ExpectAbout(co_await guard.Locked(0, account, Deadline()), 2s);

    const std::string key = guard.KeyFor(account);
    auto n = co_await client.Run(Command("HGET", key, "n"), Deadline());
    CO_ASSERT_TRUE(n.has_value() && n->IsString());
    EXPECT_EQ(n->str, "4");
    auto ttl = co_await client.Run(Command("PTTL", key), Deadline());
    CO_ASSERT_TRUE(ttl.has_value());
    EXPECT_GT(ttl->integer, 58'000);  // the window, longer than the lockout
    EXPECT_LE(ttl->integer, 60'000);

    // Once the lockout is over, the next failure locks for twice as long.
    co_await SleepFor(2'100ms);
    EXPECT_EQ(co_await guard.Locked(0, account, Deadline()), std::nullopt);
    ExpectAbout(co_await guard.Failed(0, account, Deadline()), 4s);
    ExpectAbout(co_await guard.Failed(0, account, Deadline()), 8s);
    ExpectAbout(co_await guard.Failed(0, account, Deadline()), 8s);  // capped
    ExpectAbout(co_await guard.Locked(0, account, Deadline()), 8s);
    guard.SetRedis(0, nullptr);
  });
  EXPECT_EQ(Value(guard, "myriad_login_failures_total"), 7);
  EXPECT_EQ(Value(guard, "myriad_login_lockouts_total", "redis"), 4);
  EXPECT_EQ(Value(guard, "myriad_login_lockouts_total", "local"), 0);
}

TEST(LoginGuardRedisTest, SuccessForgetsTheFailures) {
  LoginGuard guard(kPolicy, RandomPrefix(), 1);
  RunIo([&guard](asio::any_io_executor ex) -> asio::awaitable<void> {
    RedisClient client(ex, Options());
    CO_ASSERT_TRUE(co_await WaitUp(client));
    guard.SetRedis(0, &client);
    const std::string account = "alice@example.com";
    for (int i = 1; i <= 4; ++i) {
      (void)co_await guard.Failed(0, account, Deadline());
    }
    ExpectAbout(co_await guard.Locked(0, account, Deadline()), 2s);
    co_await guard.Succeeded(0, account, Deadline());
    auto exists = co_await client.Run(Command("EXISTS", guard.KeyFor(account)), Deadline());
    CO_ASSERT_TRUE(exists.has_value());
    EXPECT_EQ(exists->integer, 0);
    EXPECT_EQ(co_await guard.Locked(0, account, Deadline()), std::nullopt);
    for (int i = 1; i <= 3; ++i) {
      EXPECT_EQ(co_await guard.Failed(0, account, Deadline()), std::nullopt) << i;
    }
    ExpectAbout(co_await guard.Failed(0, account, Deadline()), 2s);
    guard.SetRedis(0, nullptr);
  });
}

TEST(LoginGuardRedisTest, TwoGuardsWithTheirOwnClientsShareTheCount) {
  const std::string prefix = RandomPrefix();
  LoginGuard first(kPolicy, prefix, 1);
  LoginGuard second(kPolicy, prefix, 1);
  RunIo([&first, &second](asio::any_io_executor ex) -> asio::awaitable<void> {
    RedisClient first_client(ex, Options());
    RedisClient second_client(ex, Options());
    CO_ASSERT_TRUE(co_await WaitUp(first_client));
    CO_ASSERT_TRUE(co_await WaitUp(second_client));
    first.SetRedis(0, &first_client);
    second.SetRedis(0, &second_client);
    const std::string account = "bob@example.com";
    EXPECT_EQ(co_await first.Failed(0, account, Deadline()), std::nullopt);
    EXPECT_EQ(co_await second.Failed(0, account, Deadline()), std::nullopt);
    EXPECT_EQ(co_await first.Failed(0, account, Deadline()), std::nullopt);
    ExpectAbout(co_await second.Failed(0, account, Deadline()), 2s);
    ExpectAbout(co_await first.Locked(0, account, Deadline()), 2s);
    co_await first.Succeeded(0, account, Deadline());
    EXPECT_EQ(co_await second.Locked(0, account, Deadline()), std::nullopt);
    first.SetRedis(0, nullptr);
    second.SetRedis(0, nullptr);
  });
}

TEST(LoginGuardRedisTest, KeysNeverContainTheAccount) {
  const std::string prefix = RandomPrefix();
  LoginGuard guard(kPolicy, prefix, 1);
  RunIo([&guard, &prefix](asio::any_io_executor ex) -> asio::awaitable<void> {
    RedisClient client(ex, Options());
    CO_ASSERT_TRUE(co_await WaitUp(client));
    guard.SetRedis(0, &client);
    const std::vector<std::string> accounts{"carol@example.com", "dave@example.org",
                                            "unknown-account@example.net"};
    for (const auto& account : accounts) {
      (void)co_await guard.Failed(0, account, Deadline());
    }
    auto keys = co_await client.Run(Command("KEYS", prefix + "*"), Deadline());
    CO_ASSERT_TRUE(keys.has_value() && keys->type == redis::Reply::Type::kArray);
    EXPECT_EQ(keys->elements.size(), accounts.size());
    for (const auto& k : keys->elements) {
      EXPECT_EQ(k.str.rfind(prefix + "login:v1:", 0), 0U) << k.str;
      EXPECT_EQ(k.str.size(), prefix.size() + std::string("login:v1:").size() + 32) << k.str;
      EXPECT_EQ(k.str.find('@'), std::string::npos) << k.str;
      EXPECT_EQ(k.str.find("example"), std::string::npos) << k.str;
    }
    for (const auto& account : accounts) {
      co_await guard.Succeeded(0, account, Deadline());
    }
    guard.SetRedis(0, nullptr);
  });
}

TEST(LoginGuardRedisTest, RedisDownFallsBackToTheLocalStore) {
  LoginGuard guard(kPolicy, RandomPrefix(), 1);
  RunIo([&guard](asio::any_io_executor ex) -> asio::awaitable<void> {
    // A port nobody listens on: bind one, note it, close it.
    asio::ip::tcp::acceptor probe(ex, {asio::ip::make_address("127.0.0.1"), 0});
    redis::ClientOptions options = Options();
    options.endpoint.host = "127.0.0.1";
    options.endpoint.port = probe.local_endpoint().port();
    probe.close();
    RedisClient client(ex, options);
    guard.SetRedis(0, &client);
    const std::string account = "erin@example.com";
    for (int i = 1; i <= 3; ++i) {
      EXPECT_EQ(co_await guard.Failed(0, account, Deadline()), std::nullopt) << i;
    }
    ExpectAbout(co_await guard.Failed(0, account, Deadline()), 2s);
    ExpectAbout(co_await guard.Locked(0, account, Deadline()), 2s);
    guard.SetRedis(0, nullptr);
  });
  EXPECT_EQ(Value(guard, "myriad_login_lockouts_total", "local"), 1);
  EXPECT_EQ(Value(guard, "myriad_login_lockouts_total", "redis"), 0);
}

}  // namespace
}  // namespace myriad::accounts

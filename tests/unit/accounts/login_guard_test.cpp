#include "accounts/login_guard.hpp"

#include <gtest/gtest.h>
#include <prometheus/collectable.h>
#include <prometheus/metric_family.h>

#include <boost/asio/awaitable.hpp>
#include <chrono>
#include <cstdint>
#include <limits>
#include <optional>
#include <stdexcept>
#include <string>

#include "support/coro_test.hpp"

namespace myriad::accounts {
namespace {
namespace asio = boost::asio;
using namespace std::chrono_literals;
using myriad::testing::RunIo;
using std::chrono::milliseconds;
using std::chrono::seconds;

constexpr std::int64_t kSecondMs = 1'000;
constexpr std::int64_t kWindowMs = 15 * 60 * kSecondMs;  // the default policy's

std::chrono::steady_clock::time_point Deadline() { return std::chrono::steady_clock::now() + 5s; }

// The value of the series of `family` whose labels include `label` (empty: any).
double Value(const LoginGuard& guard, const std::string& family, const std::string& store = "") {
  for (const auto& f : guard.Collectable()->Collect()) {
    if (f.name != family) {
      continue;
    }
    for (const auto& m : f.metric) {
      bool match = store.empty();
      for (const auto& l : m.label) {
        match = match || (l.name == "store" && l.value == store);
      }
      if (match) {
        return m.counter.value;
      }
    }
  }
  ADD_FAILURE() << "no series " << family << " " << store;
  return -1;
}

TEST(LoginGuardArithmeticTest, LockoutDoublesFromTheFirstFailureOverTheFreeOnesUpToTheCap) {
  const LockoutPolicy policy;  // 5 free, 30 s doubling, 15 min cap
  for (std::uint64_t n = 0; n <= 5; ++n) {
    EXPECT_EQ(LockoutAfter(policy, n), 0ms) << n;
  }
  EXPECT_EQ(LockoutAfter(policy, 6), 30s);
  EXPECT_EQ(LockoutAfter(policy, 7), 60s);
  EXPECT_EQ(LockoutAfter(policy, 8), 120s);
  EXPECT_EQ(LockoutAfter(policy, 9), 240s);
  EXPECT_EQ(LockoutAfter(policy, 10), 480s);
  EXPECT_EQ(LockoutAfter(policy, 11), 900s);  // 960 s, capped
  EXPECT_EQ(LockoutAfter(policy, 12), 900s);
  EXPECT_EQ(LockoutAfter(policy, 1'000), 900s);
  EXPECT_EQ(LockoutAfter(policy, std::numeric_limits<std::uint64_t>::max()), 900s);
}

TEST(LoginGuardArithmeticTest, OtherPolicies) {
  LockoutPolicy none_free{0, 1s, 10s, 60s};
  EXPECT_EQ(LockoutAfter(none_free, 0), 0ms);
  EXPECT_EQ(LockoutAfter(none_free, 1), 1s);
  EXPECT_EQ(LockoutAfter(none_free, 2), 2s);
  EXPECT_EQ(LockoutAfter(none_free, 4), 8s);
  EXPECT_EQ(LockoutAfter(none_free, 5), 10s);
  const LockoutPolicy first_is_cap{3, 60s, 60s, 60s};
  EXPECT_EQ(LockoutAfter(first_is_cap, 3), 0ms);
  EXPECT_EQ(LockoutAfter(first_is_cap, 4), 60s);
  EXPECT_EQ(LockoutAfter(first_is_cap, 9), 60s);
}

TEST(LoginGuardArithmeticTest, RecordFailureLocksFromTheLastFailure) {
  const LockoutPolicy policy;
  FailureRecord r;
  for (int i = 1; i <= 5; ++i) {
    EXPECT_EQ(RecordFailure(policy, r, 1'000 + i), std::nullopt) << i;
    EXPECT_EQ(RemainingLockout(r, 1'000 + i), std::nullopt);
  }
  EXPECT_EQ(r.failures, 5U);
  EXPECT_EQ(r.expires_ms, 1'005 + kWindowMs);

  EXPECT_EQ(RecordFailure(policy, r, 10'000), 30s);
  EXPECT_EQ(r.failures, 6U);
  EXPECT_EQ(r.locked_until_ms, 40'000);
  EXPECT_EQ(r.expires_ms, 10'000 + kWindowMs);
  EXPECT_EQ(RemainingLockout(r, 10'000), 30s);
  EXPECT_EQ(RemainingLockout(r, 10'001), 30s);  // rounded up
  EXPECT_EQ(RemainingLockout(r, 39'000), 1s);
  EXPECT_EQ(RemainingLockout(r, 39'999), 1s);
  EXPECT_EQ(RemainingLockout(r, 40'000), std::nullopt);

  EXPECT_EQ(RecordFailure(policy, r, 50'000), 60s);
  EXPECT_EQ(r.locked_until_ms, 110'000);
  EXPECT_EQ(RecordFailure(policy, r, 50'000), 120s);
  EXPECT_EQ(RemainingLockout(r, 50'000), 120s);
}

TEST(LoginGuardArithmeticTest, FailuresAreForgottenAWindowAfterTheLastOne) {
  const LockoutPolicy policy;
  FailureRecord r;
  // Each failure just inside the previous one's window: the count keeps growing.
  std::int64_t now = 0;
  for (int i = 1; i <= 5; ++i) {
    EXPECT_EQ(RecordFailure(policy, r, now), std::nullopt);
    now += kWindowMs - 1;
  }
  EXPECT_EQ(RecordFailure(policy, r, now), 30s);
  EXPECT_EQ(r.failures, 6U);

  // One window after the last failure, everything is forgotten.
  const std::int64_t last = now;
  EXPECT_EQ(RemainingLockout(r, last + kWindowMs - 1), std::nullopt);  // lockout over
  now = last + kWindowMs;
  EXPECT_EQ(RemainingLockout(r, now), std::nullopt);
  EXPECT_EQ(RecordFailure(policy, r, now), std::nullopt);
  EXPECT_EQ(r.failures, 1U);
}

TEST(LoginGuardArithmeticTest, ALockoutLongerThanTheWindowKeepsTheCount) {
  const LockoutPolicy policy{1, 60s, 10min, 90s};
  FailureRecord r;
  EXPECT_EQ(RecordFailure(policy, r, 0), std::nullopt);
  EXPECT_EQ(RecordFailure(policy, r, 0), 60s);
  EXPECT_EQ(r.expires_ms, 90 * kSecondMs);  // the window is longer
  EXPECT_EQ(RecordFailure(policy, r, 0), 120s);
  EXPECT_EQ(r.expires_ms, 120 * kSecondMs);  // the lockout is longer
  EXPECT_EQ(RemainingLockout(r, 119 * kSecondMs), 1s);
  EXPECT_EQ(RecordFailure(policy, r, 119 * kSecondMs), 240s);
  EXPECT_EQ(r.failures, 4U);
}

TEST(LocalFailuresTest, CountsForgetsAndStaysBounded) {
  const LockoutPolicy policy{1, 10s, 60s, 60s};
  LocalFailures local(64);
  EXPECT_EQ(local.Failed(policy, "a", 0), std::nullopt);
  EXPECT_EQ(local.Failed(policy, "a", 0), 10s);
  EXPECT_EQ(local.Locked("a", 5'000), 5s);
  EXPECT_EQ(local.Locked("b", 5'000), std::nullopt);
  local.Succeeded("a");
  EXPECT_EQ(local.Locked("a", 5'000), std::nullopt);
  EXPECT_EQ(local.size(), 0U);

  EXPECT_EQ(local.Failed(policy, "a", 0), std::nullopt);
  EXPECT_EQ(local.Locked("a", 60'000), std::nullopt);  // expired: dropped
  EXPECT_EQ(local.size(), 0U);

  for (int i = 0; i < 10'000; ++i) {
    (void)local.Failed(policy, "k" + std::to_string(i), i);
  }
  EXPECT_LE(local.size(), 64U);
  EXPECT_GT(local.size(), 0U);
  // The most recent failures are the ones kept.
  EXPECT_EQ(local.Failed(policy, "k9999", 10'000), 10s);
}

TEST(LoginGuardTest, KeyIsAHashOfTheAccount) {
  const LoginGuard guard(LockoutPolicy{}, "pfx:", 1);
  // SHA-256("abc") = ba7816bf8f01cfea414140de5dae2223 b00361a3...
  EXPECT_EQ(guard.KeyFor("abc"), "pfx:login:v1:ba7816bf8f01cfea414140de5dae2223");
  const std::string key = guard.KeyFor("alice@example.com");
  EXPECT_EQ(key.size(), std::string("pfx:login:v1:").size() + 32);
  EXPECT_EQ(key.find("alice"), std::string::npos);
  EXPECT_NE(key, guard.KeyFor("bob@example.com"));
}

TEST(LoginGuardTest, RejectsPoliciesThatCannotLock) {
  EXPECT_THROW(LoginGuard(LockoutPolicy{5, 0s, 60s, 60s}, "", 1), std::invalid_argument);
  EXPECT_THROW(LoginGuard(LockoutPolicy{5, 60s, 30s, 60s}, "", 1), std::invalid_argument);
  EXPECT_THROW(LoginGuard(LockoutPolicy{5, 30s, 60s, 0s}, "", 1), std::invalid_argument);
}

TEST(LoginGuardTest, WithoutRedisTheLocalStoreLocks) {
  LoginGuard guard(LockoutPolicy{}, "test:", 2);
  RunIo([&guard](asio::any_io_executor) -> asio::awaitable<void> {
    const std::string alice = "alice@example.com";
    const std::string bob = "bob@example.com";
    for (int i = 1; i <= 5; ++i) {
      EXPECT_EQ(co_await guard.Locked(0, alice, Deadline()), std::nullopt);
      EXPECT_EQ(co_await guard.Failed(0, alice, Deadline()), std::nullopt) << i;
    }
    EXPECT_EQ(co_await guard.Failed(1, alice, Deadline()), 30s);
    EXPECT_EQ(co_await guard.Locked(0, alice, Deadline()), 30s);
    EXPECT_EQ(co_await guard.Locked(1, alice, Deadline()), 30s);  // one store per process
    EXPECT_EQ(co_await guard.Failed(0, alice, Deadline()), 60s);
    EXPECT_EQ(co_await guard.Locked(0, bob, Deadline()), std::nullopt);
    EXPECT_EQ(co_await guard.Failed(0, bob, Deadline()), std::nullopt);

    co_await guard.Succeeded(0, alice, Deadline());
    EXPECT_EQ(co_await guard.Locked(0, alice, Deadline()), std::nullopt);
    EXPECT_EQ(co_await guard.Failed(0, alice, Deadline()), std::nullopt);  // counting anew
  });
  EXPECT_EQ(Value(guard, "myriad_login_failures_total"), 9);
  EXPECT_EQ(Value(guard, "myriad_login_lockouts_total", "local"), 2);
  EXPECT_EQ(Value(guard, "myriad_login_lockouts_total", "redis"), 0);
}

}  // namespace
}  // namespace myriad::accounts

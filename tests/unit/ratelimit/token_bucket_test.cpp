#include "ratelimit/token_bucket.hpp"

#include <gtest/gtest.h>

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <string>
#include <thread>
#include <vector>

namespace myriad::ratelimit {
namespace {

constexpr std::int64_t kSecond = 1'000'000;  // microseconds

// One bucket's state as the callers keep it, starting full at `now`.
struct Bucket {
  Limit limit;
  double tokens;
  std::int64_t at;
  Bucket(double rate, std::size_t burst, std::int64_t now)
      : limit{rate, burst}, tokens(static_cast<double>(burst)), at(now) {}
  Decision Take(std::int64_t now_us) { return ratelimit::Take(limit, tokens, at, now_us); }
};

TEST(TokenBucketTest, FullBucketAllowsBurstThenDenies) {
  Bucket b(10, 5, 0);
  for (std::size_t i = 1; i <= 5; ++i) {
    SCOPED_TRACE(i);
    const Decision d = b.Take(0);
    EXPECT_TRUE(d.allowed);
    EXPECT_EQ(d.limit, 5U);
    EXPECT_EQ(d.remaining, 5U - i);
    EXPECT_DOUBLE_EQ(d.reset_seconds, static_cast<double>(i) / 10);
    EXPECT_DOUBLE_EQ(d.retry_seconds, 0);
    EXPECT_FALSE(d.local);
  }
  const Decision denied = b.Take(0);
  EXPECT_FALSE(denied.allowed);
  EXPECT_EQ(denied.limit, 5U);
  EXPECT_EQ(denied.remaining, 0U);
  EXPECT_DOUBLE_EQ(denied.reset_seconds, 0.5);
  EXPECT_DOUBLE_EQ(denied.retry_seconds, 0.1);
  // Denials take nothing: the state is unchanged.
  EXPECT_DOUBLE_EQ(b.tokens, 0);
  EXPECT_FALSE(b.Take(0).allowed);
  EXPECT_DOUBLE_EQ(b.tokens, 0);
}

TEST(TokenBucketTest, OneTokenComesBackAfterExactlyOneOverRate) {
  Bucket b(10, 5, 0);
  for (int i = 0; i < 5; ++i) ASSERT_TRUE(b.Take(0).allowed);

  // Probed on a copy: each Take() moves the bucket's clock along.
  Bucket probe = b;
  const Decision early = probe.Take(kSecond / 10 - 1);
  EXPECT_FALSE(early.allowed);
  EXPECT_NEAR(early.retry_seconds, 1e-6, 1e-12);  // one microsecond short

  const Decision on_time = b.Take(kSecond / 10);
  EXPECT_TRUE(on_time.allowed);
  EXPECT_EQ(on_time.remaining, 0U);
  EXPECT_DOUBLE_EQ(on_time.reset_seconds, 0.5);

  // Only one: the next is denied at the same instant.
  const Decision again = b.Take(kSecond / 10);
  EXPECT_FALSE(again.allowed);
  EXPECT_DOUBLE_EQ(again.retry_seconds, 0.1);
}

TEST(TokenBucketTest, FractionalRateRefillsOnItsOwnSchedule) {
  Bucket b(0.5, 1, 0);  // one request every two seconds
  ASSERT_TRUE(b.Take(0).allowed);
  Bucket half = b;
  const Decision denied = half.Take(kSecond);
  EXPECT_FALSE(denied.allowed);
  EXPECT_DOUBLE_EQ(denied.retry_seconds, 1.0);  // half a token back, half to go
  EXPECT_DOUBLE_EQ(denied.reset_seconds, 1.0);
  Bucket early = b;
  EXPECT_FALSE(early.Take(2 * kSecond - 1).allowed);
  EXPECT_TRUE(b.Take(2 * kSecond).allowed);
  EXPECT_FALSE(b.Take(2 * kSecond).allowed);
}

TEST(TokenBucketTest, RemainingIsWholeTokensRoundedDown) {
  Bucket b(10, 5, 0);
  for (int i = 0; i < 5; ++i) ASSERT_TRUE(b.Take(0).allowed);
  // 0.35 s at 10/s: 3.5 tokens; one taken leaves 2.5.
  const Decision d = b.Take(350'000);
  EXPECT_TRUE(d.allowed);
  EXPECT_EQ(d.remaining, 2U);
  EXPECT_DOUBLE_EQ(d.reset_seconds, 0.25);
  EXPECT_DOUBLE_EQ(b.tokens, 2.5);
  EXPECT_EQ(b.at, 350'000);
}

TEST(TokenBucketTest, NeverHoldsMoreThanBurstAfterALongIdle) {
  Bucket b(10, 5, 0);
  ASSERT_TRUE(b.Take(0).allowed);
  const std::int64_t later = 3600 * kSecond;  // an hour: 36000 tokens' worth
  const Decision first = b.Take(later);
  EXPECT_TRUE(first.allowed);
  EXPECT_EQ(first.remaining, 4U);
  EXPECT_DOUBLE_EQ(first.reset_seconds, 0.1);
  for (int i = 0; i < 4; ++i) EXPECT_TRUE(b.Take(later).allowed) << i;
  EXPECT_FALSE(b.Take(later).allowed);
}

TEST(TokenBucketTest, TakingFromAFullBucketResetsInOneTokensTime) {
  Bucket b(10, 5, 0);
  // Full (and idle for long): taking one leaves 4, so reset is the time to refill one.
  const Decision d = b.Take(10 * kSecond);
  EXPECT_EQ(d.remaining, 4U);
  EXPECT_DOUBLE_EQ(d.reset_seconds, 0.1);
  EXPECT_DOUBLE_EQ(b.tokens, 4);
}

TEST(TokenBucketTest, ClockGoingBackwardsAddsNoTokens) {
  Bucket b(10, 5, kSecond);
  for (int i = 0; i < 5; ++i) ASSERT_TRUE(b.Take(kSecond).allowed);

  const Decision back = b.Take(kSecond / 2);
  EXPECT_FALSE(back.allowed);
  EXPECT_DOUBLE_EQ(b.tokens, 0);
  EXPECT_EQ(b.at, kSecond);  // the later time is kept

  // From the kept time, 0.1 s gives exactly one token (not the 0.6 s since the earlier one).
  EXPECT_TRUE(b.Take(kSecond + kSecond / 10).allowed);
  EXPECT_FALSE(b.Take(kSecond + kSecond / 10).allowed);
}

TEST(LocalBucketsTest, AllowsBurstThenDenies) {
  LocalBuckets buckets(1024);
  const Limit limit{0.001, 3};  // no refill within the test
  for (std::size_t i = 1; i <= 3; ++i) {
    const Decision d = buckets.Take("client-a", limit);
    EXPECT_TRUE(d.allowed) << i;
    EXPECT_TRUE(d.local);
    EXPECT_EQ(d.limit, 3U);
    EXPECT_EQ(d.remaining, 3U - i);
  }
  const Decision denied = buckets.Take("client-a", limit);
  EXPECT_FALSE(denied.allowed);
  EXPECT_TRUE(denied.local);
  EXPECT_EQ(denied.remaining, 0U);
  EXPECT_GT(denied.retry_seconds, 900.0);  // ~1000 s for one token at 0.001/s
  EXPECT_LE(denied.retry_seconds, 1000.0);
}

TEST(LocalBucketsTest, KeysAreIndependent) {
  LocalBuckets buckets(1024);
  const Limit limit{0.001, 2};
  EXPECT_TRUE(buckets.Take("a", limit).allowed);
  EXPECT_TRUE(buckets.Take("a", limit).allowed);
  EXPECT_FALSE(buckets.Take("a", limit).allowed);

  const Decision b = buckets.Take("b", limit);
  EXPECT_TRUE(b.allowed);
  EXPECT_EQ(b.remaining, 1U);
  EXPECT_TRUE(buckets.Take("b", limit).allowed);
  EXPECT_FALSE(buckets.Take("b", limit).allowed);
  // A key that is a prefix of another is a different key.
  EXPECT_TRUE(buckets.Take("", limit).allowed);
  EXPECT_TRUE(buckets.Take("ab", limit).allowed);
}

TEST(LocalBucketsTest, BoundedOldestBucketComesBackFull) {
  LocalBuckets buckets(32);
  const Limit limit{0.001, 3};
  for (int i = 0; i < 3; ++i) ASSERT_TRUE(buckets.Take("early", limit).allowed);
  ASSERT_FALSE(buckets.Take("early", limit).allowed);

  for (int i = 0; i < 10'000; ++i) buckets.Take("client-" + std::to_string(i), limit);

  // Dropped to make room, so it starts over full (erring on the client's side).
  const Decision d = buckets.Take("early", limit);
  EXPECT_TRUE(d.allowed);
  EXPECT_EQ(d.remaining, 2U);
}

TEST(LocalBucketsTest, BucketsWithinCapacityAreKept) {
  LocalBuckets buckets(32 * 100);
  const Limit limit{0.001, 1};
  ASSERT_TRUE(buckets.Take("early", limit).allowed);
  // Far fewer keys than any shard holds: nothing is dropped.
  for (int i = 0; i < 50; ++i) buckets.Take("client-" + std::to_string(i), limit);
  EXPECT_FALSE(buckets.Take("early", limit).allowed);
}

TEST(LocalBucketsTest, ConcurrentTakesOnOneKeyAllowExactlyBurst) {
  LocalBuckets buckets(1024);
  const Limit limit{0.001, 100};
  std::atomic<int> allowed{0};
  std::atomic<bool> go{false};
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&] {
      while (!go.load()) std::this_thread::yield();
      for (int i = 0; i < 500; ++i) {
        if (buckets.Take("shared", limit).allowed) allowed.fetch_add(1);
      }
    });
  }
  go.store(true);
  for (std::thread& t : threads) t.join();
  EXPECT_EQ(allowed.load(), 100);
}

}  // namespace
}  // namespace myriad::ratelimit

#include "auth/token_cache.hpp"

#include <gtest/gtest.h>

#include <string>

namespace myriad::auth {
namespace {

constexpr std::int64_t kNow = 1'800'000'000;

VerifiedClaims ClaimsFor(const std::string& subject, std::int64_t expires_at = kNow + 900) {
  VerifiedClaims c;
  c.subject = subject;
  c.role = "user";
  c.token_id = "jti-" + subject;
  c.key_id = "k1";
  c.issued_at = kNow;
  c.expires_at = expires_at;
  return c;
}

TEST(TokenCacheTest, HitReturnsTheStoredClaims) {
  TokenCache cache(4);
  EXPECT_EQ(cache.Find("a.b.c", kNow), nullptr);
  cache.Put("a.b.c", ClaimsFor("1"), kNow);
  const VerifiedClaims* hit = cache.Find("a.b.c", kNow);
  ASSERT_NE(hit, nullptr);
  EXPECT_EQ(*hit, ClaimsFor("1"));
  EXPECT_EQ(cache.size(), 1U);
}

TEST(TokenCacheTest, KeyedByTheExactBytes) {
  TokenCache cache(4);
  cache.Put("a.b.c", ClaimsFor("1"), kNow);
  EXPECT_EQ(cache.Find("a.b.C", kNow), nullptr);
  EXPECT_EQ(cache.Find("a.b.c ", kNow), nullptr);
  EXPECT_EQ(cache.Find("a.b.", kNow), nullptr);
  EXPECT_EQ(cache.Find(std::string("a.b.c\0", 6), kNow), nullptr);
}

TEST(TokenCacheTest, NeverReturnsAnEntryAtOrAfterItsExp) {
  TokenCache cache(4);
  cache.Put("t", ClaimsFor("1", kNow + 10), kNow);
  EXPECT_NE(cache.Find("t", kNow + 9), nullptr);
  EXPECT_EQ(cache.Find("t", kNow + 10), nullptr);
  EXPECT_EQ(cache.size(), 0U);  // dropped on the way
  EXPECT_EQ(cache.Find("t", kNow + 9), nullptr);
}

TEST(TokenCacheTest, DoesNotStoreExpiredClaims) {
  TokenCache cache(4);
  cache.Put("t", ClaimsFor("1", kNow), kNow);
  EXPECT_EQ(cache.size(), 0U);
  EXPECT_EQ(cache.Find("t", kNow - 1), nullptr);
}

TEST(TokenCacheTest, FullCacheDropsTheOldestEntry) {
  TokenCache cache(3);
  cache.Put("t1", ClaimsFor("1"), kNow);
  cache.Put("t2", ClaimsFor("2"), kNow);
  cache.Put("t3", ClaimsFor("3"), kNow);
  cache.Put("t4", ClaimsFor("4"), kNow);
  EXPECT_EQ(cache.size(), 3U);
  EXPECT_EQ(cache.Find("t1", kNow), nullptr);
  EXPECT_NE(cache.Find("t2", kNow), nullptr);
  EXPECT_NE(cache.Find("t4", kNow), nullptr);
  // Putting t2 again makes it the newest, so t3 goes next.
  cache.Put("t2", ClaimsFor("2b"), kNow);
  cache.Put("t5", ClaimsFor("5"), kNow);
  EXPECT_EQ(cache.Find("t3", kNow), nullptr);
  ASSERT_NE(cache.Find("t2", kNow), nullptr);
  EXPECT_EQ(cache.Find("t2", kNow)->subject, "2b");
  EXPECT_EQ(cache.size(), 3U);
}

TEST(TokenCacheTest, StaysBoundedUnderChurn) {
  TokenCache cache(100);
  for (int i = 0; i < 1000; ++i) {
    cache.Put("token" + std::to_string(i), ClaimsFor(std::to_string(i)), kNow);
    if (i % 3 == 0) {
      cache.Forget("token" + std::to_string(i - 1));
    }
    ASSERT_LE(cache.size(), 100U);
  }
  EXPECT_NE(cache.Find("token999", kNow), nullptr);
  EXPECT_EQ(cache.Find("token0", kNow), nullptr);
}

TEST(TokenCacheTest, ForgetAndClear) {
  TokenCache cache(4);
  cache.Put("t1", ClaimsFor("1"), kNow);
  cache.Put("t2", ClaimsFor("2"), kNow);
  cache.Forget("t1");
  cache.Forget("never-there");
  EXPECT_EQ(cache.Find("t1", kNow), nullptr);
  EXPECT_NE(cache.Find("t2", kNow), nullptr);
  cache.Clear();
  EXPECT_EQ(cache.size(), 0U);
  EXPECT_EQ(cache.Find("t2", kNow), nullptr);
  cache.Put("t3", ClaimsFor("3"), kNow);  // usable after Clear
  EXPECT_NE(cache.Find("t3", kNow), nullptr);
}

TEST(TokenCacheTest, ZeroCapacityDisables) {
  TokenCache cache(0);
  cache.Put("t", ClaimsFor("1"), kNow);
  EXPECT_EQ(cache.size(), 0U);
  EXPECT_EQ(cache.Find("t", kNow), nullptr);
}

}  // namespace
}  // namespace myriad::auth

#include "cache/local_cache.hpp"

#include <gtest/gtest.h>

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>

namespace myriad::cache {
namespace {

using std::chrono::milliseconds;
using std::chrono::seconds;
using Cache = LocalCache<std::string>;
using Clock = Cache::Clock;
using Found = Cache::Found;

class LocalCacheTest : public ::testing::Test {
 protected:
  const Clock::time_point t0_ = Clock::now();
};

TEST_F(LocalCacheTest, EmptyCacheMissesAndLeavesTheOutputAlone) {
  Cache cache(100);
  EXPECT_TRUE(cache.enabled());
  std::string value = "untouched";
  EXPECT_EQ(cache.Get(1, t0_, value), Found::kMiss);
  EXPECT_EQ(value, "untouched");
  EXPECT_EQ(cache.size(), 0U);
}

TEST_F(LocalCacheTest, FillThenHit) {
  Cache cache(100);
  EXPECT_TRUE(cache.Fill(1, "one", t0_ + seconds(10), t0_));
  std::string value;
  EXPECT_EQ(cache.Get(1, t0_, value), Found::kValue);
  EXPECT_EQ(value, "one");
  EXPECT_EQ(cache.Get(1, t0_ + seconds(9), value), Found::kValue);
  EXPECT_EQ(cache.size(), 1U);
  // Other keys, including neighbours, still miss.
  EXPECT_EQ(cache.Get(2, t0_, value), Found::kMiss);
  EXPECT_EQ(cache.Get(0, t0_, value), Found::kMiss);
  EXPECT_EQ(cache.Get(-1, t0_, value), Found::kMiss);
}

TEST_F(LocalCacheTest, ValueExpiresAtItsDeadline) {
  Cache cache(100);
  ASSERT_TRUE(cache.Fill(1, "one", t0_ + seconds(10), t0_));
  std::string value;
  EXPECT_EQ(cache.Get(1, t0_ + seconds(10) - Clock::duration(1), value), Found::kValue);
  value.clear();
  EXPECT_EQ(cache.Get(1, t0_ + seconds(10), value), Found::kMiss);
  EXPECT_EQ(cache.Get(1, t0_ + seconds(11), value), Found::kMiss);
  EXPECT_EQ(value, "");
}

TEST_F(LocalCacheTest, FillDoesNotOverwriteALiveValue) {
  Cache cache(100);
  ASSERT_TRUE(cache.Fill(1, "first", t0_ + seconds(10), t0_));
  EXPECT_FALSE(cache.Fill(1, "second", t0_ + seconds(20), t0_ + seconds(5)));
  std::string value;
  EXPECT_EQ(cache.Get(1, t0_ + seconds(5), value), Found::kValue);
  EXPECT_EQ(value, "first");
  // ...and the refused fill did not extend the first value's life either.
  EXPECT_EQ(cache.Get(1, t0_ + seconds(10), value), Found::kMiss);
}

TEST_F(LocalCacheTest, FillReplacesAnExpiredValue) {
  Cache cache(100);
  ASSERT_TRUE(cache.Fill(1, "old", t0_ + seconds(10), t0_));
  EXPECT_TRUE(cache.Fill(1, "new", t0_ + seconds(30), t0_ + seconds(10)));
  std::string value;
  EXPECT_EQ(cache.Get(1, t0_ + seconds(20), value), Found::kValue);
  EXPECT_EQ(value, "new");
  EXPECT_EQ(cache.size(), 1U);
}

TEST_F(LocalCacheTest, InvalidateOverwritesALiveValue) {
  Cache cache(100);
  ASSERT_TRUE(cache.Fill(1, "stale", t0_ + seconds(60), t0_));
  cache.Invalidate(1, t0_ + seconds(20));
  std::string value = "untouched";
  EXPECT_EQ(cache.Get(1, t0_ + seconds(1), value), Found::kTombstone);
  EXPECT_EQ(value, "untouched");
  // The tombstone's own deadline applies, not the value's.
  EXPECT_EQ(cache.Get(1, t0_ + seconds(20), value), Found::kMiss);
  EXPECT_EQ(cache.Get(1, t0_ + seconds(30), value), Found::kMiss);
}

TEST_F(LocalCacheTest, FillDoesNotOverwriteALiveTombstone) {
  Cache cache(100);
  cache.Invalidate(1, t0_ + seconds(20));
  // A reader that loaded before the write tries to put its old value back.
  EXPECT_FALSE(cache.Fill(1, "stale", t0_ + seconds(60), t0_ + seconds(1)));
  EXPECT_FALSE(cache.Fill(1, "stale", t0_ + seconds(60), t0_ + seconds(20) - Clock::duration(1)));
  std::string value;
  EXPECT_EQ(cache.Get(1, t0_ + seconds(2), value), Found::kTombstone);
  EXPECT_EQ(value, "");
}

TEST_F(LocalCacheTest, FillSucceedsOnceTheTombstoneExpired) {
  Cache cache(100);
  cache.Invalidate(1, t0_ + seconds(20));
  EXPECT_TRUE(cache.Fill(1, "fresh", t0_ + seconds(40), t0_ + seconds(21)));
  std::string value;
  EXPECT_EQ(cache.Get(1, t0_ + seconds(22), value), Found::kValue);
  EXPECT_EQ(value, "fresh");
}

TEST_F(LocalCacheTest, InvalidateReplacesATombstoneAndExtendsIt) {
  Cache cache(100);
  cache.Invalidate(1, t0_ + seconds(10));
  cache.Invalidate(1, t0_ + seconds(30));
  std::string value;
  EXPECT_EQ(cache.Get(1, t0_ + seconds(15), value), Found::kTombstone);
  EXPECT_FALSE(cache.Fill(1, "stale", t0_ + seconds(60), t0_ + seconds(15)));
  EXPECT_EQ(cache.size(), 1U);
}

TEST_F(LocalCacheTest, InvalidateOfAnAbsentKeyBlocksFills) {
  Cache cache(100);
  cache.Invalidate(7, t0_ + seconds(5));
  std::string value;
  EXPECT_EQ(cache.Get(7, t0_, value), Found::kTombstone);
  EXPECT_FALSE(cache.Fill(7, "x", t0_ + seconds(60), t0_));
  // Other keys are unaffected.
  EXPECT_TRUE(cache.Fill(8, "y", t0_ + seconds(60), t0_));
}

TEST_F(LocalCacheTest, CapExpiryShortensLongLivesOnlyAndKeepsTombstones) {
  Cache cache(100);
  ASSERT_TRUE(cache.Fill(1, "long", t0_ + seconds(60), t0_));
  ASSERT_TRUE(cache.Fill(2, "short", t0_ + seconds(2), t0_));
  cache.Invalidate(3, t0_ + seconds(20));
  cache.CapExpiry(t0_ + seconds(5));
  std::string value;
  EXPECT_EQ(cache.Get(1, t0_ + seconds(4), value), Found::kValue);
  EXPECT_EQ(cache.Get(1, t0_ + seconds(5), value), Found::kMiss);
  EXPECT_EQ(cache.Get(2, t0_ + seconds(1), value), Found::kValue);
  EXPECT_EQ(cache.Get(2, t0_ + seconds(3), value), Found::kMiss);
  EXPECT_EQ(cache.Get(3, t0_ + seconds(10), value), Found::kTombstone);
  // A fill after the cap gets its own life again.
  EXPECT_TRUE(cache.Fill(1, "again", t0_ + seconds(60), t0_ + seconds(6)));
  EXPECT_EQ(cache.Get(1, t0_ + seconds(30), value), Found::kValue);
}

TEST_F(LocalCacheTest, CapacityZeroDisablesTheCache) {
  Cache cache(0);
  EXPECT_FALSE(cache.enabled());
  EXPECT_FALSE(cache.Fill(1, "one", t0_ + seconds(10), t0_));
  cache.Invalidate(2, t0_ + seconds(10));
  std::string value;
  EXPECT_EQ(cache.Get(1, t0_, value), Found::kMiss);
  EXPECT_EQ(cache.Get(2, t0_, value), Found::kMiss);
  EXPECT_EQ(cache.size(), 0U);
}

TEST_F(LocalCacheTest, CapacityOneStillCaches) {
  Cache cache(1);
  EXPECT_TRUE(cache.enabled());
  ASSERT_TRUE(cache.Fill(1, "one", t0_ + seconds(10), t0_));
  std::string value;
  EXPECT_EQ(cache.Get(1, t0_, value), Found::kValue);
}

TEST_F(LocalCacheTest, SizeIsBoundedByCapacity) {
  LocalCache<std::int64_t> cache(640);
  constexpr std::int64_t kKeys = 100'000;
  for (std::int64_t key = 0; key < kKeys; ++key) {
    cache.Fill(key, key * 10, t0_ + seconds(3600), t0_);
  }
  EXPECT_LE(cache.size(), 640U + 64U);
  // Still a cache, not a sieve: most of the room is in use.
  EXPECT_GE(cache.size(), 320U);
  std::int64_t value = 0;
  EXPECT_EQ(cache.Get(kKeys - 1, t0_, value), LocalCache<std::int64_t>::Found::kValue);
  EXPECT_EQ(value, (kKeys - 1) * 10);
  // The oldest were dropped first.
  EXPECT_EQ(cache.Get(0, t0_, value), LocalCache<std::int64_t>::Found::kMiss);
}

TEST_F(LocalCacheTest, TombstonesAreBoundedToo) {
  LocalCache<std::int64_t> cache(640);
  for (std::int64_t key = 0; key < 100'000; ++key) cache.Invalidate(key, t0_ + seconds(3600));
  EXPECT_LE(cache.size(), 640U + 64U);
  std::int64_t value = 0;
  EXPECT_EQ(cache.Get(99'999, t0_, value), LocalCache<std::int64_t>::Found::kTombstone);
}

// A key that LocalCache puts in the same shard as `key`: with one entry per shard (capacity
// 64), filling it drops `key`.
std::optional<std::int64_t> KeyInSameShard(std::int64_t key, Clock::time_point now) {
  for (std::int64_t other = key + 1; other < key + 100'000; ++other) {
    LocalCache<int> probe(64);
    probe.Fill(key, 1, now + seconds(60), now);
    probe.Fill(other, 2, now + seconds(60), now);
    int value = 0;
    if (probe.Get(key, now, value) == LocalCache<int>::Found::kMiss) return other;
  }
  return std::nullopt;
}

// The header: "a full shard drops its oldest entry". Repeated writes to one key leave its
// shard far from full, so they must not drop its neighbour.
TEST_F(LocalCacheTest, RepeatedInvalidationsOfOneKeyDoNotEvictItsNeighbours) {
  const auto neighbour = KeyInSameShard(1, t0_);
  ASSERT_TRUE(neighbour.has_value());
  Cache cache(640);  // 10 entries per shard
  ASSERT_TRUE(cache.Fill(1, "kept", t0_ + seconds(3600), t0_));
  for (int i = 0; i < 100; ++i) cache.Invalidate(*neighbour, t0_ + seconds(20));
  EXPECT_EQ(cache.size(), 2U);
  std::string value;
  EXPECT_EQ(cache.Get(1, t0_, value), Found::kValue);
  EXPECT_EQ(value, "kept");
}

// Versions: a write-through replaces an older value, and a versioned tombstone (another
// instance's announced write) lets through exactly that version or a later one.
TEST_F(LocalCacheTest, ANewerVersionReplacesALiveValueAndAnOlderOneDoesNot) {
  Cache cache(100);
  ASSERT_TRUE(cache.Fill(1, "v2", t0_ + seconds(10), t0_, 2));
  EXPECT_FALSE(cache.Fill(1, "v1", t0_ + seconds(10), t0_, 1)) << "a late fill of an older read";
  EXPECT_FALSE(cache.Fill(1, "v2 again", t0_ + seconds(10), t0_, 2));
  std::string value;
  ASSERT_EQ(cache.Get(1, t0_, value), Found::kValue);
  EXPECT_EQ(value, "v2");
  EXPECT_TRUE(cache.Fill(1, "v3", t0_ + seconds(10), t0_, 3));
  ASSERT_EQ(cache.Get(1, t0_, value), Found::kValue);
  EXPECT_EQ(value, "v3");
  // A cached "no such user" (version 0) never replaces a user.
  EXPECT_FALSE(cache.Fill(1, "", t0_ + seconds(10), t0_, 0));
}

TEST_F(LocalCacheTest, AVersionedTombstoneAdmitsThatVersionOrLater) {
  Cache cache(100);
  ASSERT_TRUE(cache.Fill(1, "v1", t0_ + seconds(10), t0_, 1));
  cache.Invalidate(1, t0_ + seconds(20), 3, t0_);
  std::string value = "untouched";
  std::int64_t floor = 0;
  ASSERT_EQ(cache.Get(1, t0_, value, &floor), Found::kTombstone);
  EXPECT_EQ(floor, 3);
  EXPECT_EQ(value, "untouched");
  EXPECT_FALSE(cache.Fill(1, "v2", t0_ + seconds(10), t0_, 2));
  EXPECT_TRUE(cache.Fill(1, "v3", t0_ + seconds(10), t0_, 3));
  ASSERT_EQ(cache.Get(1, t0_, value), Found::kValue);
  EXPECT_EQ(value, "v3");
}

TEST_F(LocalCacheTest, AnAnnouncedVersionLeavesAValueThatIsAlreadyThatNew) {
  Cache cache(100);
  ASSERT_TRUE(cache.Fill(1, "v4", t0_ + seconds(10), t0_, 4));
  cache.Invalidate(1, t0_ + seconds(20), 4, t0_);  // this instance's own announcement
  cache.Invalidate(1, t0_ + seconds(20), 3, t0_);  // an older one arriving late
  std::string value;
  ASSERT_EQ(cache.Get(1, t0_, value), Found::kValue);
  EXPECT_EQ(value, "v4");
  cache.Invalidate(1, t0_ + seconds(20), 5, t0_);
  EXPECT_EQ(cache.Get(1, t0_, value), Found::kTombstone);
}

TEST_F(LocalCacheTest, TombstonesKeepTheHigherFloorAndAPlainOneRefusesEveryVersion) {
  Cache cache(100);
  cache.Invalidate(1, t0_ + seconds(20), 5, t0_);
  cache.Invalidate(1, t0_ + seconds(20), 3, t0_);
  std::int64_t floor = 0;
  std::string value;
  ASSERT_EQ(cache.Get(1, t0_, value, &floor), Found::kTombstone);
  EXPECT_EQ(floor, 5);
  cache.Invalidate(1, t0_ + seconds(20), Cache::kNoFill, t0_);  // a delete
  ASSERT_EQ(cache.Get(1, t0_, value, &floor), Found::kTombstone);
  EXPECT_EQ(floor, Cache::kNoFill);
  EXPECT_FALSE(cache.Fill(1, "v99", t0_ + seconds(10), t0_, 99));
  cache.Invalidate(1, t0_ + seconds(20), 100, t0_);
  ASSERT_EQ(cache.Get(1, t0_, value, &floor), Found::kTombstone);
  EXPECT_EQ(floor, Cache::kNoFill) << "a later versioned announcement does not lift a delete";
  // Once it expired, anything fills again.
  EXPECT_TRUE(cache.Fill(1, "v1", t0_ + seconds(30), t0_ + seconds(20), 1));
}

}  // namespace
}  // namespace myriad::cache

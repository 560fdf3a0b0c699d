#pragma once

#include <boost/asio/awaitable.hpp>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "redis/redis_client.hpp"
#include "users/user.hpp"
#include "users/user_store.hpp"

namespace myriad::cache {
struct CacheMetrics;
}

namespace myriad::users {

/// A user as the cache hands it out: immutable and shared, with its JSON and ETag rendered
/// once, so a hit costs no serialisation.
struct CachedUser {
  User user;
  std::string json;         // ToJson: the user and admins see this
  std::string public_json;  // ToPublicJson: other users see this
  std::string etag;         // MakeETag(version)
  std::string public_etag;  // the public profile's: "\"p<version>\""
};
using CachedUserPtr = std::shared_ptr<const CachedUser>;

std::shared_ptr<const CachedUser> MakeCachedUser(User user);

/// The value format in Redis (key "<prefix>user:v2:<id>", prefix "myriad:" by default): "u2|" then
/// the user's JSON, "u2|-" for a user that does not exist, "u2|~" for a tombstone. Anything else is
/// foreign or from another schema version and is ignored.
std::string EncodeCachedUser(const CachedUser* user);
enum class Decoded : std::uint8_t { kUser, kAbsent, kTombstone, kCorrupt };
/// Decodes a value stored under `id`'s key; a user whose id differs is kCorrupt.
Decoded DecodeCachedUser(std::string_view value, std::int64_t id, CachedUserPtr& user);
std::string UserCacheKey(std::int64_t id, std::string_view prefix = "myriad:");

struct UserCacheOptions {
  /// Put before every Redis key, so deployments (or tests) can share one Redis.
  std::string key_prefix = "myriad:";
  /// How long Redis keeps a user; each write picks a TTL within +-jitter of it.
  std::chrono::milliseconds ttl{300'000};
  double jitter = 0.1;
  /// How long a "no such user" is remembered.
  std::chrono::milliseconds negative_ttl{5'000};
  /// How long a written key refuses fills (longer than any load can take: the request
  /// timeout and then some).
  std::chrono::milliseconds tombstone_ttl{20'000};
  /// The in-process cache in front of Redis: entries (0: none), and their lifetime while
  /// the invalidation feed is live (every instance's writes reach this one through it)...
  std::size_t local_entries = 100'000;
  std::chrono::milliseconds local_ttl{60'000};
  /// ...and while it is not (no Redis, or the subscription is down): then this bounds how
  /// stale another instance's write can leave this one.
  std::chrono::milliseconds local_ttl_degraded{5'000};
  /// Invalidations that could not reach Redis, kept for replay (oldest dropped beyond).
  std::size_t max_deferred = 100'000;
};

/// Cache-aside for user reads: in-process L1, then Redis (when there is one), then the
/// database, with one load per key at a time across the process (single-flight).
///
/// Writers call Refresh() (with the row the write returned) or Invalidate() after their
/// write committed and before answering. Refresh() stores the new version in both layers
/// and publishes "<id>:<version>" on the invalidation channel: every instance's
/// OnInvalidation() drops an older in-process copy for a versioned tombstone, which lets
/// through only that version or a later one (from Redis, else the database). Invalidate()
/// puts a plain tombstone in both layers and publishes "<id>": while it lives, reads of
/// that key go to the database. Fills never replace a newer entry or a tombstone they do
/// not reach, so a read that began before a write cannot store its old value afterwards;
/// both writes also detach any load in flight.
///
/// Redis trouble never fails a read: it is counted, and the database answers. An
/// invalidation that cannot reach Redis is deferred: reads of that key skip Redis until a
/// fresh Redis connection has replayed the tombstones (or until a stale copy would have
/// expired anyway).
///
/// Thread-safe; `worker` is the calling io thread (selects its Redis client and metrics
/// shard).
class UserCache {
 public:
  using Clock = std::chrono::steady_clock;
  using Load = std::function<boost::asio::awaitable<StoreResult<User>>()>;

  UserCache(UserCacheOptions options, std::size_t workers,
            std::shared_ptr<cache::CacheMetrics> metrics);
  ~UserCache();
  UserCache(const UserCache&) = delete;
  UserCache& operator=(const UserCache&) = delete;

  /// Sets io thread `worker`'s Redis client (null: none). Before requests arrive.
  void SetRedis(std::size_t worker, redis::RedisClient* client);

  /// The user, or StoreFailure::kNotFound, or the load's database error (not cached).
  boost::asio::awaitable<StoreResult<CachedUserPtr>> Get(std::size_t worker, std::int64_t id,
                                                         Load load, Clock::time_point deadline);
  /// The in-process layer alone, without suspending: what it holds for `id` (a user, or
  /// null for a cached "no such user"), counted as a local hit; nullopt on a miss, which
  /// the caller then resolves with Get(). Saves a coroutine frame on the hottest path.
  std::optional<CachedUserPtr> Peek(std::size_t worker, std::int64_t id);
  /// After a write to `id` whose result is not at hand (today: a delete; every other write
  /// returns its row and calls Refresh): tombstones, and the id's reads go to the database
  /// while they live.
  boost::asio::awaitable<void> Invalidate(std::size_t worker, std::int64_t id,
                                          Clock::time_point deadline);
  /// After a write that returned the row (create, update, e-mail or password change):
  /// writes it through to both layers, where it replaces only older versions (never a
  /// tombstone), and announces the id and version, so other instances drop older copies
  /// and read it from Redis. Falls back to Invalidate's deferral when Redis cannot take it.
  boost::asio::awaitable<void> Refresh(std::size_t worker, const CachedUserPtr& user,
                                       Clock::time_point deadline);

  /// The Redis channel every instance publishes its writes on ("<id>" or "<id>:<version>").
  static std::string InvalidationChannel(std::string_view key_prefix);
  /// The Lua scripts this cache runs, for ClientOptions::scripts.
  static std::vector<const redis::Script*> Scripts();
  /// A message from the invalidation channel: another instance (or this one) wrote the
  /// user ("<id>" or "<id>:<version>"); drops an older copy from the in-process layer.
  /// Foreign payloads are ignored. Thread-safe.
  void OnInvalidation(std::string_view payload);
  /// Whether invalidations are being received. While they are, local entries live
  /// local_ttl; on a loss, every entry's life is cut to local_ttl_degraded from now (it may
  /// miss writes from then on) and new ones get that short life until the feed is back.
  /// Thread-safe. Starts not live.
  void SetInvalidationFeed(bool live);
  bool invalidation_feed_live() const;

  /// For RedisClient's on_connect: tombstones for the deferred invalidations, and, once a
  /// connection has replayed them, forgetting those (Redis holds the tombstones now).
  redis::ClientOptions::Setup Replay();
  /// Entries in the local cache; for a gauge.
  std::size_t local_size() const;

  struct Impl;  // defined in user_cache.cpp

 private:
  std::shared_ptr<Impl> impl_;
};

}  // namespace myriad::users

#include "users/user_cache.hpp"

#include <atomic>
#include <boost/asio/awaitable.hpp>
#include <boost/json/parse.hpp>
#include <boost/json/value.hpp>
#include <charconv>
#include <mutex>
#include <random>
#include <unordered_map>
#include <utility>

#include "cache/cache_metrics.hpp"
#include "cache/local_cache.hpp"
#include "cache/single_flight.hpp"
#include "redis/redis_client.hpp"

namespace myriad::users {
namespace asio = boost::asio;
namespace json = boost::json;
using Clock = UserCache::Clock;
using cache::CacheMetrics;

namespace {

constexpr std::string_view kKeyPart = "user:v2:";
constexpr std::string_view kValuePrefix = "u2|";
constexpr std::string_view kAbsent = "-";
constexpr std::string_view kTombstone = "~";

// Removes a value only if it is still the corrupt one we read, so a tombstone written in
// between survives.
const redis::Script kDeleteIfEqual{
    "if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end "
    "return 0"};

// The tombstone and its announcement in one step, so an instance that hears of a write
// and reads Redis finds the tombstone there.
const redis::Script kInvalidate{
    "redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2]) "
    "redis.call('PUBLISH', ARGV[3], ARGV[4]) "
    "return redis.status_reply('OK')"};

// The write-through of a row a write returned (ARGV[1], version ARGV[2]): stored unless
// Redis holds a tombstone (ARGV[5]) or that version or a later one already, then announced
// as "<id>:<version>" (ARGV[4]) on channel ARGV[3] either way. cjson reads the stored
// version; a value it cannot read is foreign or corrupt and is replaced.
const redis::Script kRefresh{
    "local cur = redis.call('GET', KEYS[1]) "
    "local store = cur ~= ARGV[5] "
    "if store and cur and string.sub(cur, 1, 3) == 'u2|' then "
    "  local ok, doc = pcall(cjson.decode, string.sub(cur, 4)) "
    "  if ok and type(doc) == 'table' and type(doc.version) == 'number' "
    "     and doc.version >= tonumber(ARGV[2]) then store = false end "
    "end "
    "if store then redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[6]) end "
    "redis.call('PUBLISH', ARGV[3], ARGV[4]) "
    "return redis.status_reply('OK')"};

constexpr std::string_view kChannelPart = "user:v1:invalidations";

using Lookup = StoreResult<CachedUserPtr>;  // null: no such user

Clock::duration Jittered(std::chrono::milliseconds base, double jitter) {
  thread_local std::minstd_rand rng(std::random_device{}());
  std::uniform_real_distribution<double> spread(1.0 - jitter, 1.0 + jitter);
  return std::chrono::duration_cast<Clock::duration>(base * spread(rng));
}

double Since(Clock::time_point start) {
  return std::chrono::duration<double>(Clock::now() - start).count();
}

const json::string* StringField(const json::object& o, std::string_view name) {
  const auto* v = o.if_contains(name);
  return v != nullptr ? v->if_string() : nullptr;
}

}  // namespace

CachedUserPtr MakeCachedUser(User user) {
  auto cached = std::make_shared<CachedUser>();
  cached->json = ToJson(user);
  cached->public_json = ToPublicJson(user);
  cached->etag = MakeETag(user.version);
  cached->public_etag = "\"p" + std::to_string(user.version) + '"';
  cached->user = std::move(user);
  return cached;
}

std::string UserCacheKey(std::int64_t id, std::string_view prefix) {
  std::string key(prefix);
  key += kKeyPart;
  key += std::to_string(id);
  return key;
}

std::string EncodeCachedUser(const CachedUser* user) {
  std::string out(kValuePrefix);
  out += user != nullptr ? std::string_view(user->json) : kAbsent;
  return out;
}

Decoded DecodeCachedUser(std::string_view value, std::int64_t id, CachedUserPtr& user) {
  if (!value.starts_with(kValuePrefix)) return Decoded::kCorrupt;
  value.remove_prefix(kValuePrefix.size());
  if (value == kAbsent) return Decoded::kAbsent;
  if (value == kTombstone) return Decoded::kTombstone;
  boost::system::error_code ec;
  const json::value parsed = json::parse(value, ec);
  const auto* o = parsed.if_object();
  if (ec || o == nullptr) return Decoded::kCorrupt;
  const auto* id_field = o->if_contains("id");
  const auto* version = o->if_contains("version");
  const auto* email = StringField(*o, "email");
  const auto* name = StringField(*o, "name");
  const auto* role = StringField(*o, "role");
  const auto* status = StringField(*o, "status");
  const auto* verified = o->if_contains("email_verified");
  const auto* created = StringField(*o, "created_at");
  const auto* updated = StringField(*o, "updated_at");
  if (id_field == nullptr || !id_field->is_int64() || id_field->as_int64() != id ||
      version == nullptr || !version->is_int64() || email == nullptr || name == nullptr ||
      role == nullptr || status == nullptr || verified == nullptr || !verified->is_bool() ||
      created == nullptr || updated == nullptr || o->size() != 9) {
    return Decoded::kCorrupt;
  }
  const auto parsed_role = ParseRole(*role);
  const auto parsed_status = ParseStatus(*status);
  const std::int64_t v = version->as_int64();
  if (!parsed_role || !parsed_status || v < 1 || v > INT32_MAX) return Decoded::kCorrupt;
  User u;
  u.id = id;
  u.email = *email;
  u.name = *name;
  u.role = *parsed_role;
  u.status = *parsed_status;
  u.email_verified = verified->as_bool();
  u.created_at = *created;
  u.updated_at = *updated;
  u.version = static_cast<std::int32_t>(v);
  auto cached = MakeCachedUser(std::move(u));
  // The JSON we would produce must be the JSON stored: anything else is not ours.
  if (cached->json != value) return Decoded::kCorrupt;
  user = std::move(cached);
  return Decoded::kUser;
}

struct UserCache::Impl {
  Impl(UserCacheOptions o, std::size_t workers, std::shared_ptr<CacheMetrics> m)
      : options(o), metrics(std::move(m)), clients(workers, nullptr), local(o.local_entries) {}

  // `min_version`: the floor of the local tombstone met (0: none); Redis values below it
  // are older than a write this process has heard of.
  asio::awaitable<Lookup> LoadThrough(std::size_t worker, std::int64_t id, const Load& load,
                                      Clock::time_point deadline, bool bypass_redis,
                                      std::int64_t min_version);
  asio::awaitable<std::optional<Lookup>> ReadRedis(std::size_t worker, redis::RedisClient& client,
                                                   std::int64_t id, std::int64_t min_version,
                                                   Clock::time_point deadline,
                                                   std::uint64_t generation, bool& may_fill);
  // `generation` is feed_generation as the lookup began: a feed lost (or regained) since
  // means the entry may have missed an invalidation, so it gets the short life.
  void FillLocal(std::int64_t id, const CachedUserPtr& entry, std::uint64_t generation);
  // A write's script (kInvalidate or kRefresh: KEYS[1] is the id's key) on `worker`'s Redis;
  // deferred for replay when Redis cannot take it.
  asio::awaitable<void> Announce(std::size_t worker, std::int64_t id, const redis::Script& script,
                                 std::vector<std::string> args, Clock::time_point deadline);
  std::uint64_t Generation() const { return feed_generation.load(std::memory_order_acquire); }
  bool IsDeferred(std::int64_t id);
  void Defer(std::int64_t id);
  // After any change to `deferred` (under deferred_mutex): the lock-free emptiness check.
  void CountDeferred() { deferred_count.store(deferred.size(), std::memory_order_relaxed); }

  UserCacheOptions options;
  std::shared_ptr<CacheMetrics> metrics;
  std::vector<redis::RedisClient*> clients;
  cache::LocalCache<CachedUserPtr> local;  // a null pointer is a cached "no such user"
  cache::SingleFlight<Lookup> flights;
  std::mutex deferred_mutex;
  struct Deferred {
    Clock::time_point until;  // a stale copy in Redis has expired by then
    std::uint64_t sequence;   // order of deferral, so a replay forgets only what it sent
  };
  std::unordered_map<std::int64_t, Deferred> deferred;
  std::uint64_t deferred_sequence = 0;
  std::atomic<std::size_t> deferred_count{0};
  std::atomic<bool> feed_live{false};
  std::atomic<std::uint64_t> feed_generation{0};  // bumped on every change of feed_live
  std::string channel;
};

void UserCache::Impl::FillLocal(std::int64_t id, const CachedUserPtr& entry,
                                std::uint64_t generation) {
  if (!local.enabled()) return;
  const auto now = Clock::now();
  const bool trusted = feed_live.load(std::memory_order_acquire) && Generation() == generation;
  auto life = trusted ? options.local_ttl : options.local_ttl_degraded;
  if (!entry) life = std::min(life, options.negative_ttl);
  const std::int64_t version = entry ? entry->user.version : 0;
  if (!local.Fill(id, entry, now + Jittered(life, options.jitter), now, version)) return;
  // The feed may have been lost between the check and the fill, after its CapExpiry.
  if (trusted && Generation() != generation) local.CapExpiry(id, now + options.local_ttl_degraded);
}

bool UserCache::Impl::IsDeferred(std::int64_t id) {
  if (deferred_count.load(std::memory_order_relaxed) == 0) return false;
  std::lock_guard lock(deferred_mutex);
  const auto it = deferred.find(id);
  if (it == deferred.end()) return false;
  if (it->second.until > Clock::now()) return true;
  deferred.erase(it);
  CountDeferred();
  return false;
}

void UserCache::Impl::Defer(std::int64_t id) {
  // Until then a stale copy in Redis has certainly expired.
  const auto until = std::chrono::time_point_cast<Clock::duration>(
      Clock::now() + options.ttl + options.ttl * options.jitter + options.tombstone_ttl +
      options.negative_ttl);
  std::lock_guard lock(deferred_mutex);
  if (deferred.size() >= options.max_deferred) {
    const auto now = Clock::now();
    std::erase_if(deferred, [now](const auto& e) { return e.second.until <= now; });
    if (deferred.size() >= options.max_deferred) deferred.erase(deferred.begin());
  }
  deferred[id] = Deferred{until, ++deferred_sequence};
  CountDeferred();
}

asio::awaitable<std::optional<Lookup>> UserCache::Impl::ReadRedis(
    std::size_t worker, redis::RedisClient& client, std::int64_t id, std::int64_t min_version,
    Clock::time_point deadline, std::uint64_t generation, bool& may_fill) {
  const std::string key = UserCacheKey(id, options.key_prefix);
  redis::Command get("GET", key);
  const auto started = Clock::now();
  auto reply = co_await client.Run(std::move(get), deadline);
  metrics->Time(worker, CacheMetrics::kGet, Since(started));
  if (!reply || (!reply->IsNil() && !reply->IsString())) {
    metrics->Redis(worker, CacheMetrics::kError);
    may_fill = false;  // Redis is in trouble: do not add a write to it
    co_return std::nullopt;
  }
  if (reply->IsNil()) {
    metrics->Redis(worker, CacheMetrics::kMiss);
    co_return std::nullopt;
  }
  CachedUserPtr user;
  const Decoded decoded = DecodeCachedUser(reply->str, id, user);
  if (min_version > 0 && (decoded == Decoded::kAbsent ||
                          (decoded == Decoded::kUser && user->user.version < min_version))) {
    // Older than a write announced to this process: its write-through has not landed (or
    // failed and was deferred by the writer). The database answers; no fill.
    metrics->Redis(worker, CacheMetrics::kBypass);
    may_fill = false;
    co_return std::nullopt;
  }
  switch (decoded) {
    case Decoded::kUser:
      metrics->Redis(worker, CacheMetrics::kHit);
      FillLocal(id, user, generation);
      co_return Lookup(std::move(user));
    case Decoded::kAbsent:
      metrics->Redis(worker, CacheMetrics::kNegativeHit);
      FillLocal(id, nullptr, generation);
      co_return Lookup(CachedUserPtr{});
    case Decoded::kTombstone:
      metrics->Redis(worker, CacheMetrics::kBypass);
      may_fill = false;
      co_return std::nullopt;
    case Decoded::kCorrupt:
      break;
  }
  metrics->Redis(worker, CacheMetrics::kCorrupt);
  std::vector<std::string> keys{key};
  std::vector<std::string> args{std::move(reply->str)};
  (void)co_await client.Eval(kDeleteIfEqual, std::move(keys), std::move(args), deadline);
  co_return std::nullopt;
}

asio::awaitable<Lookup> UserCache::Impl::LoadThrough(std::size_t worker, std::int64_t id,
                                                     const Load& load, Clock::time_point deadline,
                                                     bool bypass_redis, std::int64_t min_version) {
  const std::uint64_t generation = Generation();
  redis::RedisClient* client = clients[worker];
  bool may_fill = client != nullptr && !bypass_redis;
  if (may_fill) {
    if (!client->up()) {
      metrics->Redis(worker, CacheMetrics::kBypass);
      may_fill = false;
    } else if (auto found = co_await ReadRedis(worker, *client, id, min_version, deadline,
                                               generation, may_fill)) {
      co_return std::move(*found);
    }
  } else if (client != nullptr) {
    metrics->Redis(worker, CacheMetrics::kBypass);
  }

  metrics->set.Add(worker, metrics->loads);
  auto loaded = co_await load();
  CachedUserPtr entry;
  if (loaded) {
    entry = MakeCachedUser(std::move(*loaded));
  } else if (loaded.error().failure != StoreFailure::kNotFound) {
    co_return core::Unexpected<StoreError>{std::move(loaded).error()};
  }
  FillLocal(id, entry, generation);
  if (may_fill && client->up()) {
    // Add-if-absent (NX): a tombstone written since our read wins.
    const auto life = entry ? Jittered(options.ttl, options.jitter)
                            : std::chrono::duration_cast<Clock::duration>(options.negative_ttl);
    const auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(life).count();
    redis::Command set("SET", UserCacheKey(id, options.key_prefix), EncodeCachedUser(entry.get()),
                       "NX", "PX", std::to_string(std::max<long long>(1, ms)));
    // Not awaited: the caller has its answer, and its request need not wait a Redis round
    // trip for a write whose reply nobody reads (about 40% of requests in bench/scale miss
    // both layers). The fill goes out on this thread's next turn.
    client->Send(std::move(set), deadline,
                 [metrics = metrics, worker, started = Clock::now()](const auto& /*reply*/) {
                   metrics->Time(worker, CacheMetrics::kSet, Since(started));
                 });
  }
  co_return entry;
}

UserCache::UserCache(UserCacheOptions options, std::size_t workers,
                     std::shared_ptr<CacheMetrics> metrics)
    : impl_(std::make_shared<Impl>(options, workers, std::move(metrics))) {
  impl_->channel = InvalidationChannel(impl_->options.key_prefix);
}

std::string UserCache::InvalidationChannel(std::string_view key_prefix) {
  std::string channel(key_prefix);
  channel += kChannelPart;
  return channel;
}

std::vector<const redis::Script*> UserCache::Scripts() {
  return {&kInvalidate, &kRefresh, &kDeleteIfEqual};
}

void UserCache::OnInvalidation(std::string_view payload) {
  Impl& c = *impl_;
  // "<id>" (Invalidate) or "<id>:<version>" (Refresh).
  std::int64_t id = 0;
  std::int64_t version = cache::LocalCache<CachedUserPtr>::kNoFill;
  const auto* end = payload.data() + payload.size();
  auto [ptr, ec] = std::from_chars(payload.data(), end, id);
  if (ec == std::errc{} && ptr != end && *ptr == ':') {
    const auto parsed = std::from_chars(ptr + 1, end, version);
    ptr = parsed.ptr;
    ec = version < 1 ? std::errc::invalid_argument : parsed.ec;
  }
  if (ec != std::errc{} || ptr != end || id < 1) {
    c.metrics->set.Add(0, c.metrics->invalidations_ignored);
    return;
  }
  c.metrics->set.Add(0, c.metrics->invalidations_received);
  c.local.Invalidate(id, Clock::now() + c.options.tombstone_ttl, version);
  c.flights.Forget(id);
}

void UserCache::SetInvalidationFeed(bool live) {
  Impl& c = *impl_;
  if (live) {
    // Generation first: a lookup that began while the feed was down must not get the long
    // life because the feed came back before it filled.
    c.feed_generation.fetch_add(1, std::memory_order_acq_rel);
    c.feed_live.store(true, std::memory_order_release);
  } else {
    c.feed_live.store(false, std::memory_order_release);
    c.feed_generation.fetch_add(1, std::memory_order_acq_rel);
    c.local.CapExpiry(Clock::now() + c.options.local_ttl_degraded);
  }
  c.metrics->set.Set(0, c.metrics->feed_up, live ? 1 : 0);
}

bool UserCache::invalidation_feed_live() const {
  return impl_->feed_live.load(std::memory_order_acquire);
}
UserCache::~UserCache() = default;

void UserCache::SetRedis(std::size_t worker, redis::RedisClient* client) {
  impl_->clients.at(worker) = client;
}

std::optional<CachedUserPtr> UserCache::Peek(std::size_t worker, std::int64_t id) {
  Impl& c = *impl_;
  CachedUserPtr entry;
  if (c.local.Get(id, Clock::now(), entry) != cache::LocalCache<CachedUserPtr>::Found::kValue) {
    return std::nullopt;
  }
  c.metrics->Local(worker, entry ? CacheMetrics::kHit : CacheMetrics::kNegativeHit);
  return entry;
}

asio::awaitable<StoreResult<CachedUserPtr>> UserCache::Get(std::size_t worker, std::int64_t id,
                                                           Load load, Clock::time_point deadline) {
  Impl& c = *impl_;
  CachedUserPtr entry;
  std::int64_t floor = 0;
  const auto found = c.local.Get(id, Clock::now(), entry, &floor);
  bool bypass_redis = false;
  if (found == cache::LocalCache<CachedUserPtr>::Found::kValue) {
    c.metrics->Local(worker, entry ? CacheMetrics::kHit : CacheMetrics::kNegativeHit);
  } else {
    if (c.local.enabled()) {
      c.metrics->Local(worker, found == cache::LocalCache<CachedUserPtr>::Found::kTombstone
                                   ? CacheMetrics::kBypass
                                   : CacheMetrics::kMiss);
    }
    const bool tombstone = found == cache::LocalCache<CachedUserPtr>::Found::kTombstone;
    const std::int64_t min_version = tombstone ? floor : 0;
    bypass_redis = min_version == cache::LocalCache<CachedUserPtr>::kNoFill || c.IsDeferred(id);
    const cache::SingleFlight<Lookup>::Load run = [&c, worker, id, &load, deadline, bypass_redis,
                                                   min_version]() {
      return c.LoadThrough(worker, id, load, deadline, bypass_redis, min_version);
    };
    Lookup abandoned = core::Unexpected<StoreError>{
        StoreError{StoreFailure::kDatabase,
                   db::DbError{db::DbErrorKind::kCancelled, {}, "the load was abandoned"}}};
    const std::function<void()> count_wait = [&c, worker] {
      c.metrics->set.Add(worker, c.metrics->load_waits);
    };
    auto result = co_await c.flights.Run(id, run, std::move(abandoned), nullptr, count_wait);
    if (!result) co_return core::Unexpected<StoreError>{std::move(result).error()};
    entry = std::move(*result);
  }
  if (!entry) {
    co_return core::Unexpected<StoreError>{StoreError{StoreFailure::kNotFound, {}}};
  }
  co_return entry;
}

asio::awaitable<void> UserCache::Impl::Announce(std::size_t worker, std::int64_t id,
                                                const redis::Script& script,
                                                std::vector<std::string> args,
                                                Clock::time_point deadline) {
  redis::RedisClient* client = clients[worker];
  if (client == nullptr) co_return;
  bool done = false;
  if (client->up()) {
    std::vector<std::string> keys{UserCacheKey(id, options.key_prefix)};
    const auto started = Clock::now();
    auto reply = co_await client->Eval(script, std::move(keys), std::move(args), deadline);
    metrics->Time(worker, CacheMetrics::kInvalidate, Since(started));
    done = reply && reply->IsOk();
  }
  if (done) {
    metrics->set.Add(worker, metrics->invalidated);
  } else {
    // The replay tombstones Redis and tells the other instances (Replay()).
    metrics->set.Add(worker, metrics->deferred);
    Defer(id);
  }
}

asio::awaitable<void> UserCache::Invalidate(std::size_t worker, std::int64_t id,
                                            Clock::time_point deadline) {
  Impl& c = *impl_;
  c.local.Invalidate(id, Clock::now() + c.options.tombstone_ttl);
  c.flights.Forget(id);
  std::vector<std::string> args{std::string(kValuePrefix) + std::string(kTombstone),
                                std::to_string(c.options.tombstone_ttl.count()), c.channel,
                                std::to_string(id)};
  co_await c.Announce(worker, id, kInvalidate, std::move(args), deadline);
}

asio::awaitable<void> UserCache::Refresh(std::size_t worker, const CachedUserPtr& user,
                                         Clock::time_point deadline) {
  Impl& c = *impl_;
  const std::int64_t id = user->user.id;
  const std::string version = std::to_string(user->user.version);
  c.flights.Forget(id);  // a load in flight may bring the old row
  c.FillLocal(id, user, c.Generation());
  const auto ttl = std::chrono::duration_cast<std::chrono::milliseconds>(
      Jittered(c.options.ttl, c.options.jitter));
  std::vector<std::string> args{EncodeCachedUser(user.get()),
                                version,
                                c.channel,
                                std::to_string(id) + ':' + version,
                                std::string(kValuePrefix) + std::string(kTombstone),
                                std::to_string(std::max<long long>(1, ttl.count()))};
  co_await c.Announce(worker, id, kRefresh, std::move(args), deadline);
}

redis::ClientOptions::Setup UserCache::Replay() {
  redis::ClientOptions::Setup setup;
  if (impl_->deferred_count.load(std::memory_order_relaxed) == 0) return setup;
  Impl& c = *impl_;
  const std::string tombstone = std::string(kValuePrefix) + std::string(kTombstone);
  const std::string px = std::to_string(c.options.tombstone_ttl.count());
  std::lock_guard lock(c.deferred_mutex);
  const auto now = Clock::now();
  std::erase_if(c.deferred, [now](const auto& e) { return e.second.until <= now; });
  c.CountDeferred();
  setup.commands.reserve(c.deferred.size());
  for (const auto& [id, entry] : c.deferred) {
    setup.commands.emplace_back("SET", UserCacheKey(id, c.options.key_prefix), tombstone, "PX", px);
    setup.commands.emplace_back("PUBLISH", c.channel, std::to_string(id));
  }
  setup.done = [impl = impl_, sent = c.deferred_sequence] {
    std::lock_guard relock(impl->deferred_mutex);
    std::erase_if(impl->deferred, [sent](const auto& e) { return e.second.sequence <= sent; });
    impl->CountDeferred();
  };
  return setup;
}

std::size_t UserCache::local_size() const { return impl_->local.size(); }

}  // namespace myriad::users

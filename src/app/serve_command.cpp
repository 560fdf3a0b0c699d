#include "app/serve_command.hpp"

#include <spdlog/spdlog.h>
#include <sys/resource.h>

#include <atomic>
#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/signal_set.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <future>
#include <optional>
#include <thread>

#include "accounts/access.hpp"
#include "accounts/account_store.hpp"
#include "accounts/accounts_api.hpp"
#include "accounts/login_guard.hpp"
#include "app/migrate_command.hpp"
#include "auth/authenticator.hpp"
#include "auth/hasher_metrics.hpp"
#include "auth/password.hpp"
#include "auth/signing_keys.hpp"
#include "cache/cache_metrics.hpp"
#include "core/build_info.hpp"
#include "db/db_metrics.hpp"
#include "db/pg_pool.hpp"
#include "health/health_api.hpp"
#include "http/access_log.hpp"
#include "http/server.hpp"
#include "log/log.hpp"
#include "metrics/registry.hpp"
#include "ratelimit/rate_limiter.hpp"
#include "redis/redis_client.hpp"
#include "redis/redis_metrics.hpp"
#include "redis/redis_subscriber.hpp"
#include "users/list_query.hpp"
#include "users/search_index.hpp"
#include "users/user_cache.hpp"
#include "users/user_store.hpp"
#include "users/users_api.hpp"

namespace myriad::app {
namespace {

// Descriptors the process needs besides client sockets: listeners, logs, /proc reads,
// and later database and Redis connections.
constexpr unsigned long kReservedDescriptors = 256;

http::ServerOptions ToServerOptions(const config::ServeSettings& s) {
  http::ServerOptions o;
  o.host = s.listen.host;
  o.port = s.listen.port;
  o.threads = s.threads != 0 ? s.threads : std::max(1U, std::thread::hardware_concurrency());
  o.max_connections = s.max_connections;
  o.max_connections_per_ip = s.max_connections_per_ip;
  o.trusted_proxies = s.trusted_proxies;
  o.cors_origins = s.cors_origins;
  o.max_concurrency = s.max_concurrency;
  o.max_header_bytes = s.max_header_bytes;
  o.max_body_bytes = s.max_body_bytes;
  o.header_timeout = s.header_timeout;
  o.body_timeout = s.body_timeout;
  o.idle_timeout = s.idle_timeout;
  o.write_timeout = s.write_timeout;
  o.retry_after = s.retry_after;
  o.request_timeout = s.request_timeout;
  return o;
}

// Used when --cursor-secret is not set: cursors are still checked for tampering, but anyone
// who reads this source can mint one (harmless: a cursor only names a position).
constexpr std::string_view kDefaultCursorSecret = "myriad-default-cursor-secret";

// Logins per client address unless --rate-limit-groups says otherwise: password guessing
// from one address is throttled harder than other routes.
constexpr ratelimit::Limit kLoginLimit{10, 20};

constexpr auto kProbeInterval = std::chrono::seconds(1);
const db::Statement kProbe{"ready_probe", "SELECT 1"};

std::size_t CeilDiv(std::size_t a, std::size_t b) { return (a + b - 1) / b; }

// `SELECT 1` every second on io thread 0's pool; /api/ready reads the outcome.
struct ProbeControl {
  explicit ProbeControl(const boost::asio::any_io_executor& ex) : timer(ex) {}
  boost::asio::steady_timer timer;
  bool stopped = false;
};

boost::asio::awaitable<void> ProbeDatabase(db::PgPool& pool, std::shared_ptr<ProbeControl> control,
                                           std::atomic<bool>& up) {
  namespace asio = boost::asio;
  for (;;) {
    const auto deadline = db::PgPool::Clock::now() + kProbeInterval;
    db::Params none;  // named: GCC 12 miscompiles braced temporaries inside co_await
    auto result = co_await pool.Query(kProbe, std::move(none), deadline);
    // The pool may be gone by now (the worker drained): touch nothing but the control block.
    if (control->stopped) co_return;
    up.store(result.has_value(), std::memory_order_relaxed);
    control->timer.expires_after(kProbeInterval);
    (void)co_await control->timer.async_wait(asio::as_tuple(asio::use_awaitable));
    if (control->stopped) co_return;
  }
}

// Each io thread's share of the database and Redis: its pool, its Redis client (when
// configured) and, on thread 0, the database probe.
class AppWorker final : public http::WorkerServices {
 public:
  AppWorker(const boost::asio::any_io_executor& ex, db::PoolOptions options,
            std::atomic<bool>* probe_up, std::optional<redis::ClientOptions> redis,
            std::optional<redis::SubscriberOptions> subscription)
      : pool_(ex, std::move(options)) {
    if (redis) redis_.emplace(ex, std::move(*redis));
    if (subscription) subscriber_.emplace(ex, std::move(*subscription));
    if (probe_up != nullptr) {
      probe_ = std::make_shared<ProbeControl>(ex);
      boost::asio::co_spawn(ex, ProbeDatabase(pool_, probe_, *probe_up), boost::asio::detached);
    }
  }
  ~AppWorker() override {
    if (probe_) {
      probe_->stopped = true;
      probe_->timer.cancel();
    }
  }
  AppWorker(const AppWorker&) = delete;
  AppWorker& operator=(const AppWorker&) = delete;
  db::PgPool& pool() { return pool_; }
  redis::RedisClient* redis() { return redis_ ? &*redis_ : nullptr; }
  void StartSearchIndexFlusher(const boost::asio::any_io_executor& ex, db::PoolOptions pool,
                               users::SearchIndexFlusherOptions options,
                               std::shared_ptr<users::SearchIndexMetrics> metrics) {
    flusher_.emplace(ex, std::move(pool), options, std::move(metrics));
  }

 private:
  db::PgPool pool_;
  std::optional<users::SearchIndexFlusher> flusher_;  // on thread 0
  std::optional<redis::RedisClient> redis_;
  std::optional<redis::RedisSubscriber> subscriber_;  // the cache's invalidation feed
  std::shared_ptr<ProbeControl> probe_;
};

users::UserCacheOptions ToCacheOptions(const config::ServeSettings& s) {
  users::UserCacheOptions o;
  o.key_prefix = s.redis.key_prefix;
  o.ttl = s.cache.ttl;
  o.negative_ttl = s.cache.negative_ttl;
  o.local_entries = s.cache.local_entries;
  o.local_ttl = s.cache.local_ttl;
  o.local_ttl_degraded = s.cache.local_ttl_degraded;
  // A load that began before a write can finish as late as the request's deadline: the
  // tombstone must outlive it.
  o.tombstone_ttl =
      std::max<std::chrono::milliseconds>(2 * s.request_timeout, std::chrono::seconds(5));
  return o;
}

auth::HashCost ToHashCost(const config::AuthSettings& s) {
  auth::HashCost cost;
  cost.passes = s.hash_passes;
  cost.memory_bytes = s.hash_memory_kib * 1024;
  return cost;
}

// Also registers the pool's metrics, which must exist before the hasher that writes them.
auth::PasswordHasherOptions ToHasherOptions(const config::AuthSettings& s,
                                            metrics::Registry& registry) {
  auth::PasswordHasherOptions o;
  o.threads = s.hash_threads;
  o.queue = s.hash_queue;
  o.queue_timeout = s.hash_queue_timeout;
  o.cost = ToHashCost(s);
  o.metrics = std::make_shared<auth::HasherMetrics>(s.hash_threads);
  registry.Add(o.metrics->Collectable());
  return o;
}

accounts::LockoutPolicy ToLockoutPolicy(const config::AuthSettings& s) {
  accounts::LockoutPolicy p;
  p.free_failures = s.login_free_failures;
  p.first_lockout = std::chrono::duration_cast<std::chrono::seconds>(s.login_lockout);
  p.max_lockout = std::chrono::duration_cast<std::chrono::seconds>(
      std::max(s.login_lockout, s.login_lockout_max));
  p.window = p.max_lockout;
  return p;
}

auth::Authenticator::Options ToAuthenticatorOptions(const config::AuthSettings& s) {
  auth::Authenticator::Options o;
  o.issuer = s.issuer;
  o.audience = s.audience;
  o.access_ttl = std::chrono::duration_cast<std::chrono::seconds>(s.access_ttl);
  return o;
}

// The signing keys (a start-up error throws): the files given, or in development a key
// made now, which dies with the process.
auth::KeySet LoadKeys(const config::AuthSettings& s) {
  if (s.production && s.insecure_anonymous_user != 0) {
    throw std::runtime_error(
        "--insecure-anonymous-user lets anybody act as a user without logging in: it is for "
        "development benchmarks and refused with --environment production");
  }
  if (s.insecure_anonymous_user != 0) {
    spdlog::warn(
        "--insecure-anonymous-user {}: requests without credentials act as that user "
        "(development benchmarks only)",
        s.insecure_anonymous_user);
  }
  std::vector<auth::SigningKey> keys;
  for (const auto& path : s.key_files) {
    auto key = auth::LoadKeyFile(path);
    if (!key) throw std::runtime_error("--jwt-key-files: " + key.error());
    keys.push_back(std::move(*key));
  }
  if (keys.empty()) {
    if (s.production) {
      throw std::runtime_error(
          "--environment production needs --jwt-key-files (create one with `myriad keygen "
          "--out FILE`)");
    }
    auto key = auth::SigningKey::Generate("ephemeral");
    if (!key) throw std::runtime_error("cannot make a signing key: " + key.error());
    spdlog::warn(
        "no --jwt-key-files: signing access tokens with a key made at start; tokens stop "
        "working when this process exits, and other instances reject them (development only)");
    keys.push_back(std::move(*key));
  }
  auto set = auth::KeySet::Create(std::move(keys));
  if (!set) throw std::runtime_error("--jwt-key-files: " + set.error());
  return std::move(*set);
}

std::vector<std::string> StatementNames() {
  auto names = users::UserStore::StatementNames();
  for (auto& name : accounts::AccountStore::StatementNames()) names.push_back(std::move(name));
  return names;
}

ratelimit::RateLimitOptions ToRateLimitOptions(const config::ServeSettings& s) {
  ratelimit::RateLimitOptions o;
  o.enabled = s.rate_limit.enabled;
  o.default_limit = s.rate_limit.default_limit;
  o.groups = s.rate_limit.groups;
  o.groups.try_emplace("auth-login", kLoginLimit);
  o.trusted_proxies = s.trusted_proxies;
  o.key_prefix = s.redis.key_prefix;
  return o;
}

accounts::AccessControl::Options ToAccessOptions(const config::ServeSettings& s) {
  accounts::AccessControl::Options o;
  o.statement_timeout = s.pool.statement_timeout;
  if (s.auth.insecure_anonymous_user != 0)
    o.insecure_anonymous_user = s.auth.insecure_anonymous_user;
  return o;
}

std::string HostForUrl(const std::string& host) {
  return host.find(':') != std::string::npos ? "[" + host + "]" : host;
}

// The database-backed part of the service: a pool (and a Redis client, when configured)
// per io thread, the user cache, the rate limits and the users routes. Built before the
// server and destroyed after it.
class Backends {
 public:
  Backends(const config::ServeSettings& settings, unsigned threads, metrics::Registry& registry,
           health::Readiness& readiness)
      : settings_(settings),
        threads_(threads),
        pools_(threads, nullptr),
        cursors_(settings.cursor_secret.empty() ? kDefaultCursorSecret : settings.cursor_secret),
        hasher_(ToHasherOptions(settings.auth, registry)),
        authenticator_(LoadKeys(settings.auth), ToAuthenticatorOptions(settings.auth), threads),
        guard_(ToLockoutPolicy(settings.auth), settings.redis.key_prefix, threads),
        limiter_(ToRateLimitOptions(settings), threads, threads) {
    SetUpDatabase(registry, readiness);
    if (settings.cache.enabled) SetUpCache(registry);
    if (limiter_.enabled()) registry.Add(limiter_.Collectable());
    registry.Add(guard_.Collectable());
    if (!settings.redis.url.empty()) SetUpRedis(registry, readiness);
  }
  Backends(const Backends&) = delete;
  Backends& operator=(const Backends&) = delete;

  void RegisterRoutes(http::Routes& routes) {
    users::UsersApi::Options users;
    users.statement_timeout = settings_.pool.statement_timeout;
    users.trusted_proxies = settings_.trusted_proxies;
    const accounts::AccessControl access(authenticator_, pools_, cache_.get(),
                                         limiter_.enabled() ? &limiter_ : nullptr,
                                         ToAccessOptions(settings_));
    users::UsersApi(pools_, cursors_, hasher_, std::move(users), cache_.get(), access)
        .Register(routes);
    accounts::AccountsApi::Options accounts;
    accounts.statement_timeout = settings_.pool.statement_timeout;
    accounts.refresh_ttl =
        std::chrono::duration_cast<std::chrono::seconds>(settings_.auth.refresh_ttl);
    accounts.trusted_proxies = settings_.trusted_proxies;
    accounts::AccountsApi(pools_, hasher_, authenticator_, guard_, std::move(accounts),
                          cache_.get(), access)
        .Register(routes);
  }

  // Each io thread's pool and Redis client, handed to the cache and the limiter as well.
  http::WorkerInit WorkerInit() {
    return [this](std::size_t index,
                  boost::asio::any_io_executor ex) -> std::unique_ptr<http::WorkerServices> {
      db::PoolOptions pool = pool_options_;
      pool.metrics_shard = index;
      pool.write_metrics_shard = threads_ + index;
      std::optional<redis::ClientOptions> redis;
      if (redis_metrics_) {
        redis = redis_options_;
        redis->metrics_shard = index;
      }
      std::optional<redis::SubscriberOptions> subscription;
      if (index == 0 && subscription_) subscription = subscription_;
      auto worker =
          std::make_unique<AppWorker>(ex, std::move(pool), index == 0 ? &database_up_ : nullptr,
                                      std::move(redis), std::move(subscription));
      pools_[index] = &worker->pool();
      if (index == 0 && settings_.search_index_flush > std::chrono::milliseconds::zero()) {
        // A connection of its own, outside the request pool and its metrics.
        db::PoolOptions flusher_pool = pool_options_;
        flusher_pool.size = 1;
        flusher_pool.max_overflow = 0;
        flusher_pool.write_connections = 0;
        flusher_pool.metrics = nullptr;
        users::SearchIndexFlusherOptions flusher;
        flusher.interval = settings_.search_index_flush;
        worker->StartSearchIndexFlusher(ex, std::move(flusher_pool), flusher,
                                        search_index_metrics_);
      }
      if (cache_) cache_->SetRedis(index, worker->redis());
      limiter_.SetRedis(index, worker->redis());
      guard_.SetRedis(index, worker->redis());
      return worker;
    };
  }

  void LogSetup() const {
    spdlog::info(
        "database pool: {} connection(s) per io thread ({} in all), overflow {} per thread, "
        "plus {} per thread for writes and transactions, pipeline depth {}, prepared "
        "statements {}",
        pool_options_.size, pool_options_.size * threads_, pool_options_.max_overflow,
        pool_options_.write_connections, pool_options_.max_pipeline_depth,
        pool_options_.connect.prepared ? "on" : "off");
    if (settings_.search_index_flush > std::chrono::milliseconds::zero()) {
      spdlog::info("search index: pending list flushed every {} ms on a connection of its own",
                   settings_.search_index_flush.count());
    }
    if (redis_metrics_) {
      spdlog::info("redis: {} ({} connection(s) per io thread, timeout {} ms)",
                   redis::Describe(settings_.redis.endpoint), redis_options_.connections,
                   settings_.redis.timeout.count());
    } else {
      spdlog::info(
          "no Redis configured (--redis-url / MYRIAD_REDIS_URL): in-process cache and local "
          "rate limits only");
    }
    spdlog::info("user cache: {}; rate limits: {}", cache_ ? "on" : "off (--cache off)",
                 limiter_.enabled() ? "on" : "off (--rate-limit off)");
  }

  void Stop() { hasher_.Stop(); }

 private:
  void SetUpDatabase(metrics::Registry& registry, health::Readiness& readiness) {
    const auto& s = settings_;
    pool_options_.connect.conninfo = s.database.url;
    pool_options_.connect.prepared = s.pool.prepared_statements;
    pool_options_.size = std::max<std::size_t>(1, CeilDiv(s.pool.size, threads_));
    pool_options_.max_overflow = CeilDiv(s.pool.max_overflow, threads_);
    pool_options_.max_pipeline_depth = s.pool.pipeline_depth;
    pool_options_.acquire_timeout = s.pool.timeout;
    pool_options_.connect_timeout = s.database.connect_timeout;
    // One more per io thread for writes and transactions, so that a commit waiting for its
    // fsync never holds up the reads pipelined on the thread's connections (PoolOptions).
    pool_options_.write_connections = CeilDiv(s.pool.write_connections, threads_);
    // Shards 0..threads-1: the io threads' pools; threads..2*threads-1: their write pools.
    auto db_metrics = std::make_shared<db::DbMetrics>(
        2 * threads_, StatementNames(),
        (pool_options_.size + pool_options_.write_connections) * threads_);
    pool_options_.metrics = db_metrics;
    registry.Add(db_metrics->Collectable());
    if (s.search_index_flush > std::chrono::milliseconds::zero()) {
      search_index_metrics_ = std::make_shared<users::SearchIndexMetrics>();
      registry.Add(search_index_metrics_->Collectable());
    }
    readiness.AddCheck({"database", [this] {
                          return database_up_.load(std::memory_order_relaxed)
                                     ? health::Readiness::State::kUp
                                     : health::Readiness::State::kDown;
                        }});
  }

  void SetUpCache(metrics::Registry& registry) {
    auto cache_metrics = std::make_shared<cache::CacheMetrics>("user", threads_);
    registry.Add(cache_metrics->set.Collectable());
    cache_ = std::make_unique<users::UserCache>(ToCacheOptions(settings_), threads_,
                                                std::move(cache_metrics));
    registry.AddCallbackGauge(
        "myriad_cache_local_entries", "Users held in the in-process cache.",
        [cache = cache_.get()] { return static_cast<double>(cache->local_size()); });
  }

  void SetUpRedis(metrics::Registry& registry, health::Readiness& readiness) {
    const auto& s = settings_.redis;
    redis_metrics_ = std::make_shared<redis::RedisMetrics>(threads_);
    registry.Add(redis_metrics_->set.Collectable());
    redis_options_.endpoint = s.endpoint;
    redis_options_.connections = std::max<std::size_t>(1, CeilDiv(s.max_connections, threads_));
    redis_options_.command_timeout = s.timeout;
    redis_options_.connect_timeout = s.connect_timeout;
    redis_options_.scripts = {&ratelimit::RateLimiter::BucketScript(),
                              &accounts::LoginGuard::Script()};
    if (cache_) {
      for (const auto* script : users::UserCache::Scripts())
        redis_options_.scripts.push_back(script);
      redis_options_.on_connect = [cache = cache_.get()] { return cache->Replay(); };
      SetUpInvalidationFeed();
    }
    redis_options_.metrics = redis_metrics_;
    // Redis down is degraded, not unready: reads go to the database meanwhile.
    readiness.AddCheck({"cache", [m = redis_metrics_.get(), cache = cache_.get()] {
                          const bool up = m->set.Sum(m->down) == 0 &&
                                          (cache == nullptr || cache->invalidation_feed_live());
                          return up ? health::Readiness::State::kUp
                                    : health::Readiness::State::kDegraded;
                        }});
  }

  // One subscription per process (on io thread 0) carries every instance's writes to this
  // one's in-process cache; UserCache decides how long entries live from its state.
  void SetUpInvalidationFeed() {
    const auto& s = settings_.redis;
    redis::SubscriberOptions o;
    o.endpoint = s.endpoint;
    o.channel = users::UserCache::InvalidationChannel(s.key_prefix);
    // Losing the feed cuts every local entry short, so a PING late by a busy moment should
    // not count as a loss: at least a second.
    o.command_timeout = std::max(s.timeout, std::chrono::milliseconds{1'000});
    o.connect_timeout = s.connect_timeout;
    o.on_message = [cache = cache_.get()](std::string_view id) { cache->OnInvalidation(id); };
    o.on_state = [cache = cache_.get()](bool live) { cache->SetInvalidationFeed(live); };
    subscription_ = std::move(o);
  }

  const config::ServeSettings& settings_;
  unsigned threads_;
  std::vector<db::PgPool*> pools_;  // filled in as the server creates its workers
  std::atomic<bool> database_up_{false};
  db::PoolOptions pool_options_;
  std::shared_ptr<users::SearchIndexMetrics> search_index_metrics_;  // with the flusher
  users::CursorCodec cursors_;
  auth::PasswordHasher hasher_;
  auth::Authenticator authenticator_;
  accounts::LoginGuard guard_;
  std::unique_ptr<users::UserCache> cache_;
  ratelimit::RateLimiter limiter_;
  std::shared_ptr<redis::RedisMetrics> redis_metrics_;  // null without Redis
  redis::ClientOptions redis_options_;
  std::optional<redis::SubscriberOptions> subscription_;  // set with Redis and the cache
};

}  // namespace

unsigned long RaiseOpenFilesLimit() {
  rlimit limit{};
  if (getrlimit(RLIMIT_NOFILE, &limit) != 0) return 0;
  if (limit.rlim_cur < limit.rlim_max) {
    rlimit raised = limit;
    raised.rlim_cur = limit.rlim_max;
    if (setrlimit(RLIMIT_NOFILE, &raised) == 0) limit = raised;
  }
  return static_cast<unsigned long>(limit.rlim_cur);
}

int RunServe(const config::ServeSettings& settings) {
  const auto format =
      settings.log_format == config::LogFormat::kJson ? log::Format::kJson : log::Format::kText;
  log::Init(settings.log_level, format);
  std::signal(SIGPIPE, SIG_IGN);

  const unsigned long files = RaiseOpenFilesLimit();
  if (files < settings.max_connections + kReservedDescriptors) {
    spdlog::warn(
        "open-files limit is {} but --max-connections {} needs about {}; connections beyond "
        "the limit will fail to be accepted (raise the hard limit: ulimit -Hn)",
        files, settings.max_connections, settings.max_connections + kReservedDescriptors);
  }

  const auto options = ToServerOptions(settings);
  const bool with_database = !settings.database.url.empty();
  if (settings.migrate) {
    if (!with_database) {
      spdlog::critical("--migrate needs --database-url (MYRIAD_DATABASE_URL)");
      return 1;
    }
    config::MigrateSettings migrate{settings.database, settings.migrations_dir, false};
    const int migrated = RunMigrate(migrate);
    std::fflush(stdout);
    if (migrated != 0) return 1;
  }

  metrics::Registry registry;
  registry.AddProcessMetrics();
  health::Readiness readiness;
  http::Routes routes;
  health::RegisterHealthRoutes(routes, readiness, registry);

  std::optional<Backends> backends;
  if (with_database) {
    backends.emplace(settings, options.threads, registry, readiness);
    backends->RegisterRoutes(routes);
  } else {
    spdlog::warn(
        "no database configured (--database-url / MYRIAD_DATABASE_URL): serving health and "
        "metrics only, /api/users answers 404");
    if (!settings.redis.url.empty()) {
      spdlog::warn("--redis-url is ignored without a database: nothing to cache or limit");
    }
  }

  std::unique_ptr<http::AccessLog> access_log;
  try {
    access_log = std::make_unique<http::AccessLog>(settings.access_log, format);
  } catch (const std::exception& e) {
    spdlog::critical("--access-log {}: {}", settings.access_log, e.what());
    return 1;
  }

  // Signals are claimed before the listeners open: a SIGTERM that arrives as soon as the
  // port answers must drain, not kill.
  boost::asio::io_context signals_ctx(1);
  boost::asio::signal_set signals(signals_ctx, SIGINT, SIGTERM);
  std::promise<void> first_signal;

  http::Server server(options, routes, registry, access_log.get());
  if (backends) server.SetWorkerInit(backends->WorkerInit());
  try {
    server.Start();
  } catch (const std::exception& e) {
    spdlog::critical("cannot start: {}", e.what());
    return 1;
  }
  const auto& build = core::GetBuildInfo();
  spdlog::info("myriad {} listening on http://{}:{} ({} io threads, max {} connections)",
               build.version, HostForUrl(options.host), server.port(), options.threads,
               options.max_connections);
  if (backends) backends->LogSetup();

  signals.async_wait([&](const boost::system::error_code& ec, int signo) {
    if (ec) return;
    spdlog::info("signal {}: draining (up to {} ms); a second signal exits at once", signo,
                 settings.shutdown_timeout.count());
    readiness.SetDraining();
    server.Shutdown();
    first_signal.set_value();
    signals.async_wait([](const boost::system::error_code& ec2, int signo2) {
      if (ec2) return;
      spdlog::warn("second signal {}: exiting now", signo2);
      spdlog::default_logger()->flush();
      std::_Exit(128 + signo2);
    });
  });
  std::thread signal_thread([&] { signals_ctx.run(); });

  first_signal.get_future().wait();
  const bool drained = server.Wait(settings.shutdown_timeout);
  if (drained) {
    spdlog::info("drained; exiting");
  } else {
    spdlog::warn("shutdown timeout ({} ms) reached with {} connections open; closed them",
                 settings.shutdown_timeout.count(), server.open_connections());
  }
  signals_ctx.stop();
  signal_thread.join();
  if (backends) backends->Stop();
  if (access_log) access_log->Flush();
  log::Shutdown();
  return 0;
}

}  // namespace myriad::app

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
#include <thread>

#include "app/migrate_command.hpp"
#include "auth/password.hpp"
#include "core/build_info.hpp"
#include "db/db_metrics.hpp"
#include "db/pg_pool.hpp"
#include "health/health_api.hpp"
#include "http/access_log.hpp"
#include "http/server.hpp"
#include "log/log.hpp"
#include "metrics/registry.hpp"
#include "users/list_query.hpp"
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

// Password hashes for POST/PATCH /api/users; the accounts issue makes these settings.
constexpr std::size_t kHashThreads = 1;
constexpr std::size_t kHashQueue = 64;

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

// Each io thread's share of the database: its pool (and, on thread 0, the probe).
class AppWorker final : public http::WorkerServices {
 public:
  AppWorker(boost::asio::any_io_executor ex, db::PoolOptions options, std::atomic<bool>* probe_up)
      : pool_(ex, std::move(options)) {
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

 private:
  db::PgPool pool_;
  std::shared_ptr<ProbeControl> probe_;
};

std::string HostForUrl(const std::string& host) {
  return host.find(':') != std::string::npos ? "[" + host + "]" : host;
}

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

  // The database: one pool per io thread, filled in as the server creates its workers.
  std::vector<db::PgPool*> pools(options.threads, nullptr);
  std::atomic<bool> database_up{false};
  std::shared_ptr<db::DbMetrics> db_metrics;
  db::PoolOptions pool_options;
  const users::CursorCodec cursors(settings.cursor_secret.empty() ? kDefaultCursorSecret
                                                                  : settings.cursor_secret);
  auth::PasswordHasher hasher(kHashThreads, kHashQueue);
  if (with_database) {
    pool_options.connect.conninfo = settings.database.url;
    pool_options.connect.prepared = settings.pool.prepared_statements;
    pool_options.size = std::max<std::size_t>(1, CeilDiv(settings.pool.size, options.threads));
    pool_options.max_overflow = CeilDiv(settings.pool.max_overflow, options.threads);
    pool_options.max_pipeline_depth = settings.pool.pipeline_depth;
    pool_options.acquire_timeout = settings.pool.timeout;
    pool_options.connect_timeout = settings.database.connect_timeout;
    db_metrics = std::make_shared<db::DbMetrics>(
        options.threads, users::UserStore::StatementNames(), pool_options.size * options.threads);
    pool_options.metrics = db_metrics;
    registry.Add(db_metrics->Collectable());
    readiness.AddCheck({"database", [&database_up] {
                          return database_up.load(std::memory_order_relaxed)
                                     ? health::Readiness::State::kUp
                                     : health::Readiness::State::kDown;
                        }});
    users::UsersApi(pools, cursors, hasher, {settings.pool.statement_timeout}).Register(routes);
  } else {
    spdlog::warn(
        "no database configured (--database-url / MYRIAD_DATABASE_URL): serving health and "
        "metrics only, /api/users answers 404");
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
  if (with_database) {
    server.SetWorkerInit(
        [&](std::size_t index,
            boost::asio::any_io_executor ex) -> std::unique_ptr<http::WorkerServices> {
          db::PoolOptions mine = pool_options;
          mine.metrics_shard = index;
          auto worker =
              std::make_unique<AppWorker>(ex, std::move(mine), index == 0 ? &database_up : nullptr);
          pools[index] = &worker->pool();
          return worker;
        });
  }
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
  if (with_database) {
    spdlog::info(
        "database pool: {} connection(s) per io thread ({} in all), overflow {} per thread, "
        "pipeline depth {}, prepared statements {}",
        pool_options.size, pool_options.size * options.threads, pool_options.max_overflow,
        pool_options.max_pipeline_depth, pool_options.connect.prepared ? "on" : "off");
  }

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
  hasher.Stop();
  if (access_log) access_log->Flush();
  log::Shutdown();
  return 0;
}

}  // namespace myriad::app

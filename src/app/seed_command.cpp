#include "app/seed_command.hpp"

#include <fmt/core.h>
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <algorithm>
#include <array>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <chrono>
#include <cstdio>
#include <exception>
#include <optional>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

#include "app/run_loop.hpp"
#include "auth/password.hpp"
#include "core/clock.hpp"
#include "core/result.hpp"
#include "db/pg_connection.hpp"
#include "db/user_seeder.hpp"
#include "users/search_index.hpp"

namespace myriad::app {
namespace {

namespace asio = boost::asio;
using Clock = db::PgConnection::Clock;
using StepResult = core::Result<void, std::string>;

// Loading 1M rows takes seconds; the limit only stops a stuck server from hanging us.
constexpr auto kCopyTimeout = std::chrono::hours(1);
// The search index keeps new entries in its pending list (migrations/0005), which a bulk
// load fills and PostgreSQL merges 64 MB at a time (1M users in about 25 s, against 120 s
// one row at a time). The last part is merged before the seed returns, after a failed COPY
// too: a running server flushes it anyway, but a search should not pay for it meanwhile.
class Progress {
 public:
  Progress(std::int64_t total, bool terminal) : total_(total), terminal_(terminal) {}

  void Add(std::int64_t rows) {
    done_ += rows;
    if (terminal_) {
      const auto now = core::SteadyNow();
      if (now - last_draw_ < std::chrono::milliseconds(100) && done_ < total_) return;
      last_draw_ = now;
      constexpr int kWidth = 40;
      const auto filled = static_cast<int>(kWidth * done_ / total_);
      fmt::print("\r[{:<{}}] {:>3}% {}/{}", std::string(static_cast<std::size_t>(filled), '#'),
                 kWidth, 100 * done_ / total_, done_, total_);
      std::fflush(stdout);
      return;
    }
    // Plain lines for logs and pipes: one per 10%.
    const std::int64_t tenth = 10 * done_ / total_;
    if (tenth > last_tenth_) {
      last_tenth_ = tenth;
      fmt::print("seeded {}/{} users ({}%)\n", done_, total_, 100 * done_ / total_);
      std::fflush(stdout);
    }
  }
  void Finish() const {
    if (terminal_) fmt::print("\n");
  }

 private:
  std::int64_t total_;
  bool terminal_;
  std::int64_t done_ = 0;
  std::int64_t last_tenth_ = 0;
  Clock::time_point last_draw_{};
};

asio::awaitable<db::DbResult<db::PgConnection>> Open(asio::any_io_executor executor,
                                                     const SeedSettings& settings) {
  db::ConnectOptions options;
  options.conninfo = settings.database.url;
  const auto deadline = Clock::now() + settings.database.connect_timeout;
  co_return co_await db::PgConnection::Connect(std::move(executor), options, deadline);
}

// Runs one statement on the loop; prints why it failed.
bool Execute(asio::io_context& io, db::PgConnection& connection, std::string_view sql) {
  auto done = RunLoop(io,
                      [](db::PgConnection& c,
                         std::string_view text) -> asio::awaitable<db::DbResult<db::PgResult>> {
                        co_return co_await c.Query(text, {}, Clock::now() + kCopyTimeout);
                      }(connection, sql));
  if (done && *done) return true;
  fmt::print(stderr, "myriad seed: {} failed: {}\n", sql,
             done ? done->error().message : std::string("did not finish"));
  return false;
}

// Opens the connections and checks the table: present, and empty.
asio::awaitable<StepResult> Prepare(asio::any_io_executor executor, const SeedSettings& settings,
                                    std::vector<db::PgConnection>& connections) {
  for (int i = 0; i < settings.connections; ++i) {
    auto connection = co_await Open(executor, settings);
    if (!connection) {
      co_return core::Unexpected<std::string>{"cannot connect to the database: " +
                                              connection.error().message};
    }
    connections.push_back(std::move(*connection));
  }
  const auto deadline = Clock::now() + std::chrono::seconds(30);
  auto exists =
      co_await connections.front().Query("SELECT to_regclass('users') IS NOT NULL", {}, deadline);
  if (!exists) co_return core::Unexpected<std::string>{exists.error().message};
  auto present = exists->GetBool(0, 0);
  if (!present || !*present) {
    co_return core::Unexpected<std::string>{
        "the users table is missing: run `myriad migrate` first"};
  }
  auto any =
      co_await connections.front().Query("SELECT EXISTS (SELECT 1 FROM users)", {}, deadline);
  if (!any) co_return core::Unexpected<std::string>{any.error().message};
  auto has_users = any->GetBool(0, 0);
  if (!has_users || *has_users) {
    co_return core::Unexpected<std::string>{
        "the users table already holds users: seeding only fills an empty table "
        "(TRUNCATE users to start over)"};
  }
  co_return StepResult{};
}

}  // namespace

void AddSeedOptions(CLI::App& app, SeedSettings& settings) {
  config::AddDatabaseOptions(app, settings.database);
  app.add_option("--users", settings.users, "Number of users to insert")
      ->required()
      ->check(CLI::Range(std::int64_t{1}, std::int64_t{1'000'000'000}));
  app.add_option("--seed", settings.seed, "PRNG seed for the synthetic names")
      ->capture_default_str();
  app.add_option("--batch", settings.batch_kib, "COPY chunk size in KiB")
      ->capture_default_str()
      ->check(CLI::Range(std::size_t{1}, std::size_t{16384}));
  app.add_option("--connections", settings.connections, "Parallel COPY streams")
      ->capture_default_str()
      ->check(CLI::Range(1, 8));
  // The same names and bounds as `myriad serve`'s (config/auth_settings.cpp).
  app.add_option("--hash-memory", settings.hash_memory_kib,
                 "Argon2id memory in KiB of the seed password's hash (serve with the same)")
      ->capture_default_str()
      ->check(CLI::Range(std::size_t{8}, std::size_t{4} * 1024 * 1024));
  app.add_option("--hash-passes", settings.hash_passes,
                 "Argon2id passes of the seed password's hash (serve with the same)")
      ->capture_default_str()
      ->check(CLI::Range(1ULL, 64ULL));
}

int RunSeed(const SeedSettings& settings) {
  try {
    config::RequireDatabaseUrl(settings.database);
  } catch (const std::invalid_argument& error) {
    fmt::print(stderr, "myriad seed: {}\n", error.what());
    return 1;
  }
  if (settings.users < 1 || settings.connections < 1) {
    fmt::print(stderr, "myriad seed: --users and --connections must be at least 1\n");
    return 1;
  }

  // Blocking libpq calls are banned in src/: the asynchronous client runs on a loop here.
  asio::io_context io(1);
  std::vector<db::PgConnection> connections;
  auto prepared = RunLoop(io, Prepare(io.get_executor(), settings, connections));
  if (!prepared || !*prepared) {
    fmt::print(stderr, "myriad seed: {}\n",
               prepared ? prepared->error() : std::string("the checks did not finish"));
    return 1;
  }

  // Hashed once: every seeded user shares it.
  auth::HashCost cost;
  cost.memory_bytes = settings.hash_memory_kib * 1024;
  cost.passes = settings.hash_passes;
  const auto hash = auth::HashPassword(db::kSeedPassword, cost);
  if (!hash) {
    fmt::print(stderr, "myriad seed: cannot hash the seed password (libsodium)\n");
    return 1;
  }
  fmt::print("seeding {} users; every one has the password \"{}\" (demos and benchmarks only)\n",
             settings.users, db::kSeedPassword);
  std::fflush(stdout);

  const db::UserRowGenerator generator(settings.seed, settings.users, core::WallClockSeconds(),
                                       *hash);
  Progress progress(settings.users, isatty(STDOUT_FILENO) == 1);
  const auto started = core::SteadyNow();
  const auto deadline = Clock::now() + kCopyTimeout;
  const auto streams = static_cast<std::int64_t>(connections.size());
  std::vector<std::optional<db::DbResult<std::int64_t>>> results(connections.size());
  std::exception_ptr failure;
  for (std::int64_t s = 0; s < streams; ++s) {
    // Contiguous slices: within a stream ids follow created_at; with several streams the
    // slices interleave in id order.
    const std::int64_t first = settings.users * s / streams;
    const std::int64_t last = settings.users * (s + 1) / streams;
    auto& connection = connections[static_cast<std::size_t>(s)];
    auto& result = results[static_cast<std::size_t>(s)];
    asio::co_spawn(
        io,
        [&connection, &generator, &result, &progress, &settings, first, last,
         deadline]() -> asio::awaitable<void> {
          db::SeedProgress on_chunk = [&progress](std::int64_t rows) { progress.Add(rows); };
          result.emplace(co_await db::CopyUserRows(connection, generator, first, last,
                                                   settings.batch_kib * 1024, std::move(on_chunk),
                                                   deadline));
        },
        [&failure](std::exception_ptr error) {
          if (error) failure = std::move(error);
        });
  }
  const auto all_done = [&results] {
    return std::all_of(results.begin(), results.end(), [](const auto& r) { return r.has_value(); });
  };
  io.restart();
  while (!all_done() && !failure && io.run_one() > 0) {
  }
  progress.Finish();
  // After a failed COPY too; a failure here is reported but does not hide the COPY's.
  const bool steady = Execute(io, connections.front(), users::FlushSearchIndexSql());
  if (failure) std::rethrow_exception(failure);
  std::int64_t copied = 0;
  for (const auto& result : results) {
    if (!result || !*result) {
      fmt::print(stderr, "myriad seed: COPY failed: {}\n",
                 result ? result->error().message : std::string("did not finish"));
      return 1;
    }
    copied += **result;
  }
  if (!steady) return 1;

  if (!Execute(io, connections.front(), "ANALYZE users")) return 1;
  const double seconds = std::chrono::duration<double>(core::SteadyNow() - started).count();
  fmt::print("seeded {} users in {:.2f} s ({:.0f} rows/s) over {} connection(s)\n", copied, seconds,
             static_cast<double>(copied) / std::max(seconds, 1e-9), streams);
  return 0;
}

}  // namespace myriad::app

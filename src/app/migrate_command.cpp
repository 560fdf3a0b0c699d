#include "app/migrate_command.hpp"

#include <fmt/core.h>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <exception>
#include <optional>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

#include "core/result.hpp"
#include "db/migrations.hpp"
#include "db/pg_connection.hpp"

namespace myriad::app {
namespace {

namespace asio = boost::asio;
using MigrateResult = core::Result<db::MigrateReport, std::string>;

asio::awaitable<MigrateResult> Migrate(asio::any_io_executor executor,
                                       const config::MigrateSettings& settings,
                                       const std::vector<db::Migration>& migrations) {
  db::ConnectOptions connect_options;
  connect_options.conninfo = settings.database.url;
  const auto deadline = db::PgConnection::Clock::now() + settings.database.connect_timeout;
  auto connection = co_await db::PgConnection::Connect(executor, connect_options, deadline);
  if (!connection) {
    core::Unexpected<std::string> error{"cannot connect to the database: " +
                                        connection.error().message};
    co_return error;
  }
  db::MigrateOptions options;
  options.dry_run = settings.dry_run;
  co_return co_await db::ApplyMigrations(*connection, migrations, options);
}

// co_spawn needs a default-constructible result; Result has none, so the outcome is stored.
asio::awaitable<void> MigrateInto(asio::any_io_executor executor,
                                  const config::MigrateSettings& settings,
                                  const std::vector<db::Migration>& migrations,
                                  std::optional<MigrateResult>& outcome) {
  outcome.emplace(co_await Migrate(std::move(executor), settings, migrations));
}

}  // namespace

int RunMigrate(const config::MigrateSettings& settings) {
  try {
    config::RequireDatabaseUrl(settings.database);
  } catch (const std::invalid_argument& error) {
    fmt::print(stderr, "myriad migrate: {}\n", error.what());
    return 1;
  }
  auto migrations = db::LoadMigrations(settings.migrations_dir);
  if (!migrations) {
    fmt::print(stderr, "myriad migrate: {}\n", migrations.error());
    return 1;
  }

  // Blocking libpq calls are banned in src/, so the command runs the asynchronous client on
  // a loop of its own.
  asio::io_context io(1);
  std::optional<MigrateResult> outcome;
  std::exception_ptr failure;
  asio::co_spawn(io, MigrateInto(io.get_executor(), settings, *migrations, outcome),
                 [&failure](std::exception_ptr error) { failure = std::move(error); });
  io.run();
  if (failure) {
    std::rethrow_exception(failure);
  }
  if (!outcome || !*outcome) {
    fmt::print(stderr, "myriad migrate: {}\n",
               outcome ? outcome->error() : std::string("the migration run did not finish"));
    return 1;
  }
  const char* const verb = settings.dry_run ? "would apply" : "applied";
  for (const std::string& name : (*outcome)->applied) {
    fmt::print("{} {}\n", verb, name);
  }
  if ((*outcome)->applied.empty()) {
    fmt::print("nothing to apply\n");
  }
  return 0;
}

}  // namespace myriad::app

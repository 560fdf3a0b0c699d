#include "config/database_settings.hpp"

#include <CLI/CLI.hpp>
#include <cctype>
#include <functional>
#include <stdexcept>
#include <string_view>
#include <utility>

#include "config/cli_option.hpp"
#include "config/settings.hpp"

namespace myriad::config {
namespace {

using std::chrono::milliseconds;

constexpr milliseconds kMaxConnectTimeout = std::chrono::minutes{10};

std::string ParseDatabaseUrl(const std::string& text) {
  if (text.empty()) {
    throw std::invalid_argument(
        "must not be empty (e.g. postgresql://myriad@127.0.0.1:5432/myriad)");
  }
  return text;
}

milliseconds ParseConnectTimeout(const std::string& text) {
  const milliseconds value = ParseDuration(text);
  if (value <= milliseconds::zero() || value > kMaxConnectTimeout) {
    throw std::invalid_argument("must be greater than 0 and at most " +
                                FormatDuration(kMaxConnectTimeout) + ", got " + Quoted(text));
  }
  return value;
}

std::string ParseMigrationsDir(const std::string& text) {
  if (text.empty()) {
    throw std::invalid_argument("must not be empty");
  }
  return text;
}

constexpr std::size_t kMaxPoolConnections = 1000;
constexpr std::size_t kMaxPipelineDepth = 1'000'000;

}  // namespace

void AddPoolOptions(CLI::App& app, PoolSettings& settings) {
  PoolSettings& s = settings;
  AddSetting(app, "db-pool-size", "N", std::to_string(s.size),
             "Database connections kept open per process (split across io threads), 1..1000",
             [&s](const std::string& t) { s.size = ParseCount(t, 1, kMaxPoolConnections); });
  AddSetting(
      app, "db-max-overflow", "N", std::to_string(s.max_overflow),
      "Extra connections opened under load and closed when idle, 0..1000",
      [&s](const std::string& t) { s.max_overflow = ParseCount(t, 0, kMaxPoolConnections); });
  AddSetting(
      app, "db-write-connections", "N", std::to_string(s.write_connections),
      "Connections per process (split across io threads) for writes and transactions, "
      "so that commits never hold up pipelined reads; 0 shares the pipelines, 0..1000",
      [&s](const std::string& t) { s.write_connections = ParseCount(t, 0, kMaxPoolConnections); });
  AddSetting(app, "db-pool-timeout", "DURATION", FormatDuration(s.timeout),
             "Longest wait for room on a connection; beyond it the request gets 503",
             [&s](const std::string& t) { s.timeout = ParseTimeout(t); });
  AddSetting(
      app, "db-pipeline-depth", "N", std::to_string(s.pipeline_depth),
      "Queries in flight on one connection before another is used, 1..1000000",
      [&s](const std::string& t) { s.pipeline_depth = ParseCount(t, 1, kMaxPipelineDepth); });
  AddSetting(app, "db-statement-timeout", "DURATION", FormatDuration(s.statement_timeout),
             "Longest a query may run; it is then cancelled on the server",
             [&s](const std::string& t) { s.statement_timeout = ParseTimeout(t); });
  AddSetting(app, "db-prepared-statements", "on|off", FormatSwitch(s.prepared_statements),
             "Named prepared statements; off behind PgBouncer in transaction pooling mode",
             [&s](const std::string& t) { s.prepared_statements = ParseSwitch(t); });
}

void AddMigrationsDirOption(CLI::App& app, std::string& migrations_dir) {
  AddSetting(app, "migrations-dir", "DIR", migrations_dir,
             "Folder of NNNN_name.sql migration files (relative: from the working directory)",
             [&migrations_dir](const std::string& t) { migrations_dir = ParseMigrationsDir(t); });
}

void AddDatabaseOptions(CLI::App& app, DatabaseSettings& settings) {
  DatabaseSettings& s = settings;
  // The URL may carry a password, so --help shows no default value from the environment.
  AddSetting(app, "database-url", "URL", "",
             "PostgreSQL libpq URL, e.g. postgresql://myriad@127.0.0.1:5432/myriad (required)",
             [&s](const std::string& t) { s.url = ParseDatabaseUrl(t); });
  AddSetting(app, "db-connect-timeout", "DURATION", FormatDuration(s.connect_timeout),
             "Time allowed to open a database connection (e.g. 5s, 500ms; bare = seconds)",
             [&s](const std::string& t) { s.connect_timeout = ParseConnectTimeout(t); });
}

void AddMigrateOptions(CLI::App& app, MigrateSettings& settings) {
  MigrateSettings& s = settings;
  AddDatabaseOptions(app, s.database);
  AddMigrationsDirOption(app, s.migrations_dir);
  app.add_flag("--dry-run", s.dry_run, "List the migrations that would be applied; change nothing");
}

void RequireDatabaseUrl(const DatabaseSettings& settings) {
  if (settings.url.empty()) {
    throw std::invalid_argument(
        "no database configured: set --database-url or MYRIAD_DATABASE_URL "
        "(e.g. postgresql://myriad@127.0.0.1:5432/myriad)");
  }
}

}  // namespace myriad::config

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

}  // namespace

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
  AddSetting(app, "migrations-dir", "DIR", s.migrations_dir,
             "Folder of NNNN_name.sql migration files (relative: from the working directory)",
             [&s](const std::string& t) { s.migrations_dir = ParseMigrationsDir(t); });
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

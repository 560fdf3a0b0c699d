#pragma once

#include <chrono>
#include <string>

namespace CLI {
class App;
}

namespace myriad::config {

/// How to reach PostgreSQL. Each field is a flag and a MYRIAD_* environment variable of the
/// same name, as in settings.hpp. Later the pool flags (--db-pool-size...) join it.
struct DatabaseSettings {
  /// A libpq URL or connection string (postgresql://user@host:port/db). Empty means not
  /// configured: commands that need a database refuse to start (see RequireDatabaseUrl).
  std::string url;
  /// Time allowed to open one connection, handshake included.
  std::chrono::milliseconds connect_timeout{5'000};
};

/// What `myriad migrate` can be told, on top of DatabaseSettings.
struct MigrateSettings {
  DatabaseSettings database;
  /// The folder of NNNN_name.sql files; relative paths are from the working directory.
  std::string migrations_dir = "migrations";
  /// Report what would be applied, change nothing.
  bool dry_run = false;
};

/// Registers --database-url (MYRIAD_DATABASE_URL) and --db-connect-timeout
/// (MYRIAD_DB_CONNECT_TIMEOUT) on `app`, with the same rules as AddServeOptions: `settings`
/// must outlive `app`; a bad value makes app.parse() throw CLI::ValidationError whose
/// message starts with "--flag (MYRIAD_VARIABLE):".
void AddDatabaseOptions(CLI::App& app, DatabaseSettings& settings);

/// AddDatabaseOptions plus --migrations-dir (MYRIAD_MIGRATIONS_DIR) and --dry-run.
void AddMigrateOptions(CLI::App& app, MigrateSettings& settings);

/// Throws std::invalid_argument naming --database-url and MYRIAD_DATABASE_URL when the URL
/// is empty; for commands that cannot run without a database.
void RequireDatabaseUrl(const DatabaseSettings& settings);

}  // namespace myriad::config

#pragma once

#include <chrono>
#include <cstddef>
#include <string>

namespace CLI {
class App;
}

namespace myriad::config {

/// How to reach PostgreSQL. Each field is a flag and a MYRIAD_* environment variable of the
/// same name, as in settings.hpp.
struct DatabaseSettings {
  /// A libpq URL or connection string (postgresql://user@host:port/db). Empty means not
  /// configured: commands that need a database refuse to start (see RequireDatabaseUrl).
  std::string url;
  /// Time allowed to open one connection, handshake included.
  std::chrono::milliseconds connect_timeout{5'000};
};

/// The connection pool of `myriad serve`, on top of DatabaseSettings. Sizes are per
/// process and split evenly across the io threads (each thread owns its connections, so a
/// query never crosses threads); every thread gets at least one connection.
struct PoolSettings {
  /// Connections kept open. Pipelining lets a few connections carry every concurrent
  /// query: one per io thread served best here (docs/design/db.md has the measurements).
  std::size_t size = 2;
  /// Extra connections opened when every regular one has a full pipeline; closed again
  /// as soon as they are idle.
  std::size_t max_overflow = 2;
  /// Connections for writing statements and transactions, apart from the pipelined ones
  /// (as many again may open as overflow): a commit's fsync then never holds up the reads
  /// pipelined behind it. 0: writes share the pipelines.
  std::size_t write_connections = 2;
  /// Waiting longer than this for room on a connection answers 503.
  std::chrono::milliseconds timeout{2'000};
  /// Queries in flight on one connection before the pool prefers another one.
  std::size_t pipeline_depth = 10'000;
  /// Each query's limit (the request's deadline may cut it shorter), enforced by
  /// cancelling the query on the server (PQcancel) when it passes.
  std::chrono::milliseconds statement_timeout{5'000};
  /// Named prepared statements; off for PgBouncer's transaction pooling.
  bool prepared_statements = true;
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

/// Registers --db-pool-size, --db-max-overflow, --db-write-connections, --db-pool-timeout,
/// --db-pipeline-depth, --db-statement-timeout and --db-prepared-statements (on|off), each
/// with its MYRIAD_* variable.
void AddPoolOptions(CLI::App& app, PoolSettings& settings);

/// Registers --migrations-dir (MYRIAD_MIGRATIONS_DIR) alone.
void AddMigrationsDirOption(CLI::App& app, std::string& migrations_dir);

/// AddDatabaseOptions plus --migrations-dir (MYRIAD_MIGRATIONS_DIR) and --dry-run.
void AddMigrateOptions(CLI::App& app, MigrateSettings& settings);

/// Throws std::invalid_argument naming --database-url and MYRIAD_DATABASE_URL when the URL
/// is empty; for commands that cannot run without a database.
void RequireDatabaseUrl(const DatabaseSettings& settings);

}  // namespace myriad::config

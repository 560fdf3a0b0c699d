#pragma once

#include <boost/asio/awaitable.hpp>
#include <chrono>
#include <cstdint>
#include <filesystem>
#include <string>
#include <string_view>
#include <vector>

#include "core/result.hpp"
#include "db/pg_connection.hpp"

namespace myriad::db {

/// One versioned schema change: migrations/NNNN_name.sql.
struct Migration {
  int version = 0;
  /// The file name without ".sql", e.g. "0001_users": what is printed and recorded.
  std::string name;
  /// The file's text, sent to the server as it is.
  std::string sql;
};

/// The version and name parsed from a file name.
struct MigrationFileName {
  int version = 0;
  std::string name;
};

/// Parses "0001_users.sql": four or more digits (a version from 1 up), "_", a name of
/// lower-case letters, digits and "_", ".sql". Anything else is an error naming the file.
core::Result<MigrationFileName, std::string> ParseMigrationFileName(std::string_view file_name);

/// Sorts `migrations` by version and rejects two files with the same version.
core::Result<std::vector<Migration>, std::string> SortMigrations(std::vector<Migration> migrations);

/// Reads every *.sql file of `dir` (other files are ignored, subfolders too), sorted by
/// version. Errors: a missing or unreadable folder or file, a bad name, a duplicate version.
core::Result<std::vector<Migration>, std::string> LoadMigrations(const std::filesystem::path& dir);

struct MigrateOptions {
  /// Report what is pending; take no lock, create nothing, apply nothing.
  bool dry_run = false;
  /// How long to wait for another instance's advisory lock.
  std::chrono::milliseconds lock_timeout{std::chrono::minutes{5}};
  /// Time allowed for each statement, a whole migration file included.
  std::chrono::milliseconds statement_timeout{std::chrono::minutes{30}};
};

struct MigrateReport {
  /// Names of the migrations applied (with dry_run: that would be applied), in order.
  std::vector<std::string> applied;
};

/// Brings the schema of `connection` (its search_path's first schema) up to date with
/// `migrations` (sorted, as LoadMigrations returns them):
///
///   pg_advisory_lock(kMigrationLockKey)  -- other instances wait here, then find nothing
///   CREATE TABLE IF NOT EXISTS schema_migrations(version, name, checksum, applied_at)
///   every recorded migration's checksum (hex SHA-256 of the file) must still match
///   for each pending one: BEGIN; the file; INSERT INTO schema_migrations; COMMIT
///   pg_advisory_unlock
///
/// A failing file is rolled back (the schema is left as it was before that file) and the
/// error names the file and quotes the server. The file runs as one batch through PL/pgSQL
/// EXECUTE (docs/design/db.md, "Migrations"), so it may hold many statements but no
/// transaction control, VACUUM or CREATE INDEX CONCURRENTLY. Run on the io thread of
/// `connection`; the session keeps a pg_temp helper function afterwards.
boost::asio::awaitable<core::Result<MigrateReport, std::string>> ApplyMigrations(
    PgConnection& connection, const std::vector<Migration>& migrations, MigrateOptions options);

/// The pg_advisory_lock key that serialises migration runs on a database ("myriadmg").
inline constexpr std::int64_t kMigrationLockKey = 0x6d79726961646d67;

}  // namespace myriad::db

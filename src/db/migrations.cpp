#include "db/migrations.hpp"

#include <fmt/core.h>

#include <algorithm>
#include <cctype>
#include <charconv>
#include <fstream>
#include <map>
#include <sstream>
#include <system_error>
#include <utility>

#include "db/error.hpp"
#include "db/params.hpp"

namespace myriad::db {
namespace {

namespace asio = boost::asio;
using Clock = PgConnection::Clock;
using MigrateResult = core::Result<MigrateReport, std::string>;

constexpr std::size_t kMinVersionDigits = 4;
constexpr std::string_view kSuffix = ".sql";

constexpr std::string_view kLockSql = "SELECT pg_advisory_lock($1)";
constexpr std::string_view kUnlockSql = "SELECT pg_advisory_unlock($1)";
constexpr std::string_view kTableExistsSql = "SELECT to_regclass('schema_migrations') IS NOT NULL";
constexpr std::string_view kCreateTableSql =
    "CREATE TABLE IF NOT EXISTS schema_migrations ("
    " version integer PRIMARY KEY,"
    " name text NOT NULL,"
    " checksum text NOT NULL,"
    " applied_at timestamptz NOT NULL DEFAULT now())";
constexpr std::string_view kRecordedSql =
    "SELECT version, name, checksum FROM schema_migrations ORDER BY version";
// SHA-256 of the file's bytes in hex, the same as `sha256sum` prints; computed by the server
// so that no crypto library is needed here.
constexpr std::string_view kChecksumSql = "SELECT encode(sha256(convert_to($1, 'UTF8')), 'hex')";
// PQsendQueryParams (all the pipelined client sends) takes one statement, and pipeline mode
// forbids PQsendQuery's simple protocol. PL/pgSQL's EXECUTE runs a string of many statements
// (SPI), inside the caller's transaction, with the file passed as a parameter: no quoting,
// and no second connection mode to maintain. pg_temp: the function lives as long as the
// session and is never found through search_path.
constexpr std::string_view kCreateRunnerSql =
    "CREATE OR REPLACE FUNCTION pg_temp.myriad_run_migration(migration text) RETURNS void "
    "LANGUAGE plpgsql AS $fn$ BEGIN EXECUTE migration; END $fn$";
constexpr std::string_view kRunSql = "SELECT pg_temp.myriad_run_migration($1)";
constexpr std::string_view kRecordSql =
    "INSERT INTO schema_migrations (version, name, checksum) VALUES ($1, $2, $3)";
constexpr std::string_view kBeginSql = "BEGIN";
constexpr std::string_view kCommitSql = "COMMIT";
constexpr std::string_view kRollbackSql = "ROLLBACK";

std::string Describe(const DbError& error) {
  if (error.sqlstate.empty()) {
    return fmt::format("{}: {}", ToString(error.kind), error.message);
  }
  return fmt::format("{} (SQLSTATE {})", error.message, error.sqlstate);
}

core::Unexpected<std::string> Fail(std::string message) {
  return core::Unexpected<std::string>{std::move(message)};
}

bool IsNameChar(char c) { return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_'; }

struct Recorded {
  std::string name;
  std::string checksum;
};

asio::awaitable<core::Result<std::map<int, Recorded>, std::string>> ReadRecorded(
    PgConnection& connection, Clock::duration timeout) {
  Params none;
  auto rows = co_await connection.Query(kRecordedSql, std::move(none), Clock::now() + timeout);
  if (!rows) {
    co_return Fail("cannot read schema_migrations: " + Describe(rows.error()));
  }
  std::map<int, Recorded> recorded;
  for (int row = 0; row < rows->rows(); ++row) {
    auto version = rows->GetInt64(row, 0);
    auto name = rows->GetString(row, 1);
    auto checksum = rows->GetString(row, 2);
    if (!version || !name || !checksum) {
      co_return Fail("schema_migrations holds a row with a NULL or unreadable value");
    }
    recorded[static_cast<int>(*version)] = Recorded{std::string(*name), std::string(*checksum)};
  }
  co_return recorded;
}

asio::awaitable<core::Result<std::string, std::string>> Checksum(PgConnection& connection,
                                                                 const Migration& migration,
                                                                 Clock::duration timeout) {
  Params text;
  text.Add(migration.sql);
  auto hash = co_await connection.Query(kChecksumSql, std::move(text), Clock::now() + timeout);
  if (!hash) {
    co_return Fail(fmt::format("{}.sql: cannot compute its checksum: {}", migration.name,
                               Describe(hash.error())));
  }
  auto value = hash->GetString(0, 0);
  if (!value) {
    co_return Fail(fmt::format("{}.sql: the server returned no checksum", migration.name));
  }
  co_return std::string(*value);
}

// BEGIN; the file; its schema_migrations row; COMMIT. Any failure rolls back, so neither the
// file's changes nor its row stay behind.
asio::awaitable<core::Result<void, std::string>> ApplyOne(PgConnection& connection,
                                                          const Migration& migration,
                                                          const std::string& checksum,
                                                          Clock::duration timeout) {
  Params none;
  auto begun = co_await connection.Query(kBeginSql, std::move(none), Clock::now() + timeout);
  if (!begun) {
    co_return Fail(fmt::format("{}.sql: cannot begin a transaction: {}", migration.name,
                               Describe(begun.error())));
  }
  Params text;
  text.Add(migration.sql);
  auto ran = co_await connection.Query(kRunSql, std::move(text), Clock::now() + timeout);
  std::string failure;
  if (!ran) {
    failure = fmt::format("{}.sql failed: {}", migration.name, Describe(ran.error()));
  } else {
    Params row;
    row.Add(static_cast<std::int64_t>(migration.version)).Add(migration.name).Add(checksum);
    auto recorded = co_await connection.Query(kRecordSql, std::move(row), Clock::now() + timeout);
    if (!recorded) {
      failure = fmt::format("{}.sql: cannot record it in schema_migrations: {}", migration.name,
                            Describe(recorded.error()));
    } else {
      Params no_params;
      auto committed =
          co_await connection.Query(kCommitSql, std::move(no_params), Clock::now() + timeout);
      if (committed) {
        const core::Result<void, std::string> done;
        co_return done;
      }
      failure =
          fmt::format("{}.sql: COMMIT failed: {}", migration.name, Describe(committed.error()));
    }
  }
  // After a timeout the connection takes no more queries; closing it then rolls back.
  Params no_params;
  auto rolled_back =
      co_await connection.Query(kRollbackSql, std::move(no_params), Clock::now() + timeout);
  (void)rolled_back;
  co_return Fail(failure + "; rolled back, the schema is as it was before this file");
}

asio::awaitable<MigrateResult> ApplyLocked(PgConnection& connection,
                                           const std::vector<Migration>& migrations,
                                           const MigrateOptions& options) {
  const Clock::duration timeout = options.statement_timeout;
  bool table_exists = true;
  if (options.dry_run) {
    Params none;
    auto exists =
        co_await connection.Query(kTableExistsSql, std::move(none), Clock::now() + timeout);
    if (!exists) {
      co_return Fail("cannot look for schema_migrations: " + Describe(exists.error()));
    }
    auto value = exists->GetBool(0, 0);
    table_exists = value && *value;
  } else {
    Params none;
    auto created =
        co_await connection.Query(kCreateTableSql, std::move(none), Clock::now() + timeout);
    if (!created) {
      co_return Fail("cannot create schema_migrations: " + Describe(created.error()));
    }
  }
  std::map<int, Recorded> recorded;
  if (table_exists) {
    auto read = co_await ReadRecorded(connection, timeout);
    if (!read) {
      co_return Fail(std::move(read).error());
    }
    recorded = std::move(read).value();
  }

  struct Pending {
    const Migration* migration;
    std::string checksum;
  };
  std::vector<Pending> pending;
  for (const Migration& migration : migrations) {
    auto checksum = co_await Checksum(connection, migration, timeout);
    if (!checksum) {
      co_return Fail(std::move(checksum).error());
    }
    const auto found = recorded.find(migration.version);
    if (found == recorded.end()) {
      pending.push_back(Pending{&migration, std::move(checksum).value()});
    } else if (found->second.checksum != *checksum) {
      co_return Fail(fmt::format(
          "{}.sql was changed after it was applied as {} (checksum recorded {}, file now {}); "
          "a migration must never change once it ran: restore it and add a new one",
          migration.name, found->second.name, found->second.checksum, *checksum));
    }
  }

  MigrateReport report;
  if (options.dry_run || pending.empty()) {
    for (const Pending& p : pending) {
      report.applied.push_back(p.migration->name);
    }
    co_return report;
  }
  Params none;
  auto runner =
      co_await connection.Query(kCreateRunnerSql, std::move(none), Clock::now() + timeout);
  if (!runner) {
    co_return Fail("cannot create the migration runner function: " + Describe(runner.error()));
  }
  for (const Pending& p : pending) {
    auto applied = co_await ApplyOne(connection, *p.migration, p.checksum, timeout);
    if (!applied) {
      co_return Fail(std::move(applied).error());
    }
    report.applied.push_back(p.migration->name);
  }
  co_return report;
}

}  // namespace

core::Result<MigrationFileName, std::string> ParseMigrationFileName(std::string_view file_name) {
  const std::string quoted = "'" + std::string(file_name) + "'";
  const auto bad = [&quoted](std::string_view why) {
    return Fail("bad migration file name " + quoted + ": " + std::string(why) +
                " (expected NNNN_name.sql, e.g. 0001_users.sql)");
  };
  if (file_name.size() <= kSuffix.size() ||
      file_name.substr(file_name.size() - kSuffix.size()) != kSuffix) {
    return bad("it does not end in .sql");
  }
  const std::string_view stem = file_name.substr(0, file_name.size() - kSuffix.size());
  const auto digits = static_cast<std::size_t>(
      std::find_if(stem.begin(), stem.end(),
                   [](char c) { return std::isdigit(static_cast<unsigned char>(c)) == 0; }) -
      stem.begin());
  if (digits < kMinVersionDigits) {
    return bad("the version must have at least 4 digits");
  }
  if (digits >= stem.size() || stem[digits] != '_' || digits + 1 == stem.size()) {
    return bad("the version must be followed by '_' and a name");
  }
  const std::string_view name = stem.substr(digits + 1);
  if (!std::all_of(name.begin(), name.end(), IsNameChar)) {
    return bad("the name may hold only a-z, 0-9 and '_'");
  }
  int version = 0;
  const auto [end, error] = std::from_chars(stem.data(), stem.data() + digits, version);
  if (error != std::errc{} || end != stem.data() + digits) {
    return bad("the version is too large");
  }
  if (version == 0) {
    return bad("versions start at 1");
  }
  return MigrationFileName{version, std::string(stem)};
}

core::Result<std::vector<Migration>, std::string> SortMigrations(
    std::vector<Migration> migrations) {
  std::sort(migrations.begin(), migrations.end(),
            [](const Migration& a, const Migration& b) { return a.version < b.version; });
  for (std::size_t i = 1; i < migrations.size(); ++i) {
    if (migrations[i].version == migrations[i - 1].version) {
      return Fail(fmt::format("two migrations have version {}: {}.sql and {}.sql",
                              migrations[i].version, migrations[i - 1].name, migrations[i].name));
    }
  }
  return migrations;
}

core::Result<std::vector<Migration>, std::string> LoadMigrations(const std::filesystem::path& dir) {
  std::error_code error;
  std::filesystem::directory_iterator entries(dir, error);
  if (error) {
    return Fail(
        fmt::format("cannot read the migrations folder '{}': {}", dir.string(), error.message()));
  }
  std::vector<Migration> migrations;
  for (const auto& entry : entries) {
    const std::string file_name = entry.path().filename().string();
    if (entry.path().extension() != kSuffix || !entry.is_regular_file(error)) {
      continue;
    }
    auto parsed = ParseMigrationFileName(file_name);
    if (!parsed) {
      return Fail(std::move(parsed).error());
    }
    std::ifstream in(entry.path(), std::ios::binary);
    std::ostringstream text;
    text << in.rdbuf();
    if (!in || in.bad()) {
      return Fail(fmt::format("cannot read {}", entry.path().string()));
    }
    migrations.push_back(Migration{parsed->version, std::move(parsed->name), text.str()});
  }
  return SortMigrations(std::move(migrations));
}

asio::awaitable<MigrateResult> ApplyMigrations(PgConnection& connection,
                                               const std::vector<Migration>& migrations,
                                               MigrateOptions options) {
  if (options.dry_run) {
    co_return co_await ApplyLocked(connection, migrations, options);
  }
  Params key;
  key.Add(kMigrationLockKey);
  auto locked =
      co_await connection.Query(kLockSql, std::move(key), Clock::now() + options.lock_timeout);
  if (!locked) {
    co_return Fail("cannot take the migration lock (pg_advisory_lock): " +
                   Describe(locked.error()));
  }
  auto result = co_await ApplyLocked(connection, migrations, options);
  if (connection.usable()) {
    // Ending the session would release the lock too; unlocking keeps a reused one clean.
    Params unlock_key;
    unlock_key.Add(kMigrationLockKey);
    auto unlocked = co_await connection.Query(kUnlockSql, std::move(unlock_key),
                                              Clock::now() + options.statement_timeout);
    (void)unlocked;
  }
  co_return result;
}

}  // namespace myriad::db

// db::ApplyMigrations and `myriad migrate` against a real PostgreSQL (support/pg_support.hpp).
// Every test works in a schema of its own (test_migrate_<random>, through search_path), since
// the pgtests of one ctest run share one database.
#include <gtest/gtest.h>

#include <algorithm>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <chrono>
#include <cstdint>
#include <exception>
#include <filesystem>
#include <fstream>
#include <functional>
#include <optional>
#include <stdexcept>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "db/migrations.hpp"
#include "db/pg_connection.hpp"
#include "support/coro_test.hpp"
#include "support/pg_support.hpp"
#include "support/process.hpp"

namespace myriad::db {
namespace {
namespace asio = boost::asio;
using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;
using MigrateResult = core::Result<MigrateReport, std::string>;

using myriad::testing::RunOnOwnLoop;
using myriad::testing::Sql;

class MigrationsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = std::filesystem::temp_directory_path() / ("myriad_" + schema_.name());
    std::filesystem::create_directories(dir_);
  }

  void TearDown() override {
    std::error_code ignored;
    std::filesystem::remove_all(dir_, ignored);
  }

  std::string Value(const std::string& sql) const { return schema_.Value(sql); }

  MigrateResult Migrate(const std::vector<Migration>& migrations, bool dry_run = false) {
    return RunOnOwnLoop<MigrateResult>(
        [&](asio::any_io_executor ex) -> asio::awaitable<MigrateResult> {
          ConnectOptions connect{url_};
          auto conn = co_await PgConnection::Connect(ex, connect, Clock::now() + 10s);
          if (!conn) {
            core::Unexpected<std::string> error{"connect: " + conn.error().message};
            co_return error;
          }
          MigrateOptions options;
          options.dry_run = dry_run;
          co_return co_await ApplyMigrations(*conn, migrations, options);
        });
  }

  void WriteFile(const std::string& name, const std::string& text) {
    std::ofstream(dir_ / name, std::ios::binary) << text;
  }

  std::vector<Migration> LoadDir() {
    auto loaded = LoadMigrations(dir_);
    EXPECT_TRUE(loaded.has_value()) << (loaded ? "" : loaded.error());
    return loaded ? std::move(loaded).value() : std::vector<Migration>{};
  }

  static std::vector<Migration> RepoMigrations() {
    auto loaded = LoadMigrations(std::filesystem::path(MYRIAD_SOURCE_DIR) / "migrations");
    EXPECT_TRUE(loaded.has_value()) << (loaded ? "" : loaded.error());
    return loaded ? std::move(loaded).value() : std::vector<Migration>{};
  }

  // Whether the test's schema holds table `name`.
  bool HasTable(const std::string& name) {
    return Value("SELECT count(*) FROM pg_tables WHERE schemaname = '" + schema_.name() +
                 "' AND tablename = '" + name + "'") == "1";
  }

  // public stays on the search path: pg_trgm's operator classes live there.
  myriad::testing::TestSchema schema_{"test_migrate"};
  const std::string url_ = schema_.url();
  std::filesystem::path dir_;
};

TEST_F(MigrationsTest, FreshSchemaGetsUsersAndRerunAppliesNothing) {
  const auto migrations = RepoMigrations();
  ASSERT_FALSE(migrations.empty());
  ASSERT_EQ(migrations.front().name, "0001_users");

  auto first = Migrate(migrations);
  ASSERT_TRUE(first.has_value()) << first.error();
  ASSERT_FALSE(first->applied.empty());
  EXPECT_EQ(first->applied.front(), "0001_users");
  EXPECT_TRUE(HasTable("users"));
  EXPECT_EQ(Value("SELECT count(*) FROM schema_migrations WHERE version = 1 AND name = "
                  "'0001_users' AND length(checksum) = 64 AND applied_at <= now()"),
            "1");

  // The schema does what the users resource relies on.
  EXPECT_EQ(Value("INSERT INTO users (email, name, password_hash) VALUES "
                  "('ada@example.com', 'Ada', 'x') RETURNING version"),
            "1");
  EXPECT_NE(Sql(url_,
                "INSERT INTO users (email, name, password_hash) VALUES "
                "('ada@example.com', 'Other', 'x')"),
            "");
  EXPECT_NE(Sql(url_,
                "INSERT INTO users (email, name, password_hash) VALUES "
                "('Upper@Example.com', 'Ada', 'x')"),
            "");
  EXPECT_NE(Sql(url_, "UPDATE users SET role = 7"), "");
  // 0004: ANALYZE after 10%; 0005: the search index's pending list on again, with room for
  // the flushes that `myriad serve` makes.
  const std::string options =
      "SELECT c.reloptions::text FROM pg_class c JOIN pg_namespace n "
      "ON n.oid = c.relnamespace WHERE n.nspname = '" +
      schema_.name() + "' AND c.relname = ";
  EXPECT_EQ(Value(options + "'users_search_trgm'"), "{fastupdate=on,gin_pending_list_limit=65536}");
  EXPECT_EQ(Value(options + "'users'"), "{autovacuum_analyze_scale_factor=0.1}");

  auto second = Migrate(migrations);
  ASSERT_TRUE(second.has_value()) << second.error();
  EXPECT_TRUE(second->applied.empty());
  EXPECT_EQ(Value("SELECT count(*) FROM schema_migrations"), std::to_string(migrations.size()));
}

TEST_F(MigrationsTest, DryRunChangesNothing) {
  auto report = Migrate(RepoMigrations(), /*dry_run=*/true);
  ASSERT_TRUE(report.has_value()) << report.error();
  ASSERT_FALSE(report->applied.empty());
  EXPECT_EQ(report->applied.front(), "0001_users");
  EXPECT_FALSE(HasTable("schema_migrations"));
  EXPECT_FALSE(HasTable("users"));
}

TEST_F(MigrationsTest, ConcurrentRunnersApplyEachMigrationOnce) {
  // The first file is slow, so the second runner surely arrives while the first holds the
  // lock; a file that ran twice would fail on CREATE TABLE or on the primary key.
  WriteFile("0001_slow.sql", "CREATE TABLE slow_t (x int); SELECT pg_sleep(0.5);");
  WriteFile("0002_next.sql", "CREATE TABLE next_t (x int); INSERT INTO next_t VALUES (1);");
  const auto migrations = LoadDir();
  ASSERT_EQ(migrations.size(), 2U);

  std::optional<MigrateResult> a;
  std::optional<MigrateResult> b;
  std::thread first([&] { a.emplace(Migrate(migrations)); });
  std::thread second([&] { b.emplace(Migrate(migrations)); });
  first.join();
  second.join();
  ASSERT_TRUE(a && a->has_value()) << (a ? a->error() : "no result");
  ASSERT_TRUE(b && b->has_value()) << (b ? b->error() : "no result");
  std::vector<std::string> all = (*a)->applied;
  all.insert(all.end(), (*b)->applied.begin(), (*b)->applied.end());
  std::sort(all.begin(), all.end());
  EXPECT_EQ(all, (std::vector<std::string>{"0001_slow", "0002_next"}));
  EXPECT_EQ(Value("SELECT count(*) FROM schema_migrations"), "2");
  EXPECT_EQ(Value("SELECT count(*) FROM next_t"), "1");
}

TEST_F(MigrationsTest, BrokenMigrationRollsBackAndNamesTheFile) {
  WriteFile("0001_fine.sql", "CREATE TABLE fine_t (x int);");
  WriteFile("0002_broken.sql",
            "CREATE TABLE partial_t (x int);\nCREATE TABLE broken_t (y no_such_type);\n");
  auto result = Migrate(LoadDir());
  ASSERT_FALSE(result.has_value());
  EXPECT_NE(result.error().find("0002_broken.sql"), std::string::npos) << result.error();
  EXPECT_NE(result.error().find("no_such_type"), std::string::npos) << result.error();

  EXPECT_TRUE(HasTable("fine_t"));
  EXPECT_FALSE(HasTable("partial_t"));
  EXPECT_FALSE(HasTable("broken_t"));
  EXPECT_EQ(Value("SELECT string_agg(name, ',' ORDER BY version) FROM schema_migrations"),
            "0001_fine");
}

TEST_F(MigrationsTest, OnlyMigrationBrokenLeavesNoRow) {
  WriteFile("0001_broken.sql", "CREATE TABLE partial_t (x int); SELECT 1/0;");
  auto result = Migrate(LoadDir());
  ASSERT_FALSE(result.has_value());
  EXPECT_NE(result.error().find("0001_broken.sql"), std::string::npos) << result.error();
  EXPECT_NE(result.error().find("division by zero"), std::string::npos) << result.error();
  EXPECT_FALSE(HasTable("partial_t"));
  EXPECT_EQ(Value("SELECT count(*) FROM schema_migrations"), "0");
}

TEST_F(MigrationsTest, ChangedChecksumIsReported) {
  WriteFile("0001_first.sql", "CREATE TABLE first_t (x int);");
  auto applied = Migrate(LoadDir());
  ASSERT_TRUE(applied.has_value()) << applied.error();

  WriteFile("0001_first.sql", "CREATE TABLE first_t (x bigint);");
  WriteFile("0002_second.sql", "CREATE TABLE second_t (x int);");
  auto result = Migrate(LoadDir());
  ASSERT_FALSE(result.has_value());
  EXPECT_NE(result.error().find("0001_first.sql"), std::string::npos) << result.error();
  EXPECT_NE(result.error().find("changed"), std::string::npos) << result.error();
  // Nothing after the changed file ran.
  EXPECT_FALSE(HasTable("second_t"));
}

// The real binary, end to end.
TEST_F(MigrationsTest, BinaryAppliesThenFindsNothing) {
  WriteFile("0001_cli.sql", "CREATE TABLE cli_t (x int);");
  {
    myriad::testing::ChildProcess child(
        {MYRIAD_BINARY, "migrate", "--database-url", url_, "--migrations-dir", dir_.string()});
    EXPECT_EQ(child.Wait(60s), 0) << child.output();
    EXPECT_NE(child.output().find("applied 0001_cli"), std::string::npos) << child.output();
  }
  {
    myriad::testing::ChildProcess child(
        {MYRIAD_BINARY, "migrate", "--database-url", url_, "--migrations-dir", dir_.string()});
    EXPECT_EQ(child.Wait(60s), 0) << child.output();
    EXPECT_NE(child.output().find("nothing to apply"), std::string::npos) << child.output();
  }
  WriteFile("0002_bad.sql", "SELEC 1;");
  {
    myriad::testing::ChildProcess child(
        {MYRIAD_BINARY, "migrate", "--database-url", url_, "--migrations-dir", dir_.string()});
    EXPECT_EQ(child.Wait(60s), 1) << child.output();
    EXPECT_NE(child.output().find("0002_bad.sql"), std::string::npos) << child.output();
  }
}

TEST(MigrateCommandTest, HelpMentionsTheEnvironment) {
  myriad::testing::ChildProcess child({MYRIAD_BINARY, "migrate", "--help"});
  EXPECT_EQ(child.Wait(20s), 0) << child.output();
  EXPECT_NE(child.output().find("MYRIAD_DATABASE_URL"), std::string::npos) << child.output();
  EXPECT_NE(child.output().find("--migrations-dir"), std::string::npos) << child.output();
  EXPECT_NE(child.output().find("--dry-run"), std::string::npos) << child.output();
}

TEST(MigrateCommandTest, MissingUrlNamesTheSetting) {
  myriad::testing::ChildProcess child(
      {"/usr/bin/env", "-u", "MYRIAD_DATABASE_URL", MYRIAD_BINARY, "migrate"});
  EXPECT_EQ(child.Wait(20s), 1) << child.output();
  EXPECT_NE(child.output().find("MYRIAD_DATABASE_URL"), std::string::npos) << child.output();
}

}  // namespace
}  // namespace myriad::db

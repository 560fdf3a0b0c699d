// `myriad seed` (app::RunSeed, db::CopyUserRows) and PgConnection::CopyIn against a real
// PostgreSQL. Each test works in a schema of its own (search_path in the URL), since the
// pgtests of one ctest run share one database.
#include <gtest/gtest.h>
#include <sodium.h>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <chrono>
#include <exception>
#include <filesystem>
#include <functional>
#include <optional>
#include <stdexcept>
#include <string>
#include <utility>

#include "app/seed_command.hpp"
#include "db/migrations.hpp"
#include "db/pg_connection.hpp"
#include "db/user_seeder.hpp"
#include "support/coro_test.hpp"
#include "support/pg_support.hpp"

namespace myriad::db {
namespace {
namespace asio = boost::asio;
using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;

using myriad::testing::RunOnOwnLoop;

class SeedTest : public ::testing::Test {
 protected:
  std::string Value(const std::string& sql) const { return schema_.Value(sql); }
  void MigrateSchema() {
    auto migrations = LoadMigrations(std::filesystem::path(MYRIAD_SOURCE_DIR) / "migrations");
    ASSERT_TRUE(migrations.has_value());
    auto applied = RunOnOwnLoop<core::Result<MigrateReport, std::string>>(
        [&](asio::any_io_executor ex) -> asio::awaitable<core::Result<MigrateReport, std::string>> {
          ConnectOptions connect{schema_.url()};
          auto conn = co_await PgConnection::Connect(ex, connect, Clock::now() + 10s);
          if (!conn) {
            core::Unexpected<std::string> error{conn.error().message};
            co_return error;
          }
          MigrateOptions options;
          co_return co_await ApplyMigrations(*conn, *migrations, options);
        });
    ASSERT_TRUE(applied.has_value()) << applied.error();
  }
  app::SeedSettings Settings(std::int64_t users, int connections = 1) const {
    app::SeedSettings settings;
    settings.database.url = schema_.url();
    settings.users = users;
    settings.connections = connections;
    return settings;
  }

  myriad::testing::TestSchema schema_{"test_seed"};
};

TEST_F(SeedTest, SeedsUniqueUsersWithTheKnownPasswordThenRefusesASecondTime) {
  MigrateSchema();
  ASSERT_EQ(app::RunSeed(Settings(10'000, 2)), 0);
  EXPECT_EQ(Value("SELECT count(*) FROM users"), "10000");
  EXPECT_EQ(Value("SELECT count(DISTINCT email) FROM users"), "10000");
  EXPECT_EQ(Value("SELECT count(*) FROM users WHERE email <> lower(email)"), "0");
  const std::string hash = Value("SELECT password_hash FROM users ORDER BY id DESC LIMIT 1");
  ASSERT_GE(sodium_init(), 0);
  EXPECT_EQ(crypto_pwhash_str_verify(hash.c_str(), kSeedPassword.data(), kSeedPassword.size()), 0);
  EXPECT_NE(crypto_pwhash_str_verify(hash.c_str(), "wrong", 5), 0);
  EXPECT_EQ(app::RunSeed(Settings(10)), 1);
  EXPECT_EQ(Value("SELECT count(*) FROM users"), "10000");
}

TEST_F(SeedTest, LeavesTheSearchIndexPendingListEmpty) {
  // The bulk load goes through the index's pending list (migrations/0005), which the seed
  // merges before it returns: a second flush finds nothing left.
  MigrateSchema();
  ASSERT_EQ(app::RunSeed(Settings(2'000)), 0);
  EXPECT_EQ(Value("SELECT gin_clean_pending_list('users_search_trgm')"), "0");
  EXPECT_EQ(Value("SELECT count(*) FROM users"), "2000");
  // ...which would not be so without that flush.
  Value("UPDATE users SET name = name || ' x' WHERE id <= 100");
  EXPECT_NE(Value("SELECT gin_clean_pending_list('users_search_trgm')"), "0");
}

// bench/scale lowers the seed password's Argon2id cost (and the server's to match).
TEST_F(SeedTest, HashesTheSeedPasswordAtTheCostAskedFor) {
  MigrateSchema();
  auto settings = Settings(50);
  settings.hash_memory_kib = 256;
  settings.hash_passes = 1;
  ASSERT_EQ(app::RunSeed(settings), 0);
  const std::string hash = Value("SELECT password_hash FROM users WHERE id = 1");
  EXPECT_NE(hash.find("$argon2id$v=19$m=256,t=1,p=1$"), std::string::npos) << hash;
  ASSERT_GE(sodium_init(), 0);
  EXPECT_EQ(crypto_pwhash_str_verify(hash.c_str(), kSeedPassword.data(), kSeedPassword.size()), 0);
  EXPECT_EQ(Value("SELECT count(DISTINCT password_hash) FROM users"), "1");
}

TEST_F(SeedTest, RefusesWithoutTheUsersTable) { EXPECT_EQ(app::RunSeed(Settings(10)), 1); }

TEST_F(SeedTest, CopyIntoAMissingTableIsAQueryErrorAndTheConnectionStaysUsable) {
  const auto outcome =
      RunOnOwnLoop<std::string>([&](asio::any_io_executor ex) -> asio::awaitable<std::string> {
        ConnectOptions options{schema_.url()};
        auto conn = co_await PgConnection::Connect(ex, options, Clock::now() + 10s);
        if (!conn) co_return "connect: " + conn.error().message;
        const UserRowGenerator generator(1, 100, 1'800'000'000, "h");
        auto copied = co_await CopyUserRows(*conn, generator, 0, 100, 1024, {}, Clock::now() + 30s);
        if (copied) co_return "COPY succeeded";
        if (copied.error().kind != DbErrorKind::kQuery || copied.error().sqlstate != "42P01") {
          co_return "unexpected error: " + copied.error().message;
        }
        Params none;
        auto after = co_await conn->Query("SELECT 1", std::move(none), Clock::now() + 10s);
        co_return after ? std::string("ok") : "after: " + after.error().message;
      });
  EXPECT_EQ(outcome, "ok");
}

TEST_F(SeedTest, BadRowMidStreamFailsTheCopyCleanly) {
  ASSERT_EQ(myriad::testing::Sql(schema_.url(), "CREATE TABLE t (n int)"), "");
  const auto outcome =
      RunOnOwnLoop<std::string>([&](asio::any_io_executor ex) -> asio::awaitable<std::string> {
        ConnectOptions options{schema_.url()};
        auto conn = co_await PgConnection::Connect(ex, options, Clock::now() + 10s);
        if (!conn) co_return "connect: " + conn.error().message;
        int chunk_number = 0;
        PgConnection::CopySource source = [&chunk_number](std::string& chunk) {
          ++chunk_number;
          chunk = chunk_number == 50 ? "not-a-number\n" : "1\n2\n3\n";
          return chunk_number < 100;
        };
        auto copied =
            co_await conn->CopyIn("COPY t FROM STDIN", std::move(source), Clock::now() + 30s);
        if (copied) co_return "COPY succeeded";
        if (copied.error().kind != DbErrorKind::kQuery) co_return copied.error().message;
        // A good COPY and a pipelined query both work afterwards.
        PgConnection::CopySource good = [](std::string& chunk) {
          chunk = "7\n8\n";
          return false;
        };
        auto again =
            co_await conn->CopyIn("COPY t FROM STDIN", std::move(good), Clock::now() + 30s);
        if (!again || *again != 2) co_return "second COPY failed";
        Params none;
        auto count =
            co_await conn->Query("SELECT count(*) FROM t", std::move(none), Clock::now() + 10s);
        co_return count ? std::string(count->GetString(0, 0).value_or("?")) : count.error().message;
      });
  EXPECT_EQ(outcome, "2");
}

}  // namespace
}  // namespace myriad::db

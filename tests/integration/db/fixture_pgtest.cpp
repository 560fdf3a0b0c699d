// The CTest PostgreSQL fixture (scripts/pg.sh via postgres_start) gives *_pgtest tests a
// running server configured from deploy/postgres/postgresql.conf. Blocking libpq is fine
// here: this is a test, not an io thread.
#include <gtest/gtest.h>
#include <libpq-fe.h>

#include <cctype>
#include <cstdint>
#include <cstdlib>
#include <fstream>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "support/pg_support.hpp"

namespace {

using Connection = std::unique_ptr<PGconn, decltype(&PQfinish)>;
using Result = std::unique_ptr<PGresult, decltype(&PQclear)>;

Connection Connect() {
  return Connection(PQconnectdb(myriad::testing::TestDatabaseUrl().c_str()), &PQfinish);
}

// Runs a query and returns its rows' first column; fails the test on an error.
std::vector<std::string> Column(PGconn* conn, const char* sql) {
  Result result(PQexec(conn, sql), &PQclear);
  EXPECT_EQ(PQresultStatus(result.get()), PGRES_TUPLES_OK) << sql << ": " << PQerrorMessage(conn);
  std::vector<std::string> values;
  if (PQresultStatus(result.get()) != PGRES_TUPLES_OK) return values;
  for (int row = 0; row < PQntuples(result.get()); ++row) {
    values.emplace_back(PQgetvalue(result.get(), row, 0));
  }
  return values;
}

std::string Scalar(PGconn* conn, const char* sql) {
  auto values = Column(conn, sql);
  return values.empty() ? std::string() : values.front();
}

std::string Trim(const std::string& s) {
  const auto begin = s.find_first_not_of(" \t\r\n");
  if (begin == std::string::npos) return {};
  const auto end = s.find_last_not_of(" \t\r\n");
  return s.substr(begin, end - begin + 1);
}

// `name = value` lines of a postgresql.conf, comments and quotes removed.
std::map<std::string, std::string> ReadConf(const std::string& path) {
  std::map<std::string, std::string> settings;
  std::ifstream in(path);
  std::string line;
  while (std::getline(in, line)) {
    line = Trim(line.substr(0, line.find('#')));
    const auto eq = line.find('=');
    if (eq == std::string::npos) continue;
    std::string value = Trim(line.substr(eq + 1));
    if (value.size() >= 2 && value.front() == '\'' && value.back() == '\'') {
      value = value.substr(1, value.size() - 2);
    }
    settings[Trim(line.substr(0, eq))] = value;
  }
  return settings;
}

// A memory setting such as "4GB" or "512kB" in bytes (a bare number is in `unit` bytes).
std::optional<std::int64_t> Bytes(const std::string& text, std::int64_t unit) {
  std::size_t digits = 0;
  while (digits < text.size() && std::isdigit(static_cast<unsigned char>(text[digits])) != 0) {
    ++digits;
  }
  if (digits == 0) return std::nullopt;
  const std::int64_t number = std::stoll(text.substr(0, digits));
  const std::string suffix = Trim(text.substr(digits));
  static const std::map<std::string, std::int64_t> kUnits = {{"", 0},           {"B", 1},
                                                             {"kB", 1LL << 10}, {"MB", 1LL << 20},
                                                             {"GB", 1LL << 30}, {"TB", 1LL << 40}};
  const auto it = kUnits.find(suffix);
  if (it == kUnits.end()) return std::nullopt;
  return number * (it->second == 0 ? unit : it->second);
}

class PostgresFixtureTest : public ::testing::Test {
 protected:
  void SetUp() override {
    conn_ = Connect();
    ASSERT_EQ(PQstatus(conn_.get()), CONNECTION_OK) << PQerrorMessage(conn_.get());
  }
  Connection conn_{nullptr, &PQfinish};
};

TEST_F(PostgresFixtureTest, ServerIsPostgres15OrLater) {
  EXPECT_GE(std::stoi(Scalar(conn_.get(), "SHOW server_version_num")), 150000);
  EXPECT_GE(PQserverVersion(conn_.get()), 150000);
}

TEST_F(PostgresFixtureTest, ConnectsAsMyriadToDatabaseMyriadInUtf8) {
  if (std::getenv("MYRIAD_DATABASE_URL") != nullptr) {
    GTEST_SKIP() << "MYRIAD_DATABASE_URL: a server of your own, names are yours";
  }
  EXPECT_EQ(Scalar(conn_.get(), "SELECT current_user"), "myriad");
  EXPECT_EQ(Scalar(conn_.get(), "SELECT current_database()"), "myriad");
  EXPECT_EQ(Scalar(conn_.get(), "SHOW server_encoding"), "UTF8");
  EXPECT_EQ(Scalar(conn_.get(), "SELECT host(inet_server_addr())"), "127.0.0.1");
}

TEST_F(PostgresFixtureTest, ExtensionsAreEnabled) {
  const auto names = Column(conn_.get(), "SELECT extname FROM pg_extension");
  const std::set<std::string> extensions(names.begin(), names.end());
  EXPECT_TRUE(extensions.contains("pg_trgm"));
  EXPECT_TRUE(extensions.contains("pg_stat_statements"));
  // pg_trgm works, and pg_stat_statements is preloaded (its view errors otherwise).
  EXPECT_EQ(Scalar(conn_.get(), "SELECT similarity('myriad', 'myriad')"), "1");
  EXPECT_FALSE(Scalar(conn_.get(), "SELECT count(*) FROM pg_stat_statements").empty());
}

TEST_F(PostgresFixtureTest, SettingsComeFromDeployConf) {
  if (std::getenv("MYRIAD_DATABASE_URL") != nullptr) {
    GTEST_SKIP() << "MYRIAD_DATABASE_URL: a server of your own has its own settings";
  }
  auto conf = ReadConf(std::string(MYRIAD_SOURCE_DIR) + "/deploy/postgres/postgresql.conf");
  ASSERT_TRUE(conf.contains("max_connections"));
  ASSERT_TRUE(conf.contains("shared_buffers"));
  EXPECT_EQ(Scalar(conn_.get(), "SHOW max_connections"), conf["max_connections"]);
  // shared_buffers is counted in 8kB pages; compare bytes so "4GB" equals "4096MB".
  const auto want = Bytes(conf["shared_buffers"], 8192);
  ASSERT_TRUE(want.has_value()) << "shared_buffers = " << conf["shared_buffers"];
  const auto pages =
      Scalar(conn_.get(), "SELECT setting FROM pg_settings WHERE name = 'shared_buffers'");
  EXPECT_EQ(std::stoll(pages) * 8192, *want);
  EXPECT_EQ(Scalar(conn_.get(), "SHOW jit"), conf["jit"]);
  EXPECT_EQ(Scalar(conn_.get(), "SHOW wal_level"), conf["wal_level"]);
}

TEST_F(PostgresFixtureTest, RoleCanCreateTables) {
  Result result(PQexec(conn_.get(),
                       "CREATE TEMP TABLE fixture_probe (id bigint PRIMARY KEY); "
                       "INSERT INTO fixture_probe VALUES (1)"),
                &PQclear);
  EXPECT_EQ(PQresultStatus(result.get()), PGRES_COMMAND_OK) << PQerrorMessage(conn_.get());
}

}  // namespace

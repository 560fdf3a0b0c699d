#include "support/pg_support.hpp"

#include <gtest/gtest.h>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <chrono>
#include <cstdlib>
#include <fstream>
#include <future>
#include <optional>
#include <random>
#include <stdexcept>
#include <thread>
#include <utility>

#include "db/pg_connection.hpp"
#include "support/coro_test.hpp"
#include "support/fixture_dir.hpp"

namespace myriad::testing {
namespace {

namespace asio = boost::asio;
using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;

constexpr auto kConnectTimeout = 10s;
constexpr auto kStatementTimeout = 60s;

asio::awaitable<std::string> RunStatement(db::PgConnection& conn, const std::string& sql,
                                          std::string* value) {
  db::Params none;
  auto result = co_await conn.Query(sql, std::move(none), Clock::now() + kStatementTimeout);
  if (!result) co_return "query: " + result.error().message;
  if (value != nullptr) {
    *value = result->rows() > 0 && !result->IsNull(0, 0)
                 ? std::string(result->GetString(0, 0).value_or(""))
                 : "<null>";
  }
  co_return std::string();
}

}  // namespace

std::string TestDatabaseUrl() {
  if (const char* url = std::getenv("MYRIAD_DATABASE_URL"); url != nullptr && *url != '\0') {
    return url;
  }
  const std::string dir = FixtureDir("MYRIAD_PGTEST_DIR", "pg");
  if (dir.empty()) {
    throw std::runtime_error(
        "no test database: run this test through ctest (its fixture starts PostgreSQL and sets "
        "MYRIAD_PGTEST_DIR), or set MYRIAD_PGTEST_DIR to a folder of `scripts/pg.sh start DIR`, "
        "or MYRIAD_DATABASE_URL to a server of your own");
  }
  const std::string path = dir + "/url";
  std::ifstream in(path);
  std::string url;
  if (!std::getline(in, url) || url.empty()) {
    throw std::runtime_error("no database URL in " + path +
                             ": did the postgres_start test (scripts/pg.sh start) run and pass?");
  }
  return url;
}

std::string UrlWithSearchPath(const std::string& url, const std::string& schema) {
  const char* const separator = url.find('?') == std::string::npos ? "?" : "&";
  return url + separator + "options=-csearch_path%3D" + schema + "%2Cpublic";
}

std::string Sql(const std::string& url, const std::string& sql, std::string* value) {
  return RunOnOwnLoop<std::string>([&](asio::any_io_executor ex) -> asio::awaitable<std::string> {
    db::ConnectOptions options{url};
    auto conn = co_await db::PgConnection::Connect(ex, options, Clock::now() + kConnectTimeout);
    if (!conn) co_return "connect: " + conn.error().message;
    co_return co_await RunStatement(*conn, sql, value);
  });
}

TestSchema::TestSchema(const std::string& prefix, std::string base_url)
    : base_url_(std::move(base_url)) {
  std::random_device device;
  name_ = prefix + "_" + std::to_string(std::mt19937_64(device())() % 1'000'000'000'000ULL);
  url_ = UrlWithSearchPath(base_url_, name_);
  if (auto error = Sql(base_url_, "CREATE SCHEMA " + name_); !error.empty()) {
    throw std::runtime_error("CREATE SCHEMA " + name_ + ": " + error);
  }
}

TestSchema::~TestSchema() {
  EXPECT_EQ(Sql(base_url_, "DROP SCHEMA " + name_ + " CASCADE"), "") << name_;
}

std::string TestSchema::Value(const std::string& sql) const {
  std::string value;
  const std::string error = Sql(url_, sql, &value);
  EXPECT_EQ(error, "") << sql;
  return error.empty() ? value : std::string();
}

struct PgSession::Impl {
  asio::io_context io{1};
  asio::executor_work_guard<asio::io_context::executor_type> work = asio::make_work_guard(io);
  std::optional<db::PgConnection> conn;
  std::thread thread;

  // Runs `body` on the session's thread and waits for its result.
  template <class T>
  T Run(std::function<asio::awaitable<T>()> body) {
    std::promise<T> done;
    auto future = done.get_future();
    asio::co_spawn(
        io, [&]() -> asio::awaitable<void> { done.set_value(co_await body()); },
        [&done](const std::exception_ptr& failure) {
          if (failure) done.set_exception(failure);
        });
    return future.get();
  }
};

PgSession::PgSession(const std::string& url) : impl_(std::make_unique<Impl>()) {
  impl_->thread = std::thread([impl = impl_.get()] { impl->io.run(); });
  Impl& impl = *impl_;
  impl.Run<bool>([&impl, &url]() -> asio::awaitable<bool> {
    db::ConnectOptions options{url};
    auto conn = co_await db::PgConnection::Connect(impl.io.get_executor(), options,
                                                   Clock::now() + kConnectTimeout);
    if (conn) impl.conn.emplace(std::move(*conn));
    co_return conn.has_value();
  });
}

PgSession::~PgSession() {
  Impl& impl = *impl_;
  // The connection belongs to the session's thread: close it there.
  impl.Run<bool>([&impl]() -> asio::awaitable<bool> {
    impl.conn.reset();
    co_return true;
  });
  impl.work.reset();
  impl.thread.join();
}

bool PgSession::connected() const { return impl_->conn.has_value(); }

int PgSession::backend_pid() const { return impl_->conn ? impl_->conn->backend_pid() : 0; }

std::string PgSession::Exec(const std::string& sql, std::string* value) {
  Impl& impl = *impl_;
  return impl.Run<std::string>([&impl, &sql, value]() -> asio::awaitable<std::string> {
    if (!impl.conn) co_return std::string("not connected");
    co_return co_await RunStatement(*impl.conn, sql, value);
  });
}

}  // namespace myriad::testing

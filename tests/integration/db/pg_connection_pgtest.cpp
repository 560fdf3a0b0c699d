// db::PgConnection against a real PostgreSQL (support/pg_support.hpp).
#include <gtest/gtest.h>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/experimental/awaitable_operators.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/redirect_error.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <chrono>
#include <cstdlib>
#include <exception>
#include <functional>
#include <optional>
#include <random>
#include <string>
#include <vector>

#include "db/pg_connection.hpp"
#include "support/coro_test.hpp"
#include "support/pg_support.hpp"

namespace myriad::db {
namespace {
namespace asio = boost::asio;
using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;

using myriad::testing::RunIo;

class PgConnectionTest : public ::testing::Test {
 protected:
  void SetUp() override {
    // The CTest fixture's cluster, or MYRIAD_DATABASE_URL: never skipped.
    url_ = myriad::testing::TestDatabaseUrl();
  }

  asio::awaitable<std::optional<PgConnection>> Open(asio::any_io_executor ex,
                                                    bool prepared = true) {
    // Named, not a braced temporary: GCC 12 destroys a braced aggregate temporary inside a
    // co_await expression twice.
    ConnectOptions options{url_, prepared};
    auto conn = co_await PgConnection::Connect(ex, options, Clock::now() + 10s);
    if (!conn) {
      ADD_FAILURE() << "connect: " << conn.error().Describe();
      co_return std::nullopt;
    }
    co_return std::move(*conn);
  }

  static Clock::time_point Soon() { return Clock::now() + 10s; }

  std::string url_;
};

TEST_F(PgConnectionTest, SelectWithParams) {
  RunIo([&](asio::any_io_executor ex) -> asio::awaitable<void> {
    auto conn = co_await Open(ex);
    CO_ASSERT_TRUE(conn);
    auto r = co_await conn->Query("select $1::int8 + 1 as n, $2::text as s, $3::bool as b",
                                  Params::Of(std::int64_t{41}, "hello", true), Soon());
    CO_ASSERT_TRUE(r.has_value());
    EXPECT_EQ(r->rows(), 1);
    EXPECT_EQ(r->GetInt64(0, "n").value_or(0), 42);
    EXPECT_EQ(r->GetString(0, "s").value_or(""), "hello");
    EXPECT_TRUE(r->GetBool(0, "b").value_or(false));
    EXPECT_TRUE(conn->usable());
    EXPECT_GT(conn->backend_pid(), 0);
  });
}

TEST_F(PgConnectionTest, HundredConcurrentQueriesSharePipelineAndKeepOrder) {
  RunIo([&](asio::any_io_executor ex) -> asio::awaitable<void> {
    auto conn = co_await Open(ex);
    CO_ASSERT_TRUE(conn);
    constexpr int kQueries = 100;
    std::vector<int> completion_order;
    std::vector<std::int64_t> got(kQueries, -1);
    int backend = conn->backend_pid();
    int finished = 0;
    asio::steady_timer all_done(ex, Clock::time_point::max());
    for (int i = 0; i < kQueries; ++i) {
      asio::co_spawn(
          ex,
          [&, i]() -> asio::awaitable<void> {
            auto r = co_await conn->Query("select $1::int8 * 3 as v, pg_backend_pid() as pid",
                                          Params::Of(std::int64_t{i}), Soon());
            if (r) {
              got[static_cast<std::size_t>(i)] = r->GetInt64(0, "v").value_or(-2);
              EXPECT_EQ(r->GetInt64(0, "pid").value_or(0), backend);
            } else {
              ADD_FAILURE() << "query " << i << ": " << r.error().Describe();
            }
            completion_order.push_back(i);
            if (++finished == kQueries) all_done.cancel();
          },
          asio::detached);
    }
    // Every coroutine has sent its query before any answer can be read: one pipeline.
    co_await asio::post(ex, asio::use_awaitable);
    EXPECT_EQ(conn->in_flight(), static_cast<std::size_t>(kQueries));
    boost::system::error_code ec;
    co_await all_done.async_wait(asio::redirect_error(asio::use_awaitable, ec));
    CO_ASSERT_TRUE(finished == kQueries);
    for (int i = 0; i < kQueries; ++i) {
      EXPECT_EQ(got[static_cast<std::size_t>(i)], std::int64_t{i} * 3) << "query " << i;
      EXPECT_EQ(completion_order[static_cast<std::size_t>(i)], i);
    }
    EXPECT_EQ(conn->in_flight(), 0U);
    EXPECT_TRUE(conn->usable());
  });
}

// Spawns `sqls` concurrently on one connection and collects their results in order.
asio::awaitable<std::vector<DbResult<PgResult>>> RunConcurrently(
    asio::any_io_executor ex,
    std::vector<std::function<asio::awaitable<DbResult<PgResult>>()>> calls) {
  std::vector<std::optional<DbResult<PgResult>>> slots(calls.size());
  std::size_t finished = 0;
  asio::steady_timer done(ex, Clock::time_point::max());
  for (std::size_t i = 0; i < calls.size(); ++i) {
    asio::co_spawn(
        ex,
        [&, i]() -> asio::awaitable<void> {
          slots[i].emplace(co_await calls[i]());
          if (++finished == calls.size()) done.cancel();
        },
        asio::detached);
  }
  boost::system::error_code ec;
  co_await done.async_wait(asio::redirect_error(asio::use_awaitable, ec));
  std::vector<DbResult<PgResult>> out;
  for (auto& s : slots) out.push_back(std::move(*s));
  co_return out;
}

TEST_F(PgConnectionTest, FailingQueryDoesNotSpoilItsNeighbours) {
  RunIo([&](asio::any_io_executor ex) -> asio::awaitable<void> {
    auto conn = co_await Open(ex);
    CO_ASSERT_TRUE(conn);
    Statement bad_prepare{"myriad_test_bad_prepare", "selec $1::int8"};
    Statement good{"myriad_test_good", "select $1::int8 + 100 as v"};
    auto q = [&](std::string sql, std::int64_t v) {
      return [&conn, sql, v]() { return conn->Query(sql, Params::Of(v), Soon()); };
    };
    // Built outside the co_await: GCC 12 miscompiles a braced list inside one.
    std::vector<std::function<asio::awaitable<DbResult<PgResult>>()>> calls;
    calls.emplace_back(q("select $1::int8 as v", 1));
    calls.emplace_back(q("select 1 / ($1::int8 - 2) as v", 2));
    calls.emplace_back(q("select $1::int8 as v", 3));
    calls.emplace_back(
        [&] { return conn->Query(bad_prepare, Params::Of(std::int64_t{4}), Soon()); });
    calls.emplace_back([&] { return conn->Query(good, Params::Of(std::int64_t{5}), Soon()); });
    calls.emplace_back(q("select $1::int8 as v", 6));
    auto results = co_await RunConcurrently(ex, std::move(calls));
    CO_ASSERT_TRUE(results.size() == 6);
    CO_ASSERT_TRUE(results[0].has_value());
    EXPECT_EQ(results[0]->GetInt64(0, 0).value_or(0), 1);
    CO_ASSERT_TRUE(!results[1].has_value());
    EXPECT_EQ(results[1].error().kind, DbErrorKind::kQuery);
    EXPECT_EQ(results[1].error().sqlstate, "22012");
    EXPECT_EQ(results[1].error().SqlStateClass(), "22");
    CO_ASSERT_TRUE(results[2].has_value());
    EXPECT_EQ(results[2]->GetInt64(0, 0).value_or(0), 3);
    CO_ASSERT_TRUE(!results[3].has_value());
    EXPECT_EQ(results[3].error().sqlstate, "42601");
    CO_ASSERT_TRUE(results[4].has_value());
    EXPECT_EQ(results[4]->GetInt64(0, 0).value_or(0), 105);
    CO_ASSERT_TRUE(results[5].has_value());
    EXPECT_EQ(results[5]->GetInt64(0, 0).value_or(0), 6);
    EXPECT_TRUE(conn->usable());
    // The failed Prepare is forgotten: the same statement fails the same way again instead
    // of pointing at a statement that does not exist.
    auto again = co_await conn->Query(bad_prepare, Params::Of(std::int64_t{4}), Soon());
    CO_ASSERT_TRUE(!again.has_value());
    EXPECT_EQ(again.error().sqlstate, "42601");
  });
}

TEST_F(PgConnectionTest, NamedStatementsArePreparedOncePerConnection) {
  for (bool prepared : {true, false}) {
    SCOPED_TRACE(prepared ? "prepared" : "unnamed");
    RunIo([&](asio::any_io_executor ex) -> asio::awaitable<void> {
      auto conn = co_await Open(ex, prepared);
      CO_ASSERT_TRUE(conn);
      Statement twice{"myriad_test_twice", "select $1::text || '!' as s"};
      for (const char* word : {"one", "two"}) {
        auto r = co_await conn->Query(twice, Params::Of(word), Soon());
        CO_ASSERT_TRUE(r.has_value());
        EXPECT_EQ(r->GetString(0, 0).value_or(""), std::string(word) + "!");
      }
      auto count =
          co_await conn->Query("select count(*) from pg_prepared_statements where name = $1",
                               Params::Of(twice.name), Soon());
      CO_ASSERT_TRUE(count.has_value());
      EXPECT_EQ(count->GetInt64(0, 0).value_or(-1), prepared ? 1 : 0);
    });
  }
}

TEST_F(PgConnectionTest, InjectionStringsAreData) {
  RunIo([&](asio::any_io_executor ex) -> asio::awaitable<void> {
    auto conn = co_await Open(ex);
    CO_ASSERT_TRUE(conn);
    auto created = co_await conn->Query(
        "create temp table victims (id int8 primary key, name text not null)", Params{}, Soon());
    CO_ASSERT_TRUE(created.has_value());
    const std::vector<std::string> evil = {
        "Robert'); DROP TABLE victims;--",  "' OR '1'='1",
        "$1; select pg_sleep(10)",          "\\'; truncate victims; --",
        "\"quoted\" /* comment */ -- tail", "ünïcødé ✓",
    };
    for (std::size_t i = 0; i < evil.size(); ++i) {
      auto r = co_await conn->Query("insert into victims (id, name) values ($1, $2)",
                                    Params::Of(static_cast<std::int64_t>(i), evil[i]), Soon());
      CO_ASSERT_TRUE(r.has_value());
      EXPECT_EQ(r->affected_rows(), 1);
    }
    auto rows = co_await conn->Query("select id, name from victims order by id", Params{}, Soon());
    CO_ASSERT_TRUE(rows.has_value());
    CO_ASSERT_TRUE(rows->rows() == static_cast<int>(evil.size()));
    for (int i = 0; i < rows->rows(); ++i) {
      EXPECT_EQ(rows->GetString(i, "name").value_or(""), evil[static_cast<std::size_t>(i)]);
    }
    auto match = co_await conn->Query("select count(*) from victims where name = $1",
                                      Params::Of("' OR '1'='1"), Soon());
    CO_ASSERT_TRUE(match.has_value());
    EXPECT_EQ(match->GetInt64(0, 0).value_or(-1), 1);

    using namespace std::string_view_literals;
    auto nul = co_await conn->Query("select $1::text", Params::Of("a\0b"sv), Soon());
    CO_ASSERT_TRUE(!nul.has_value());
    EXPECT_EQ(nul.error().kind, DbErrorKind::kBadParameter);
    auto bad_utf8 = co_await conn->Query("select $1::text", Params::Of("\xff\xfe"), Soon());
    CO_ASSERT_TRUE(!bad_utf8.has_value());
    EXPECT_EQ(bad_utf8.error().sqlstate, "22021");
    EXPECT_TRUE(conn->usable());
  });
}

TEST_F(PgConnectionTest, NullsRoundTrip) {
  RunIo([&](asio::any_io_executor ex) -> asio::awaitable<void> {
    auto conn = co_await Open(ex);
    CO_ASSERT_TRUE(conn);
    Params p;
    p.Add(std::nullopt)
        .Add(std::optional<std::int64_t>{})
        .Add("")
        .Add(std::optional<std::string>{"x"});
    auto r = co_await conn->Query(
        "select $1::text as a, $2::int8 as b, $3::text as c, $4::text as d, $1::text is null "
        "as a_is_null",
        p, Soon());
    CO_ASSERT_TRUE(r.has_value());
    EXPECT_TRUE(r->IsNull(0, "a"));
    EXPECT_TRUE(r->IsNull(0, "b"));
    EXPECT_FALSE(r->IsNull(0, "c"));
    EXPECT_EQ(r->GetString(0, "c").value_or("?"), "");
    EXPECT_EQ(r->GetString(0, "d").value_or("?"), "x");
    EXPECT_TRUE(r->GetBool(0, "a_is_null").value_or(false));
    auto a = r->GetString(0, "a");
    CO_ASSERT_TRUE(!a.has_value());
    EXPECT_EQ(a.error().kind, DbErrorKind::kBadData);
    EXPECT_FALSE(r->GetInt64(0, "b").has_value());
  });
}

// Statements of backend `pid` whose text holds `marker` and that are still running, polled
// for up to 5 s until there are none; -1 when the observer's query fails.
asio::awaitable<std::int64_t> ActiveStatements(asio::any_io_executor ex, PgConnection& observer,
                                               int pid, const std::string& marker) {
  std::int64_t active = -1;
  for (int i = 0; i < 50 && active != 0; ++i) {
    auto r = co_await observer.Query(
        "select count(*) from pg_stat_activity where pid = $1 and state = 'active' "
        "and query like '%' || $2 || '%'",
        Params::Of(std::int64_t{pid}, marker), Clock::now() + 10s);
    if (!r) co_return -1;
    active = r->GetInt64(0, 0).value_or(-1);
    if (active != 0) {
      asio::steady_timer pause(ex, 100ms);
      co_await pause.async_wait(asio::use_awaitable);
    }
  }
  co_return active;
}

TEST_F(PgConnectionTest, DeadlineTimesOutAndCancelsOnServer) {
  std::random_device rd;
  const std::string marker = "myriad_timeout_" + std::to_string(rd());
  RunIo([&](asio::any_io_executor ex) -> asio::awaitable<void> {
    auto conn = co_await Open(ex);
    auto observer = co_await Open(ex);
    CO_ASSERT_TRUE(conn && observer);
    const int pid = conn->backend_pid();
    const std::string sleep_sql = "select pg_sleep(30) /* " + marker + " */";
    std::optional<DbResult<PgResult>> neighbour;
    asio::steady_timer neighbour_done(ex, Clock::time_point::max());

    auto started = Clock::now();
    // Sent behind the sleeping query in the same pipeline, with a generous deadline.
    asio::co_spawn(
        ex,
        [&]() -> asio::awaitable<void> {
          co_await asio::post(ex, asio::use_awaitable);
          neighbour.emplace(co_await conn->Query("select 7 as v", Params{}, Soon()));
          neighbour_done.cancel();
        },
        asio::detached);
    auto slow = co_await conn->Query(sleep_sql, Params{}, Clock::now() + 300ms);
    auto waited = Clock::now() - started;
    CO_ASSERT_TRUE(!slow.has_value());
    EXPECT_EQ(slow.error().kind, DbErrorKind::kTimeout) << slow.error().Describe();
    EXPECT_LT(waited, 3s);
    EXPECT_FALSE(conn->usable()) << "a connection with a timed-out query must not take more";
    auto refused = co_await conn->Query("select 1", Params{}, Soon());
    CO_ASSERT_TRUE(!refused.has_value());
    EXPECT_EQ(refused.error().kind, DbErrorKind::kConnection);

    // The statement is gone from the server soon, long before pg_sleep(30) would end.
    const std::int64_t active = co_await ActiveStatements(ex, *observer, pid, marker);
    EXPECT_EQ(active, 0) << "the timed-out statement is still running on the server";

    boost::system::error_code ec;
    if (!neighbour)
      co_await neighbour_done.async_wait(asio::redirect_error(asio::use_awaitable, ec));
    CO_ASSERT_TRUE(neighbour.has_value());
    CO_ASSERT_TRUE(neighbour->has_value());
    EXPECT_EQ((*neighbour)->GetInt64(0, 0).value_or(0), 7);
    EXPECT_EQ(conn->in_flight(), 0U);
  });
}

TEST_F(PgConnectionTest, CallerCancellationStopsTheStatementAndTheConnection) {
  std::random_device rd;
  const std::string marker = "myriad_cancel_" + std::to_string(rd());
  RunIo([&](asio::any_io_executor ex) -> asio::awaitable<void> {
    using namespace asio::experimental::awaitable_operators;
    auto conn = co_await Open(ex);
    auto observer = co_await Open(ex);
    CO_ASSERT_TRUE(conn && observer);
    const int pid = conn->backend_pid();
    const std::string sql = "select pg_sleep(30) /* " + marker + " */";
    // The request's own deadline (a shorter timer) wins the race and cancels the query.
    asio::steady_timer request_deadline(ex, 200ms);
    auto started = Clock::now();
    auto which = co_await (conn->Query(sql, Params{}, Soon()) ||
                           request_deadline.async_wait(asio::use_awaitable));
    EXPECT_EQ(which.index(), 1U);
    EXPECT_LT(Clock::now() - started, 3s);
    EXPECT_FALSE(conn->usable());
    const std::int64_t active = co_await ActiveStatements(ex, *observer, pid, marker);
    EXPECT_EQ(active, 0) << "the cancelled statement is still running on the server";
  });
}

TEST_F(PgConnectionTest, ServerTerminatingTheSessionIsAConnectionError) {
  RunIo([&](asio::any_io_executor ex) -> asio::awaitable<void> {
    auto conn = co_await Open(ex);
    auto admin = co_await Open(ex);
    CO_ASSERT_TRUE(conn && admin);
    std::optional<DbResult<PgResult>> victim;
    asio::steady_timer victim_done(ex, Clock::time_point::max());
    asio::co_spawn(
        ex,
        [&]() -> asio::awaitable<void> {
          victim.emplace(co_await conn->Query("select pg_sleep(30)", Params{}, Soon() + 20s));
          victim_done.cancel();
        },
        asio::detached);
    asio::steady_timer pause(ex, 200ms);
    co_await pause.async_wait(asio::use_awaitable);
    auto killed = co_await admin->Query("select pg_terminate_backend($1)",
                                        Params::Of(std::int64_t{conn->backend_pid()}), Soon());
    CO_ASSERT_TRUE(killed.has_value());
    EXPECT_TRUE(killed->GetBool(0, 0).value_or(false));
    boost::system::error_code ec;
    if (!victim) co_await victim_done.async_wait(asio::redirect_error(asio::use_awaitable, ec));
    CO_ASSERT_TRUE(victim.has_value());
    CO_ASSERT_TRUE(!victim->has_value());
    EXPECT_EQ(victim->error().kind, DbErrorKind::kConnection) << victim->error().Describe();
    // The loss is noticed without another query.
    for (int i = 0; i < 50 && conn->usable(); ++i) {
      asio::steady_timer wait(ex, 20ms);
      co_await wait.async_wait(asio::use_awaitable);
    }
    EXPECT_FALSE(conn->usable());
    auto after = co_await conn->Query("select 1", Params{}, Soon());
    CO_ASSERT_TRUE(!after.has_value());
    EXPECT_EQ(after.error().kind, DbErrorKind::kConnection);
  });
}

TEST_F(PgConnectionTest, ConnectionRefusedIsAConnectionErrorNotAHang) {
  std::uint16_t port = 0;
  {
    asio::io_context probe;
    asio::ip::tcp::acceptor a(probe, {asio::ip::make_address("127.0.0.1"), 0});
    port = a.local_endpoint().port();
  }  // closed again: nothing listens there now
  RunIo([&](asio::any_io_executor ex) -> asio::awaitable<void> {
    ConnectOptions options{"postgresql://nobody@127.0.0.1:" + std::to_string(port) + "/none"};
    auto started = Clock::now();
    auto conn = co_await PgConnection::Connect(ex, options, Clock::now() + 10s);
    CO_ASSERT_TRUE(!conn.has_value());
    EXPECT_EQ(conn.error().kind, DbErrorKind::kConnection) << conn.error().Describe();
    EXPECT_LT(Clock::now() - started, 5s);
  });
}

TEST_F(PgConnectionTest, SilentServerHitsTheConnectDeadline) {
  RunIo([&](asio::any_io_executor ex) -> asio::awaitable<void> {
    // Accepts at the TCP level (backlog) and never answers the startup packet.
    asio::ip::tcp::acceptor silent(ex, {asio::ip::make_address("127.0.0.1"), 0});
    auto port = silent.local_endpoint().port();
    ConnectOptions options{"postgresql://nobody@127.0.0.1:" + std::to_string(port) +
                           "/none?sslmode=disable&gssencmode=disable"};
    auto started = Clock::now();
    auto conn = co_await PgConnection::Connect(ex, options, Clock::now() + 500ms);
    auto waited = Clock::now() - started;
    CO_ASSERT_TRUE(!conn.has_value());
    EXPECT_EQ(conn.error().kind, DbErrorKind::kTimeout) << conn.error().Describe();
    EXPECT_GE(waited, 400ms);
    EXPECT_LT(waited, 3s);
  });
}

TEST_F(PgConnectionTest, BadConnectionStringIsAConnectionError) {
  RunIo([&](asio::any_io_executor ex) -> asio::awaitable<void> {
    ConnectOptions options{"postgresql://[bad"};
    auto conn = co_await PgConnection::Connect(ex, options, Clock::now() + 5s);
    CO_ASSERT_TRUE(!conn.has_value());
    EXPECT_EQ(conn.error().kind, DbErrorKind::kConnection);
  });
}

}  // namespace
}  // namespace myriad::db

// db::PgPool against a real PostgreSQL (support/pg_support.hpp).
#include <gtest/gtest.h>
#include <unistd.h>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/redirect_error.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <chrono>
#include <cstdlib>
#include <exception>
#include <functional>
#include <optional>
#include <set>
#include <string>
#include <tuple>
#include <vector>

#include "db/pg_pool.hpp"
#include "support/coro_test.hpp"
#include "support/pg_support.hpp"

namespace myriad::db {
namespace {
namespace asio = boost::asio;
using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;

using myriad::testing::RunIo;

class PgPoolTest : public ::testing::Test {
 protected:
  void SetUp() override {
    // The CTest fixture's cluster, or MYRIAD_DATABASE_URL: never skipped.
    url_ = myriad::testing::TestDatabaseUrl();
  }

  PoolOptions Options(std::size_t size, std::size_t overflow, std::size_t depth) const {
    PoolOptions o;
    o.connect.conninfo = url_;
    o.size = size;
    o.max_overflow = overflow;
    o.max_pipeline_depth = depth;
    return o;
  }

  static Clock::time_point Soon() { return Clock::now() + 10s; }

  std::string url_;
};

// Runs `n` copies of `sql` at once through the pool; returns their results in order.
asio::awaitable<std::vector<DbResult<PgResult>>> Concurrently(asio::any_io_executor ex,
                                                              PgPool& pool, std::string sql,
                                                              int n) {
  std::vector<std::optional<DbResult<PgResult>>> slots(static_cast<std::size_t>(n));
  int finished = 0;
  asio::steady_timer done(ex, Clock::time_point::max());
  for (int i = 0; i < n; ++i) {
    asio::co_spawn(
        ex,
        [&, i]() -> asio::awaitable<void> {
          slots[static_cast<std::size_t>(i)].emplace(
              co_await pool.Query(sql, Params{}, Clock::now() + 10s));
          if (++finished == n) done.cancel();
        },
        asio::detached);
  }
  boost::system::error_code ec;
  if (finished < n) co_await done.async_wait(asio::redirect_error(asio::use_awaitable, ec));
  std::vector<DbResult<PgResult>> out;
  for (auto& s : slots) out.push_back(std::move(*s));
  co_return out;
}

// The distinct backend pids that `select pg_backend_pid()...` results name; nullopt when
// any query failed.
std::optional<std::set<std::int64_t>> BackendPids(const std::vector<DbResult<PgResult>>& results) {
  std::set<std::int64_t> pids;
  for (const auto& r : results) {
    if (!r) return std::nullopt;
    pids.insert(r->GetInt64(0, 0).value_or(0));
  }
  return pids;
}

TEST_F(PgPoolTest, PipelinesOntoFewConnections) {
  RunIo([&](asio::any_io_executor ex) -> asio::awaitable<void> {
    PgPool pool(ex, Options(2, 0, 64));
    auto results = co_await Concurrently(ex, pool, "select pg_backend_pid()", 100);
    auto backends = BackendPids(results);
    CO_ASSERT_TRUE(backends.has_value());
    const std::set<std::int64_t>& pids = *backends;
    EXPECT_LE(pids.size(), 2U);
    EXPECT_GE(pids.size(), 1U);
    auto s = pool.stats();
    EXPECT_LE(s.open, 2U);
    EXPECT_EQ(s.waiters, 0U);
    EXPECT_EQ(s.connect_failures, 0U);
  });
}

TEST_F(PgPoolTest, GrowsToSizeInTheBackgroundWhenEveryConnectionIsBusy) {
  RunIo([&](asio::any_io_executor ex) -> asio::awaitable<void> {
    // Depth 64 is never reached by 12 queries: without background growth every batch
    // would pipeline onto the one connection the warm-up opened.
    PgPool pool(ex, Options(3, 0, 64));
    auto warm = co_await pool.Query("select 1", Params{}, Soon());
    CO_ASSERT_TRUE(warm.has_value());
    CO_ASSERT_TRUE(pool.stats().connects == 1U);
    std::size_t widest = 0;
    for (int batch = 0; batch < 6 && widest < 3; ++batch) {
      auto results =
          co_await Concurrently(ex, pool, "select pg_backend_pid() from pg_sleep(0.1)", 12);
      auto backends = BackendPids(results);
      CO_ASSERT_TRUE(backends.has_value());
      const std::set<std::int64_t>& pids = *backends;
      widest = std::max(widest, pids.size());
    }
    EXPECT_EQ(widest, 3U) << "later batches spread over every connection up to size";
    auto s = pool.stats();
    EXPECT_EQ(s.open, 3U);
    EXPECT_EQ(s.connects, 3U) << "never beyond size: growth is not overflow";
    EXPECT_EQ(s.overflow, 0U);
  });
}

TEST_F(PgPoolTest, SizeOneNeverGrows) {
  RunIo([&](asio::any_io_executor ex) -> asio::awaitable<void> {
    PgPool pool(ex, Options(1, 0, 64));
    auto results = co_await Concurrently(ex, pool, "select pg_backend_pid() from pg_sleep(0.1)", 8);
    auto backends = BackendPids(results);
    CO_ASSERT_TRUE(backends.has_value());
    const std::set<std::int64_t>& pids = *backends;
    EXPECT_EQ(pids.size(), 1U);
    EXPECT_EQ(pool.stats().connects, 1U);
  });
}

TEST_F(PgPoolTest, ExhaustedPoolAnswersWithinTheAcquireTimeout) {
  RunIo([&](asio::any_io_executor ex) -> asio::awaitable<void> {
    auto options = Options(1, 0, 1);
    options.acquire_timeout = 300ms;
    PgPool pool(ex, options);
    std::optional<DbResult<PgResult>> holder;
    asio::steady_timer holder_done(ex, Clock::time_point::max());
    asio::co_spawn(
        ex,
        [&]() -> asio::awaitable<void> {
          holder.emplace(co_await pool.Query("select pg_sleep(1.5)", Params{}, Soon()));
          holder_done.cancel();
        },
        asio::detached);
    asio::steady_timer pause(ex, 300ms);  // the holder has its connection by now
    co_await pause.async_wait(asio::use_awaitable);
    auto started = Clock::now();
    auto blocked = co_await pool.Query("select 1", Params{}, Soon());
    auto waited = Clock::now() - started;
    CO_ASSERT_TRUE(!blocked.has_value());
    EXPECT_EQ(blocked.error().kind, DbErrorKind::kPoolExhausted) << blocked.error().Describe();
    EXPECT_GE(waited, 250ms);
    EXPECT_LT(waited, 1s);
    boost::system::error_code ec;
    if (!holder) co_await holder_done.async_wait(asio::redirect_error(asio::use_awaitable, ec));
    CO_ASSERT_TRUE(holder && holder->has_value());
    auto after = co_await pool.Query("select 2", Params{}, Soon());
    CO_ASSERT_TRUE(after.has_value());
    EXPECT_EQ(after->GetInt64(0, 0).value_or(0), 2);
  });
}

TEST_F(PgPoolTest, OverflowOpensExtraConnectionsAndClosesThem) {
  RunIo([&](asio::any_io_executor ex) -> asio::awaitable<void> {
    PgPool pool(ex, Options(1, 2, 1));
    auto warm = co_await pool.Query("select 1", Params{}, Soon());
    CO_ASSERT_TRUE(warm.has_value());
    auto results = co_await Concurrently(ex, pool, "select pg_backend_pid() from pg_sleep(0.3)", 3);
    auto backends = BackendPids(results);
    CO_ASSERT_TRUE(backends.has_value());
    const std::set<std::int64_t>& pids = *backends;
    EXPECT_EQ(pids.size(), 3U) << "three sleeping queries at depth 1 need three connections";
    auto s = pool.stats();
    EXPECT_EQ(s.open, 1U) << "overflow connections close when idle";
    EXPECT_EQ(s.overflow, 0U);
    EXPECT_EQ(s.connects, 3U);
  });
}

TEST_F(PgPoolTest, ReconnectsAfterTheServerDropsTheConnection) {
  RunIo([&](asio::any_io_executor ex) -> asio::awaitable<void> {
    PgPool pool(ex, Options(1, 0, 8));
    PgPool admin(ex, Options(1, 0, 8));
    auto first = co_await pool.Query("select pg_backend_pid()", Params{}, Soon());
    CO_ASSERT_TRUE(first.has_value());
    auto pid = first->GetInt64(0, 0).value_or(0);
    auto killed = co_await admin.Query("select pg_terminate_backend($1)", Params::Of(pid), Soon());
    CO_ASSERT_TRUE(killed.has_value());
    asio::steady_timer pause(ex, 200ms);  // let the pool's connection notice
    co_await pause.async_wait(asio::use_awaitable);
    auto second = co_await pool.Query("select pg_backend_pid()", Params{}, Soon());
    CO_ASSERT_TRUE(second.has_value());
    EXPECT_NE(second->GetInt64(0, 0).value_or(pid), pid);
    EXPECT_EQ(pool.stats().connects, 2U);
    EXPECT_EQ(pool.stats().reconnects, 1U);
  });
}

TEST_F(PgPoolTest, TimedOutQueryDoesNotLeaveAPoisonedConnection) {
  RunIo([&](asio::any_io_executor ex) -> asio::awaitable<void> {
    PgPool pool(ex, Options(1, 0, 8));
    auto first = co_await pool.Query("select pg_backend_pid()", Params{}, Soon());
    CO_ASSERT_TRUE(first.has_value());
    auto slow = co_await pool.Query("select pg_sleep(30)", Params{}, Clock::now() + 200ms);
    CO_ASSERT_TRUE(!slow.has_value());
    EXPECT_EQ(slow.error().kind, DbErrorKind::kTimeout);
    auto next = co_await pool.Query("select pg_backend_pid()", Params{}, Soon());
    CO_ASSERT_TRUE(next.has_value());
    EXPECT_NE(next->GetInt64(0, 0).value_or(0), first->GetInt64(0, 0).value_or(0));
  });
}

TEST_F(PgPoolTest, IdleConnectionsArePingedBeforeReuse) {
  for (auto after : {std::chrono::milliseconds(0), std::chrono::milliseconds(3'600'000)}) {
    SCOPED_TRACE(after.count());
    RunIo([&](asio::any_io_executor ex) -> asio::awaitable<void> {
      auto options = Options(1, 0, 8);
      options.pre_ping_after = after;
      PgPool pool(ex, options);
      for (int i = 0; i < 3; ++i) {
        auto r = co_await pool.Query("select 1", Params{}, Soon());
        CO_ASSERT_TRUE(r.has_value());
        asio::steady_timer pause(ex, 5ms);
        co_await pause.async_wait(asio::use_awaitable);
      }
      auto s = pool.stats();
      EXPECT_EQ(s.pre_pings, after.count() == 0 ? 3U : 0U);
      EXPECT_EQ(s.pre_ping_failures, 0U);
      EXPECT_EQ(s.connects, 1U);
    });
  }
}

TEST_F(PgPoolTest, IdleConnectionKilledBetweenQueriesIsReplacedUnseen) {
  RunIo([&](asio::any_io_executor ex) -> asio::awaitable<void> {
    auto options = Options(1, 0, 8);
    options.pre_ping_after = std::chrono::milliseconds(0);  // ping before every reuse
    PgPool pool(ex, options);
    PgPool admin(ex, Options(1, 0, 8));
    auto first = co_await pool.Query("select pg_backend_pid()", Params{}, Soon());
    CO_ASSERT_TRUE(first.has_value());
    const auto pid = first->GetInt64(0, 0).value_or(0);
    // Killed while idle, and the query follows at once: whether the pool notices the lost
    // socket first or only through the failing ping, the caller must not see an error.
    auto killed = co_await admin.Query("select pg_terminate_backend($1)", Params::Of(pid), Soon());
    CO_ASSERT_TRUE(killed.has_value());
    asio::steady_timer pause(ex, 20ms);
    co_await pause.async_wait(asio::use_awaitable);
    auto second = co_await pool.Query("select pg_backend_pid()", Params{}, Soon());
    EXPECT_TRUE(second.has_value()) << second.error().Describe();
    CO_ASSERT_TRUE(second.has_value());
    EXPECT_NE(second->GetInt64(0, 0).value_or(pid), pid);
    auto s = pool.stats();
    EXPECT_EQ(s.connects, 2U);
    EXPECT_GE(s.pre_pings, 1U);
  });
}

TEST_F(PgPoolTest, UnreachableServerFailsFastAndBacksOff) {
  std::uint16_t port = 0;
  {
    asio::io_context probe;
    asio::ip::tcp::acceptor a(probe, {asio::ip::make_address("127.0.0.1"), 0});
    port = a.local_endpoint().port();
  }
  RunIo([&](asio::any_io_executor ex) -> asio::awaitable<void> {
    PoolOptions o;
    o.connect.conninfo = "postgresql://nobody@127.0.0.1:" + std::to_string(port) + "/none";
    o.reconnect_min = 2s;
    o.reconnect_max = 2s;
    PgPool pool(ex, o);
    auto started = Clock::now();
    auto first = co_await pool.Query("select 1", Params{}, Soon());
    CO_ASSERT_TRUE(!first.has_value());
    EXPECT_EQ(first.error().kind, DbErrorKind::kConnection);
    auto second = co_await pool.Query("select 1", Params{}, Soon());
    CO_ASSERT_TRUE(!second.has_value());
    EXPECT_EQ(second.error().kind, DbErrorKind::kConnection);
    EXPECT_LT(Clock::now() - started, 1s);
    EXPECT_EQ(pool.stats().connect_failures, 1U) << "the second query must not retry in backoff";
  });
}

// Transactions: a table of the test's own (transactions span sessions, so no temp table).
class PgTransactionTest : public PgPoolTest {
 protected:
  void SetUp() override {
    PgPoolTest::SetUp();
    table_ = "test_tx_" + std::to_string(::getpid()) + "_" +
             std::to_string(Clock::now().time_since_epoch().count() % 1'000'000'007);
    Exec("CREATE TABLE " + table_ + " (v int)");
  }
  void TearDown() override { Exec("DROP TABLE IF EXISTS " + table_); }

  void Exec(const std::string& sql) {
    RunIo([&](asio::any_io_executor ex) -> asio::awaitable<void> {
      PgPool pool(ex, Options(1, 0, 8));
      auto r = co_await pool.Query(sql, Params{}, Soon());
      EXPECT_TRUE(r.has_value()) << sql << ": " << (r ? "" : r.error().Describe());
    });
  }
  static asio::awaitable<std::int64_t> Count(PgPool& pool, const std::string& table) {
    const std::string sql = "select count(*) from " + table;
    auto r = co_await pool.Query(sql, Params{}, Soon());
    co_return r ? r->GetInt64(0, 0).value_or(-1) : -1;
  }

  std::string table_;
};

// With write connections, a writing statement that waits (here on a row lock, in
// production on its commit's fsync) holds up nothing pipelined on the read connection.
// Without them the same read queues behind it on the one connection and times out.
TEST_F(PgTransactionTest, AWaitingWriteDoesNotHoldUpReadsWithWriteConnections) {
  Exec("insert into " + table_ + " values (1)");
  const Statement update{"test_pool_update", "update " + table_ + " set v = v + 1", kWrites};
  const auto blocked_write_then_read = [&](std::size_t write_connections) {
    std::optional<DbResult<PgResult>> read;
    std::optional<DbResult<PgResult>> write;
    std::size_t write_pool_open = 0;
    RunIo([&](asio::any_io_executor ex) -> asio::awaitable<void> {
      PgPool holder(ex, Options(1, 0, 8));
      auto lock = co_await holder.Begin(Soon());
      CO_ASSERT_TRUE(lock.has_value());
      auto locked =
          co_await lock->Query("select v from " + table_ + " for update", Params{}, Soon());
      CO_ASSERT_TRUE(locked.has_value());

      auto options = Options(1, 0, 64);
      options.write_connections = write_connections;
      PgPool pool(ex, options);
      auto warm = co_await pool.Query("select 1", Params{}, Soon());
      CO_ASSERT_TRUE(warm.has_value());
      asio::steady_timer written(ex, Clock::time_point::max());
      asio::co_spawn(
          ex,
          [&]() -> asio::awaitable<void> {
            write.emplace(co_await pool.Query(update, Params{}, Soon()));
            written.cancel();
          },
          asio::detached);
      // Let the update reach the server and wait there for the lock.
      asio::steady_timer pause(ex, Clock::now() + 200ms);
      co_await pause.async_wait(asio::use_awaitable);
      read.emplace(co_await pool.Query("select 1", Params{}, Clock::now() + 1s));
      if (pool.writes() != nullptr) write_pool_open = pool.writes()->stats().open;

      auto released = co_await lock->Commit(Soon());
      CO_ASSERT_TRUE(released.has_value());
      boost::system::error_code ec;
      if (!write) co_await written.async_wait(asio::redirect_error(asio::use_awaitable, ec));
    });
    return std::make_tuple(std::move(read), std::move(write), write_pool_open);
  };

  auto [read, write, open] = blocked_write_then_read(1);
  ASSERT_TRUE(read.has_value());
  EXPECT_TRUE(read->has_value()) << "the read did not wait for the write: "
                                 << (*read ? "" : read->error().Describe());
  ASSERT_TRUE(write.has_value());
  EXPECT_TRUE(write->has_value()) << "the update ran once the lock was released";
  EXPECT_EQ(open, 1U) << "on the write connection";

  auto [shared_read, shared_write, none] = blocked_write_then_read(0);
  ASSERT_TRUE(shared_read.has_value());
  ASSERT_FALSE(shared_read->has_value()) << "without write connections the read queues";
  EXPECT_EQ(shared_read->error().kind, DbErrorKind::kTimeout);
  EXPECT_EQ(none, 0U);
}

// Transactions take a write connection too: the read connections stay free for pipelines.
TEST_F(PgTransactionTest, TransactionsUseTheWriteConnections) {
  RunIo([&](asio::any_io_executor ex) -> asio::awaitable<void> {
    auto options = Options(1, 0, 8);
    options.write_connections = 1;
    PgPool pool(ex, options);
    CO_ASSERT_TRUE(pool.writes() != nullptr);
    auto tx = co_await pool.Begin(Soon());
    CO_ASSERT_TRUE(tx.has_value());
    EXPECT_EQ(pool.writes()->stats().in_use, 1U);
    EXPECT_EQ(pool.stats().open, 0U) << "no read connection was needed";
    auto r = co_await pool.Query("select 1", Params{}, Soon());
    EXPECT_TRUE(r.has_value()) << "a read while the transaction is open";
    auto committed = co_await tx->Commit(Soon());
    EXPECT_TRUE(committed.has_value());
  });
}

TEST_F(PgTransactionTest, CommitMakesWritesVisibleRollbackDiscardsThem) {
  RunIo([&](asio::any_io_executor ex) -> asio::awaitable<void> {
    PgPool pool(ex, Options(2, 0, 8));
    const std::string insert = "insert into " + table_ + " values ($1)";
    {
      auto tx = co_await pool.Begin(Soon());
      CO_ASSERT_TRUE(tx.has_value());
      auto a = co_await tx->Query(insert, Params::Of(std::int64_t{1}), Soon());
      auto b = co_await tx->Query(insert, Params::Of(std::int64_t{2}), Soon());
      CO_ASSERT_TRUE(a.has_value() && b.has_value());
      // Not visible to other sessions before COMMIT.
      EXPECT_EQ(co_await Count(pool, table_), 0);
      auto committed = co_await tx->Commit(Soon());
      EXPECT_TRUE(committed.has_value());
      EXPECT_FALSE(tx->open());
    }
    EXPECT_EQ(co_await Count(pool, table_), 2);
    {
      auto tx = co_await pool.Begin(Soon());
      CO_ASSERT_TRUE(tx.has_value());
      auto a = co_await tx->Query(insert, Params::Of(std::int64_t{3}), Soon());
      CO_ASSERT_TRUE(a.has_value());
      auto rolled = co_await tx->Rollback(Soon());
      EXPECT_TRUE(rolled.has_value());
      auto late = co_await tx->Query(insert, Params::Of(std::int64_t{4}), Soon());
      EXPECT_FALSE(late.has_value()) << "queries after the end are refused";
    }
    EXPECT_EQ(co_await Count(pool, table_), 2);
  });
}

TEST_F(PgTransactionTest, AFailedQueryMakesCommitFailAndNothingIsWritten) {
  RunIo([&](asio::any_io_executor ex) -> asio::awaitable<void> {
    PgPool pool(ex, Options(1, 0, 8));
    const std::string insert = "insert into " + table_ + " values ($1)";
    auto tx = co_await pool.Begin(Soon());
    CO_ASSERT_TRUE(tx.has_value());
    auto good = co_await tx->Query(insert, Params::Of(std::int64_t{1}), Soon());
    CO_ASSERT_TRUE(good.has_value());
    auto bad = co_await tx->Query(insert, Params::Of("not a number"), Soon());
    CO_ASSERT_TRUE(!bad.has_value());
    auto committed = co_await tx->Commit(Soon());
    CO_ASSERT_TRUE(!committed.has_value());
    EXPECT_EQ(committed.error().sqlstate, "22P02") << committed.error().Describe();
    EXPECT_EQ(co_await Count(pool, table_), 0);
    // The connection went back to the pool in a clean state.
    auto after = co_await pool.Query("select 1", Params{}, Soon());
    EXPECT_TRUE(after.has_value());
    EXPECT_EQ(pool.stats().connects, 1U);
  });
}

TEST_F(PgTransactionTest, DestroyedOpenTransactionRollsBack) {
  RunIo([&](asio::any_io_executor ex) -> asio::awaitable<void> {
    PgPool pool(ex, Options(1, 0, 8));
    {
      auto tx = co_await pool.Begin(Soon());
      CO_ASSERT_TRUE(tx.has_value());
      const std::string insert = "insert into " + table_ + " values (1)";
      auto a = co_await tx->Query(insert, Params{}, Soon());
      CO_ASSERT_TRUE(a.has_value());
    }  // neither committed nor rolled back
    EXPECT_EQ(co_await Count(pool, table_), 0);
  });
}

TEST_F(PgTransactionTest, TransactionHasItsConnectionToItself) {
  RunIo([&](asio::any_io_executor ex) -> asio::awaitable<void> {
    // One connection, overflow allowed: a query during the transaction must not be
    // pipelined into it (it would become part of the transaction), so it opens another.
    PgPool pool(ex, Options(1, 1, 64));
    auto tx = co_await pool.Begin(Soon());
    CO_ASSERT_TRUE(tx.has_value());
    auto inside = co_await tx->Query("select pg_backend_pid()", Params{}, Soon());
    auto outside = co_await pool.Query("select pg_backend_pid()", Params{}, Soon());
    CO_ASSERT_TRUE(inside.has_value() && outside.has_value());
    EXPECT_NE(inside->GetInt64(0, 0).value_or(0), outside->GetInt64(0, 0).value_or(0));
    auto done = co_await tx->Commit(Soon());
    EXPECT_TRUE(done.has_value());
  });
}

TEST_F(PgTransactionTest, SecondBeginWaitsForTheFirstToFinish) {
  RunIo([&](asio::any_io_executor ex) -> asio::awaitable<void> {
    auto options = Options(1, 0, 64);
    options.acquire_timeout = 5s;
    PgPool pool(ex, options);
    auto first = co_await pool.Begin(Soon());
    CO_ASSERT_TRUE(first.has_value());
    bool second_began = false;
    bool second_finished = false;
    asio::steady_timer second_done(ex, Clock::time_point::max());
    asio::co_spawn(
        ex,
        [&]() -> asio::awaitable<void> {
          auto second = co_await pool.Begin(Soon());
          second_began = second.has_value();
          if (second) (void)co_await second->Commit(Soon());
          second_finished = true;
          second_done.cancel();
        },
        asio::detached);
    asio::steady_timer pause(ex, 200ms);
    co_await pause.async_wait(asio::use_awaitable);
    EXPECT_FALSE(second_began) << "only one connection, held by the first transaction";
    auto committed = co_await first->Commit(Soon());
    EXPECT_TRUE(committed.has_value());
    boost::system::error_code ec;
    if (!second_finished) {
      co_await second_done.async_wait(asio::redirect_error(asio::use_awaitable, ec));
    }
    EXPECT_TRUE(second_began);
  });
}

}  // namespace
}  // namespace myriad::db

// users::SearchIndexFlusher against a real PostgreSQL: it empties a GIN pending list on
// its own connection, counts what it did, survives a database it cannot reach, and stops
// when destroyed, even in the middle of a flush. Each test works in a schema of its own,
// with a stand-in `users` table whose GIN index carries the real index's name.
#include <gtest/gtest.h>

#include <boost/asio/io_context.hpp>
#include <chrono>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <utility>

#include "db/pg_pool.hpp"
#include "support/coro_test.hpp"
#include "support/pg_support.hpp"
#include "users/search_index.hpp"

namespace myriad::users {
namespace {
namespace asio = boost::asio;
using namespace std::chrono_literals;

class SearchIndexFlusherTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_EQ(Exec("CREATE TABLE users (id int, name text)"), "");
    ASSERT_EQ(Exec("CREATE INDEX users_search_trgm ON users USING gin "
                   "(to_tsvector('simple', name)) WITH (fastupdate = on)"),
              "");
  }
  // "" or the error.
  std::string Exec(const std::string& sql) const {
    return myriad::testing::Sql(schema_.url(), sql);
  }
  // Rows whose index entries go to the pending list.
  void AddRows(int count) {
    ASSERT_EQ(Exec("INSERT INTO users SELECT g, 'name ' || g || ' word' || g % 97 "
                   "FROM generate_series(1, " +
                   std::to_string(count) + ") AS g"),
              "");
  }
  // Flushes now; the number of pending-list pages that emptied.
  std::string FlushNow() const {
    return schema_.Value("SELECT gin_clean_pending_list('users_search_trgm')");
  }
  static db::PoolOptions Pool(std::string url) {
    db::PoolOptions options;
    options.connect.conninfo = std::move(url);
    options.size = 1;
    options.connect_timeout = 2s;
    options.reconnect_min = 10ms;
    options.reconnect_max = 50ms;
    return options;
  }
  // Runs io_ in slices until `done` (20 s at most); whether `done` came true.
  bool RunUntil(const std::function<bool()>& done) {
    const auto until = std::chrono::steady_clock::now() + 20s;
    while (!done() && std::chrono::steady_clock::now() < until) {
      io_.run_for(20ms);
      io_.restart();
    }
    return done();
  }

  // A flusher every `interval` on io_, against `url` (this test's schema by default).
  void Start(std::chrono::milliseconds interval, const std::string& url = {}) {
    SearchIndexFlusherOptions options;
    options.interval = interval;
    flusher_.emplace(io_.get_executor(), Pool(url.empty() ? schema_.url() : url), options,
                     metrics_);
  }

  myriad::testing::TestSchema schema_{"test_search_index"};
  asio::io_context io_{BOOST_ASIO_CONCURRENCY_HINT_UNSAFE_IO};
  std::shared_ptr<SearchIndexMetrics> metrics_ = std::make_shared<SearchIndexMetrics>();
  std::optional<SearchIndexFlusher> flusher_;
};

TEST_F(SearchIndexFlusherTest, EmptiesThePendingListAndCountsThePages) {
  AddRows(2'000);
  Start(50ms);
  ASSERT_TRUE(RunUntil([&] { return metrics_->pages() > 0; }));
  EXPECT_EQ(metrics_->failures(), 0U);
  EXPECT_EQ(FlushNow(), "0");
  // It keeps going: later rows are flushed too, and flushes with nothing to do count as ok.
  const auto before = metrics_->pages();
  AddRows(2'000);
  ASSERT_TRUE(RunUntil([&] { return metrics_->pages() > before; }));
  const auto flushes = metrics_->flushes();
  ASSERT_TRUE(RunUntil([&] { return metrics_->flushes() >= flushes + 2; }));
  EXPECT_EQ(FlushNow(), "0");
  EXPECT_EQ(metrics_->failures(), 0U);
}

TEST_F(SearchIndexFlusherTest, ASchemaWithoutTheIndexIsNotAnError) {
  ASSERT_EQ(Exec("DROP TABLE users"), "");
  Start(20ms);
  ASSERT_TRUE(RunUntil([&] { return metrics_->flushes() >= 2; }));
  EXPECT_EQ(metrics_->failures(), 0U);
  EXPECT_EQ(metrics_->pages(), 0U);
}

TEST_F(SearchIndexFlusherTest, AnUnreachableDatabaseCountsFailuresAndKeepsTrying) {
  // Port 1 on loopback: refused at once.
  Start(20ms, "postgresql://nobody@127.0.0.1:1/none?connect_timeout=2");
  ASSERT_TRUE(RunUntil([&] { return metrics_->failures() >= 3; }));
  EXPECT_EQ(metrics_->flushes(), 0U);
}

TEST_F(SearchIndexFlusherTest, DestroyedMidFlushItStopsAndLeavesNothingRunning) {
  AddRows(100);
  // An uncommitted DROP INDEX holds the index's lock: the flush waits for it on the server.
  myriad::testing::PgSession blocker(schema_.url());
  ASSERT_TRUE(blocker.connected());
  ASSERT_EQ(blocker.Exec("BEGIN"), "");
  ASSERT_EQ(blocker.Exec("DROP INDEX users_search_trgm"), "");
  Start(1ms);
  const std::string waiting =
      "SELECT count(*) FROM pg_stat_activity WHERE wait_event_type = 'Lock' AND query LIKE "
      "'%gin_clean_pending_list(i)%'";
  ASSERT_TRUE(RunUntil([&] { return schema_.Value(waiting) == "1"; }));
  flusher_.reset();
  // The flush in flight ends with its connection, uncounted, and no other one starts: the
  // loop runs dry.
  io_.restart();
  io_.run_for(5s);
  EXPECT_TRUE(io_.stopped());
  EXPECT_EQ(metrics_->flushes() + metrics_->failures(), 0U);
  // (The server-side flush goes on once the lock is free: PostgreSQL notices the closed
  // connection only when it answers.)
  EXPECT_EQ(blocker.Exec("ROLLBACK"), "");
}

}  // namespace
}  // namespace myriad::users

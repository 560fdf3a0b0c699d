// DbMetrics: what the pools' shards add up to in the exposition, and that the text is valid.
#include "db/db_metrics.hpp"

#include <gtest/gtest.h>

#include <cstdlib>
#include <fstream>
#include <string>
#include <thread>

#include "metrics/registry.hpp"
#include "support/server_fixture.hpp"

namespace myriad::db {
namespace {

using myriad::testing::MetricValue;

std::string Scrape(DbMetrics& metrics) {
  metrics::Registry registry;
  registry.Add(metrics.Collectable());
  return registry.Serialize();
}

TEST(DbMetricsTest, GaugesSumOverShards) {
  DbMetrics metrics(2, {"users_get"}, 4);
  metrics.SetPool(0, {.idle = 1, .in_use = 1, .connecting = 0, .overflow = 1, .waiters = 3});
  metrics.SetPool(1, {.idle = 2, .in_use = 0, .connecting = 1, .overflow = 0, .waiters = 0});
  const std::string text = Scrape(metrics);
  EXPECT_EQ(MetricValue(text, R"(myriad_db_pool_connections{state="idle"})"), 3) << text;
  EXPECT_EQ(MetricValue(text, R"(myriad_db_pool_connections{state="in_use"})"), 1);
  EXPECT_EQ(MetricValue(text, R"(myriad_db_pool_connections{state="connecting"})"), 1);
  EXPECT_EQ(MetricValue(text, "myriad_db_pool_overflow_in_use"), 1);
  EXPECT_EQ(MetricValue(text, "myriad_db_pool_waiters"), 3);
  EXPECT_EQ(MetricValue(text, "myriad_db_pool_size"), 4);

  // A later SetPool replaces the shard's values; it does not add to them.
  metrics.SetPool(0, {});
  EXPECT_EQ(MetricValue(Scrape(metrics), "myriad_db_pool_waiters"), 0);
}

TEST(DbMetricsTest, QueriesAreKeptApartByStatementName) {
  DbMetrics metrics(2, {"users_get", "users_list"}, 2);
  EXPECT_EQ(metrics.StatementSlot("users_list"), 1U);
  EXPECT_EQ(metrics.StatementSlot("nope"), metrics.OtherStatementSlot());
  metrics.ObserveQuery(0, metrics.StatementSlot("users_get"), 0.0002);
  metrics.ObserveQuery(1, metrics.StatementSlot("users_get"), 0.003);
  metrics.ObserveQuery(1, metrics.OtherStatementSlot(), 0.5);
  metrics.ObserveQuery(1, 999, 0.5);  // out of range counts as other, never crashes
  const std::string text = Scrape(metrics);
  EXPECT_EQ(MetricValue(text, R"(myriad_db_query_duration_seconds_count{statement="users_get"})"),
            2)
      << text;
  EXPECT_EQ(MetricValue(text, R"(myriad_db_query_duration_seconds_count{statement="other"})"), 2);
  EXPECT_EQ(
      MetricValue(text,
                  R"(myriad_db_query_duration_seconds_bucket{statement="users_get",le="0.00025"})"),
      1);
  // No samples, no series.
  EXPECT_EQ(MetricValue(text, R"(myriad_db_query_duration_seconds_count{statement="users_list"})"),
            -1);
}

TEST(DbMetricsTest, ErrorsByKindAndSqlStateClass) {
  DbMetrics metrics(1, {}, 1);
  metrics.CountError(0, DbError{DbErrorKind::kQuery, "23505", "duplicate"});
  metrics.CountError(0, DbError{DbErrorKind::kQuery, "23503", "fk"});
  metrics.CountError(0, DbError{DbErrorKind::kQuery, "57014", "cancel"});
  metrics.CountError(0, DbError{DbErrorKind::kQuery, "x", "malformed state"});
  metrics.CountError(0, DbError{DbErrorKind::kPoolExhausted, "", "full"});
  metrics.CountError(0, DbError{DbErrorKind::kTimeout, "", "late"});
  const std::string text = Scrape(metrics);
  EXPECT_EQ(MetricValue(text, R"(myriad_db_errors_total{kind="query",sqlstate_class="23"})"), 2)
      << text;
  EXPECT_EQ(MetricValue(text, R"(myriad_db_errors_total{kind="query",sqlstate_class="57"})"), 1);
  EXPECT_EQ(MetricValue(text, R"(myriad_db_errors_total{kind="query",sqlstate_class="??"})"), 1);
  EXPECT_GT(MetricValue(text, R"(myriad_db_errors_total{kind="pool_exhausted",sqlstate_class=""})"),
            0)
      << text;
}

TEST(DbMetricsTest, EventsAreCounted) {
  DbMetrics metrics(2, {}, 1);
  metrics.Count(0, DbMetrics::Event::kConnect);
  metrics.Count(1, DbMetrics::Event::kConnect);
  metrics.Count(1, DbMetrics::Event::kReconnect);
  metrics.ObserveAcquire(0, 0.00001);
  const std::string text = Scrape(metrics);
  EXPECT_EQ(MetricValue(text, "myriad_db_connects_total"), 2) << text;
  EXPECT_EQ(MetricValue(text, "myriad_db_reconnects_total"), 1);
  EXPECT_EQ(MetricValue(text, "myriad_db_connect_failures_total"), 0);
  EXPECT_EQ(MetricValue(text, "myriad_db_pool_acquire_seconds_count"), 1);
}

TEST(DbMetricsTest, ExpositionPassesPromtool) {
  if (std::system("command -v promtool >/dev/null 2>&1") != 0) GTEST_SKIP() << "no promtool";
  DbMetrics metrics(2, {"users_get"}, 4);
  metrics.ObserveQuery(0, 0, 0.001);
  metrics.CountError(0, DbError{DbErrorKind::kQuery, "23505", "duplicate"});
  metrics.CountError(1, DbError{DbErrorKind::kConnection, "", "lost"});
  const std::string path = ::testing::TempDir() + "db_metrics.prom";
  std::ofstream(path) << Scrape(metrics);
  const std::string command = "promtool check metrics < " + path + " >" + path + ".out 2>&1";
  EXPECT_EQ(std::system(command.c_str()), 0);
  std::ifstream out(path + ".out");
  const std::string findings((std::istreambuf_iterator<char>(out)), {});
  EXPECT_EQ(findings, "") << "promtool lint findings";
}

TEST(DbMetricsTest, ConcurrentWritersAndScrapesAgree) {
  DbMetrics metrics(2, {"q"}, 2);
  constexpr int kPerThread = 20'000;
  auto writer = [&](std::size_t shard) {
    for (int i = 0; i < kPerThread; ++i) metrics.ObserveQuery(shard, 0, 0.001);
  };
  std::thread a(writer, 0);
  std::thread b(writer, 1);
  for (int i = 0; i < 20; ++i) (void)Scrape(metrics);
  a.join();
  b.join();
  EXPECT_EQ(
      MetricValue(Scrape(metrics), R"(myriad_db_query_duration_seconds_count{statement="q"})"),
      2 * kPerThread);
}

}  // namespace
}  // namespace myriad::db

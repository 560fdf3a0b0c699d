// HasherMetrics: what the hashing threads' shards and the io threads' counters add up to in
// the exposition, and that the text is valid.
#include "auth/hasher_metrics.hpp"

#include <gtest/gtest.h>

#include <cstdlib>
#include <fstream>
#include <iterator>
#include <string>
#include <thread>
#include <vector>

#include "metrics/registry.hpp"
#include "support/server_fixture.hpp"

namespace myriad::auth {
namespace {

using myriad::testing::MetricValue;
using Op = HasherMetrics::Op;
using Outcome = HasherMetrics::Outcome;

std::string Scrape(const HasherMetrics& metrics) {
  metrics::Registry registry;
  registry.Add(metrics.Collectable());
  return registry.Serialize();
}

TEST(HasherMetricsTest, GaugesFollowJobsThroughTheQueue) {
  HasherMetrics metrics(2);
  EXPECT_EQ(metrics.shards(), 2U);
  metrics.Accepted();
  metrics.Accepted();
  metrics.Accepted();
  metrics.Started(0, 0.002);
  metrics.Started(1, 0.004);
  std::string text = Scrape(metrics);
  EXPECT_EQ(MetricValue(text, "myriad_password_hash_queue_depth"), 1) << text;
  EXPECT_EQ(MetricValue(text, "myriad_password_hash_in_progress"), 2);

  metrics.Finished(0, Op::kVerify, Outcome::kOk);
  metrics.Expired(0, Op::kHash, 2.5);
  metrics.Finished(1, Op::kHash, Outcome::kError);
  text = Scrape(metrics);
  EXPECT_EQ(MetricValue(text, "myriad_password_hash_queue_depth"), 0) << text;
  EXPECT_EQ(MetricValue(text, "myriad_password_hash_in_progress"), 0);
  EXPECT_EQ(metrics.QueueDepth(), 0U);
  EXPECT_EQ(metrics.InProgress(), 0U);
}

TEST(HasherMetricsTest, CountsByOperationAndOutcome) {
  HasherMetrics metrics(2);
  metrics.Refused(Op::kVerify);
  metrics.Refused(Op::kVerify);
  metrics.Refused(Op::kHash);
  metrics.Accepted();
  metrics.Accepted();
  metrics.Accepted();
  metrics.Expired(0, Op::kVerifyDummy, 3);
  metrics.Started(1, 0.01);
  metrics.Finished(1, Op::kVerify, Outcome::kOk);
  metrics.Started(0, 0.01);
  metrics.Finished(0, Op::kHash, Outcome::kError);

  EXPECT_EQ(metrics.Count(Op::kVerify, Outcome::kBusyQueueFull), 2U);
  EXPECT_EQ(metrics.Count(Op::kHash, Outcome::kBusyQueueFull), 1U);
  EXPECT_EQ(metrics.Count(Op::kVerifyDummy, Outcome::kBusyDeadline), 1U);
  EXPECT_EQ(metrics.Count(Op::kVerify, Outcome::kOk), 1U);
  EXPECT_EQ(metrics.Count(Op::kHash, Outcome::kError), 1U);
  EXPECT_EQ(metrics.Waits(), 3U);

  const std::string text = Scrape(metrics);
  const std::string ops = "myriad_password_hash_operations_total";
  EXPECT_EQ(MetricValue(text, ops + R"({op="verify",outcome="busy_queue_full"})"), 2) << text;
  EXPECT_EQ(MetricValue(text, ops + R"({op="hash",outcome="busy_queue_full"})"), 1);
  EXPECT_EQ(MetricValue(text, ops + R"({op="verify_dummy",outcome="busy_deadline"})"), 1);
  EXPECT_EQ(MetricValue(text, ops + R"({op="verify",outcome="ok"})"), 1);
  EXPECT_EQ(MetricValue(text, ops + R"({op="hash",outcome="error"})"), 1);
  // Every series is there from the start, so rates work from the first scrape.
  EXPECT_EQ(MetricValue(text, ops + R"({op="hash",outcome="ok"})"), 0);
  EXPECT_EQ(MetricValue(text, "myriad_password_hash_queue_wait_seconds_count"), 3);
  EXPECT_EQ(MetricValue(text, R"(myriad_password_hash_queue_wait_seconds_bucket{le="0.01"})"), 2);
  EXPECT_EQ(MetricValue(text, R"(myriad_password_hash_queue_wait_seconds_bucket{le="2"})"), 2);
  EXPECT_EQ(MetricValue(text, R"(myriad_password_hash_queue_wait_seconds_bucket{le="5"})"), 3);
}

TEST(HasherMetricsTest, ExpositionPassesPromtool) {
  if (std::system("command -v promtool >/dev/null 2>&1") != 0) GTEST_SKIP() << "no promtool";
  HasherMetrics metrics(1);
  metrics.Accepted();
  metrics.Started(0, 0.001);
  metrics.Finished(0, Op::kHash, Outcome::kOk);
  metrics.Refused(Op::kVerify);
  const std::string path = ::testing::TempDir() + "hasher_metrics.prom";
  std::ofstream(path) << Scrape(metrics);
  const std::string command = "promtool check metrics < " + path + " >" + path + ".out 2>&1";
  EXPECT_EQ(std::system(command.c_str()), 0);
  std::ifstream out(path + ".out");
  const std::string findings((std::istreambuf_iterator<char>(out)), {});
  EXPECT_EQ(findings, "") << "promtool lint findings";
}

// Hashing threads write their own shards while io threads refuse and accept jobs and a
// scraper reads: nothing is lost.
TEST(HasherMetricsTest, ConcurrentWritersAndScrapesAgree) {
  HasherMetrics metrics(2);
  constexpr int kPerThread = 20'000;
  std::vector<std::thread> threads;
  for (std::size_t shard = 0; shard < 2; ++shard) {
    threads.emplace_back([&metrics, shard] {
      for (int i = 0; i < kPerThread; ++i) {
        metrics.Accepted();
        metrics.Started(shard, 0.001);
        metrics.Finished(shard, Op::kVerify, Outcome::kOk);
      }
    });
  }
  for (int t = 0; t < 2; ++t) {
    threads.emplace_back([&metrics] {
      for (int i = 0; i < kPerThread; ++i) metrics.Refused(Op::kVerify);
    });
  }
  for (int i = 0; i < 20; ++i) (void)Scrape(metrics);
  for (auto& thread : threads) thread.join();
  const std::string text = Scrape(metrics);
  const std::string ops = "myriad_password_hash_operations_total";
  EXPECT_EQ(MetricValue(text, ops + R"({op="verify",outcome="ok"})"), 2 * kPerThread);
  EXPECT_EQ(MetricValue(text, ops + R"({op="verify",outcome="busy_queue_full"})"), 2 * kPerThread);
  EXPECT_EQ(MetricValue(text, "myriad_password_hash_queue_wait_seconds_count"), 2 * kPerThread);
  EXPECT_EQ(MetricValue(text, "myriad_password_hash_queue_depth"), 0);
}

}  // namespace
}  // namespace myriad::auth

#include "loadgen/slo.hpp"

#include <gtest/gtest.h>

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "loadgen/stats.hpp"

namespace myriad::load {
namespace {

using Metric = Objective::Metric;

Objective ParseOne(std::string_view text) {
  const auto parsed = ParseSlo(text);
  EXPECT_TRUE(parsed.has_value()) << text << ": " << (parsed ? "" : parsed.error());
  if (!parsed || parsed->size() != 1) {
    ADD_FAILURE() << "expected one objective from '" << text << "'";
    return {};
  }
  return parsed->front();
}

// What ParseSlo says about `text`; empty (and a test failure) if it accepts it.
std::string Rejection(std::string_view text) {
  const auto parsed = ParseSlo(text);
  if (parsed) {
    ADD_FAILURE() << "accepted '" << text << "'";
    return {};
  }
  return parsed.error();
}

TEST(SloTest, DefaultParsesToFourObjectives) {
  const auto parsed = ParseSlo(kDefaultSlo);
  ASSERT_TRUE(parsed.has_value()) << parsed.error();
  ASSERT_EQ(parsed->size(), 4U);
  const std::vector<Objective>& o = *parsed;
  EXPECT_EQ(o[0].metric, Metric::kPercentile);
  EXPECT_DOUBLE_EQ(o[0].percentile, 90);
  EXPECT_DOUBLE_EQ(o[0].limit, 100'000);
  EXPECT_FALSE(o[0].inclusive);
  EXPECT_FALSE(o[0].at_least);
  EXPECT_EQ(o[0].text, "p90<100ms");
  EXPECT_DOUBLE_EQ(o[1].percentile, 95);
  EXPECT_DOUBLE_EQ(o[1].limit, 200'000);
  EXPECT_DOUBLE_EQ(o[2].percentile, 99);
  EXPECT_DOUBLE_EQ(o[2].limit, 500'000);
  EXPECT_EQ(o[3].metric, Metric::kErrorRate);
  EXPECT_DOUBLE_EQ(o[3].limit, 0.001);
  EXPECT_EQ(o[3].text, "errors<0.1%");
}

TEST(SloTest, ParsesEveryMetric) {
  Objective o = ParseOne("p99.9<=1s");
  EXPECT_EQ(o.metric, Metric::kPercentile);
  EXPECT_DOUBLE_EQ(o.percentile, 99.9);
  EXPECT_TRUE(o.inclusive);
  EXPECT_DOUBLE_EQ(o.limit, 1e6);

  o = ParseOne("p100<2m");
  EXPECT_DOUBLE_EQ(o.percentile, 100);
  EXPECT_DOUBLE_EQ(o.limit, 120e6);

  o = ParseOne("p50<250us");
  EXPECT_DOUBLE_EQ(o.percentile, 50);
  EXPECT_DOUBLE_EQ(o.limit, 250);

  o = ParseOne("mean<20ms");
  EXPECT_EQ(o.metric, Metric::kMean);
  EXPECT_DOUBLE_EQ(o.limit, 20'000);

  o = ParseOne("max<2.5s");
  EXPECT_EQ(o.metric, Metric::kMax);
  EXPECT_DOUBLE_EQ(o.limit, 2.5e6);

  o = ParseOne("errors<=0.001");
  EXPECT_EQ(o.metric, Metric::kErrorRate);
  EXPECT_TRUE(o.inclusive);
  EXPECT_DOUBLE_EQ(o.limit, 0.001);

  o = ParseOne("errors<0%");
  EXPECT_DOUBLE_EQ(o.limit, 0);

  o = ParseOne("rps>=9000");
  EXPECT_EQ(o.metric, Metric::kRequestsPerSecond);
  EXPECT_TRUE(o.at_least);
  EXPECT_TRUE(o.inclusive);
  EXPECT_DOUBLE_EQ(o.limit, 9000);

  o = ParseOne("rps>1500.5/s");
  EXPECT_TRUE(o.at_least);
  EXPECT_FALSE(o.inclusive);
  EXPECT_DOUBLE_EQ(o.limit, 1500.5);
  EXPECT_EQ(o.text, "rps>1500.5/s");
}

TEST(SloTest, WhitespaceIsAllowedAndNormalisedAway) {
  const auto parsed = ParseSlo("  p99 < 500 ms ,\terrors <= 1 % , rps >= 10 /s ");
  ASSERT_TRUE(parsed.has_value()) << parsed.error();
  ASSERT_EQ(parsed->size(), 3U);
  EXPECT_EQ((*parsed)[0].text, "p99<500ms");
  EXPECT_DOUBLE_EQ((*parsed)[0].limit, 500'000);
  EXPECT_EQ((*parsed)[1].text, "errors<=1%");
  EXPECT_DOUBLE_EQ((*parsed)[1].limit, 0.01);
  EXPECT_EQ((*parsed)[2].text, "rps>=10/s");
}

TEST(SloTest, ErrorsNameTheObjectiveAndTheProblem) {
  struct Case {
    std::string_view text;
    std::string_view objective;  // the part the message must quote
    std::string_view why;        // and a word of the reason
  };
  const std::vector<Case> cases{
      {"p99<500", "p99<500", "a latency needs a unit (us, ms, s, m)"},
      {"p99<500ms,p95<200", "p95<200", "unit"},
      {"p99<500xs", "p99<500xs", "unknown latency unit 'xs'"},
      {"p0<1ms", "p0<1ms", "percentile"},
      {"p100.5<1ms", "p100.5<1ms", "percentile"},
      {"p<1ms", "p<1ms", "not a percentile"},
      {"p99.<1ms", "p99.<1ms", "not a percentile"},
      {"pp99<1ms", "pp99<1ms", "not a percentile"},
      {"latency<1ms", "latency<1ms", "unknown metric 'latency'"},
      {"P99<1ms", "P99<1ms", "unknown metric"},
      {"<1ms", "<1ms", "expected a metric"},
      {"p99 500ms", "p99 500ms", "expected an operator"},
      {"p99=500ms", "p99=500ms", "unknown operator '='"},
      {"p99<<500ms", "p99<<500ms", "unknown operator"},
      {"p99>500ms", "p99>500ms", "< or <="},
      {"errors>=1%", "errors>=1%", "< or <="},
      {"rps<100", "rps<100", "> or >="},
      {"rps>=100ms", "rps>=100ms", "'ms'"},
      {"errors<5", "errors<5", "fraction"},
      {"errors<150%", "errors<150%", "at most 100%"},
      {"errors<1ms", "errors<1ms", "'ms'"},
      {"p99<", "p99<", "missing"},
      {"p99<-5ms", "p99<-5ms", "not a number"},
      {"p99<1e3us", "p99<1e3us", "unknown latency unit 'e3us'"},
      {"p99<1h", "p99<1h", "unknown latency unit 'h'"},
      {"p99<inf ms", "p99<inf ms", "not a number"},
      {"p99<5.0.0ms", "p99<5.0.0ms", "not a number"},
      {"p99<5ms extra", "p99<5ms extra", "unexpected 'extra'"},
      {"p99<500ms,,errors<1%", "p99<500ms,,errors<1%", "empty objective"},
      {"p99<500ms,", "p99<500ms,", "empty objective"},
      {",p99<500ms", ",p99<500ms", "empty objective"},
  };
  for (const Case& c : cases) {
    const std::string message = Rejection(c.text);
    EXPECT_NE(message.find(c.objective), std::string::npos) << c.text << " -> " << message;
    EXPECT_NE(message.find(c.why), std::string::npos) << c.text << " -> " << message;
  }
}

TEST(SloTest, EmptyIsAnError) {
  EXPECT_NE(Rejection("").find("empty"), std::string::npos);
  EXPECT_NE(Rejection("   ").find("empty"), std::string::npos);
}

RunResult RunWith(std::int64_t latency_us, std::int64_t requests, std::int64_t errors) {
  RunResult run;
  run.duration_s = 10;
  run.total.requests = requests;
  run.total.ok = requests - errors;
  run.total.errors[static_cast<std::size_t>(ErrorKind::kStatus)] = errors;
  run.total.latency.RecordN(latency_us, requests);
  return run;
}

ObjectiveResult EvaluateOne(std::string_view text, const RunResult& run) {
  const auto parsed = ParseSlo(text);
  EXPECT_TRUE(parsed.has_value()) << text;
  if (!parsed) return {};
  const std::vector<ObjectiveResult> results = Evaluate(*parsed, run);
  EXPECT_EQ(results.size(), 1U);
  return results.empty() ? ObjectiveResult{} : results.front();
}

TEST(SloTest, LatencyExactlyAtTheLimit) {
  const RunResult run = RunWith(500'000, 1000, 0);
  EXPECT_FALSE(EvaluateOne("p99<500ms", run).pass);
  EXPECT_TRUE(EvaluateOne("p99<=500ms", run).pass);
  EXPECT_TRUE(EvaluateOne("p99<500.001ms", run).pass);
  EXPECT_FALSE(EvaluateOne("max<0.5s", run).pass);
  EXPECT_TRUE(EvaluateOne("max<=0.5s", run).pass);
  EXPECT_FALSE(EvaluateOne("mean<500000us", run).pass);
  EXPECT_TRUE(EvaluateOne("mean<=500000us", run).pass);
  const ObjectiveResult r = EvaluateOne("p99<1s", run);
  EXPECT_TRUE(r.pass);
  EXPECT_DOUBLE_EQ(r.measured, 500'000);
  EXPECT_EQ(r.measured_text, "500ms");
}

TEST(SloTest, PercentileUsesTheRunsHistogram) {
  RunResult run;
  run.duration_s = 1;
  run.total.requests = 100;
  run.total.ok = 100;
  run.total.latency.RecordN(1'000, 99);
  run.total.latency.RecordN(900'000, 1);
  EXPECT_TRUE(EvaluateOne("p99<2ms", run).pass);
  EXPECT_FALSE(EvaluateOne("p99.5<2ms", run).pass);
  EXPECT_FALSE(EvaluateOne("p100<800ms", run).pass);
  EXPECT_TRUE(EvaluateOne("p100<=900ms", run).pass);
}

TEST(SloTest, ErrorRateExactlyAtTheLimit) {
  const RunResult run = RunWith(1'000, 1000, 1);  // 0.1% errors
  EXPECT_FALSE(EvaluateOne("errors<0.1%", run).pass);
  EXPECT_TRUE(EvaluateOne("errors<=0.1%", run).pass);
  EXPECT_TRUE(EvaluateOne("errors<=0.001", run).pass);
  EXPECT_TRUE(EvaluateOne("errors<1%", run).pass);
  const ObjectiveResult r = EvaluateOne("errors<0%", run);
  EXPECT_FALSE(r.pass);
  EXPECT_DOUBLE_EQ(r.measured, 0.001);
  EXPECT_EQ(r.measured_text, "0.100%");
  EXPECT_TRUE(EvaluateOne("errors<=0%", RunWith(1'000, 10, 0)).pass);
}

TEST(SloTest, ThroughputExactlyAtTheLimit) {
  const RunResult run = RunWith(1'000, 100'000, 0);  // 10,000 req/s over 10 s
  EXPECT_FALSE(EvaluateOne("rps>10000", run).pass);
  EXPECT_TRUE(EvaluateOne("rps>=10000", run).pass);
  EXPECT_TRUE(EvaluateOne("rps>9999.5/s", run).pass);
  const ObjectiveResult r = EvaluateOne("rps>=20000", run);
  EXPECT_FALSE(r.pass);
  EXPECT_DOUBLE_EQ(r.measured, 10'000);
  EXPECT_EQ(r.measured_text, "10,000/s");
}

TEST(SloTest, ZeroRequestsFailsEveryObjective) {
  RunResult run;
  run.duration_s = 10;
  // Each of these passes on any run that sent something.
  const auto parsed = ParseSlo("p99<=60m,errors<=100%,max<=60m,rps>=0,mean<=60m");
  ASSERT_TRUE(parsed.has_value()) << parsed.error();
  const std::vector<ObjectiveResult> results = Evaluate(*parsed, run);
  ASSERT_EQ(results.size(), 5U);
  for (const ObjectiveResult& r : results) {
    EXPECT_FALSE(r.pass) << r.objective.text;
    EXPECT_EQ(r.measured_text, "no requests") << r.objective.text;
  }
  const std::vector<ObjectiveResult> some = Evaluate(*parsed, RunWith(5'000, 1, 1));
  for (const ObjectiveResult& r : some) EXPECT_TRUE(r.pass) << r.objective.text;
}

// Every request failed before an answer (connection refused): there are requests but no
// latencies. The latency objectives must fail, not pass on the empty histogram's zeros.
TEST(SloTest, LatencyObjectivesFailWhenNoRequestGotAnAnswer) {
  RunResult run;
  run.duration_s = 10;
  run.total.requests = 500;
  run.total.errors[static_cast<std::size_t>(ErrorKind::kConnect)] = 500;
  const auto parsed = ParseSlo("p99<10ms,mean<10ms,max<10ms,errors<=100%,rps>=1");
  ASSERT_TRUE(parsed.has_value()) << parsed.error();
  const std::vector<ObjectiveResult> results = Evaluate(*parsed, run);
  ASSERT_EQ(results.size(), 5U);
  for (std::size_t i = 0; i < 3; ++i) {
    EXPECT_FALSE(results[i].pass) << results[i].objective.text;
    EXPECT_EQ(results[i].measured_text, "no responses") << results[i].objective.text;
  }
  // The others are judged on the requests themselves.
  EXPECT_TRUE(results[3].pass);
  EXPECT_EQ(results[3].measured_text, "100.000%");
  EXPECT_TRUE(results[4].pass);
}

}  // namespace
}  // namespace myriad::load

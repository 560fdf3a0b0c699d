#include "loadgen/report.hpp"

#include <gtest/gtest.h>

#include <boost/json.hpp>
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "loadgen/slo.hpp"
#include "loadgen/stats.hpp"

namespace myriad::load {
namespace {

Counters MakeCounters(std::int64_t ok, std::int64_t fast_us, std::int64_t slow_us,
                      std::int64_t timeouts, std::int64_t status_503) {
  Counters c;
  c.latency.RecordN(fast_us, ok);
  c.latency.RecordN(slow_us, timeouts + status_503);
  c.ok = ok;
  c.requests = ok + timeouts + status_503;
  c.errors[static_cast<std::size_t>(ErrorKind::kTimeout)] = timeouts;
  c.errors[static_cast<std::size_t>(ErrorKind::kStatus)] = status_503;
  if (status_503 > 0) c.statuses[503] = status_503;
  c.bytes_received = ok * 100;
  return c;
}

// Two tasks over a 10 s measured run after a 2 s warm-up, sampled once a second.
RunResult MakeRun(std::string first_task = "GET /users") {
  RunResult run;
  run.mode = "closed";
  run.target = "scenario demo at base-url example.test:8080";
  run.command_line = "myriad-load -c 8 --duration 10s --warmup 2s scenario.yaml";
  run.started_at = "2024-05-01T12:00:00Z";
  run.threads = 2;
  run.connections = 8;
  run.warmup_s = 2;
  run.duration_s = 10;
  Counters a = MakeCounters(900, 2'000, 40'000, 10, 0);
  Counters b = MakeCounters(80, 5'000, 40'000, 0, 10);
  run.total.Merge(a);
  run.total.Merge(b);
  // The same requests read 3 ms after they arrived.
  run.latency_at_read.RecordN(5'000, 900);
  run.latency_at_read.RecordN(8'000, 80);
  run.latency_at_read.RecordN(43'000, 20);
  run.tasks.emplace_back(std::move(first_task), std::move(a));
  run.tasks.emplace_back("POST /users", std::move(b));
  for (int i = 0; i < 12; ++i) {
    IntervalSample s;
    s.start_s = i;
    s.length_s = 1;
    s.warmup = i < 2;
    s.requests = 100;
    s.errors = i == 5 ? 20 : 0;
    s.p50_us = 2'000;
    s.p90_us = 5'000;
    s.p99_us = 40'000;
    s.max_us = 41'000;
    s.users = 0;
    s.connections = 8;
    run.timeline.push_back(s);
  }
  return run;
}

std::vector<ObjectiveResult> MakeSlo(const RunResult& run) {
  const auto parsed = ParseSlo("p99<=40ms,errors<1%,rps>=50");
  EXPECT_TRUE(parsed.has_value());
  return parsed ? Evaluate(*parsed, run) : std::vector<ObjectiveResult>{};
}

double Number(const boost::json::value& v) {
  return v.is_double() ? v.as_double() : static_cast<double>(v.to_number<std::int64_t>());
}

TEST(ReportTest, JsonHasTheDocumentedShape) {
  const RunResult run = MakeRun();
  const std::vector<ObjectiveResult> slo = MakeSlo(run);
  const boost::json::value doc = boost::json::parse(FormatJson(run, slo));
  const boost::json::object& o = doc.as_object();
  for (const char* key : {"mode",
                          "target",
                          "command_line",
                          "started_at",
                          "threads",
                          "connections",
                          "users",
                          "spawn_rate",
                          "rate",
                          "warmup_s",
                          "duration_s",
                          "requests",
                          "ok",
                          "requests_per_second",
                          "bytes_received",
                          "latency_end",
                          "latency_ms",
                          "latency_at_read_ms",
                          "errors",
                          "unsent",
                          "tasks",
                          "timeline",
                          "slo",
                          "slo_pass"}) {
    EXPECT_TRUE(o.contains(key)) << key;
  }
  EXPECT_EQ(o.at("mode").as_string(), "closed");
  EXPECT_EQ(o.at("started_at").as_string(), "2024-05-01T12:00:00Z");
  EXPECT_EQ(Number(o.at("requests")), 1000);
  EXPECT_EQ(Number(o.at("ok")), 980);
  EXPECT_DOUBLE_EQ(Number(o.at("requests_per_second")), 100);
  EXPECT_DOUBLE_EQ(Number(o.at("duration_s")), 10);
  EXPECT_EQ(Number(o.at("bytes_received")), 98'000);

  const boost::json::object& latency = o.at("latency_ms").as_object();
  for (const char* key : {"min", "mean", "p50", "p90", "p95", "p99", "p99.9", "max"}) {
    EXPECT_TRUE(latency.contains(key)) << key;
  }
  EXPECT_DOUBLE_EQ(Number(latency.at("min")), 2.0);
  EXPECT_DOUBLE_EQ(Number(latency.at("max")), 40.0);
  // 900 at 2 ms, 80 at 5 ms, 20 at 40 ms.
  EXPECT_NEAR(Number(latency.at("p50")), 2.0, 0.002);
  EXPECT_NEAR(Number(latency.at("p95")), 5.0, 0.005);
  EXPECT_DOUBLE_EQ(Number(latency.at("p99")), 40.0);
  EXPECT_DOUBLE_EQ(Number(latency.at("mean")), (900 * 2.0 + 80 * 5.0 + 20 * 40.0) / 1000);

  EXPECT_EQ(o.at("latency_end").as_string(), "arrival");
  const boost::json::object& at_read = o.at("latency_at_read_ms").as_object();
  EXPECT_NEAR(Number(at_read.at("p50")), 5.0, 0.005);
  EXPECT_DOUBLE_EQ(Number(at_read.at("p99")), 43.0);

  const boost::json::object& errors = o.at("errors").as_object();
  EXPECT_EQ(Number(errors.at("total")), 20);
  EXPECT_EQ(Number(errors.at("timeout")), 10);
  EXPECT_EQ(Number(errors.at("status")), 10);
  EXPECT_EQ(Number(errors.at("connect")), 0);
  EXPECT_EQ(Number(errors.at("reset")), 0);
  EXPECT_EQ(Number(errors.at("protocol")), 0);
  EXPECT_EQ(Number(errors.at("by_status").as_object().at("503")), 10);

  const boost::json::array& tasks = o.at("tasks").as_array();
  ASSERT_EQ(tasks.size(), 2U);
  EXPECT_EQ(tasks[0].as_object().at("name").as_string(), "GET /users");
  EXPECT_EQ(Number(tasks[0].as_object().at("requests")), 910);
  EXPECT_DOUBLE_EQ(Number(tasks[0].as_object().at("requests_per_second")), 91);
  EXPECT_NEAR(Number(tasks[1].as_object().at("latency_ms").as_object().at("p50")), 5.0, 0.005);
  EXPECT_EQ(
      Number(tasks[1].as_object().at("errors").as_object().at("by_status").as_object().at("503")),
      10);

  const boost::json::array& timeline = o.at("timeline").as_array();
  ASSERT_EQ(timeline.size(), 12U);
  const boost::json::object& first = timeline[0].as_object();
  for (const char* key : {"t", "length_s", "warmup", "requests", "errors", "rps", "p50_ms",
                          "p90_ms", "p99_ms", "max_ms", "users", "connections"}) {
    EXPECT_TRUE(first.contains(key)) << key;
  }
  EXPECT_TRUE(first.at("warmup").as_bool());
  EXPECT_FALSE(timeline[2].as_object().at("warmup").as_bool());
  EXPECT_DOUBLE_EQ(Number(timeline[5].as_object().at("t")), 5);
  EXPECT_EQ(Number(timeline[5].as_object().at("errors")), 20);
  EXPECT_DOUBLE_EQ(Number(first.at("rps")), 100);
  EXPECT_DOUBLE_EQ(Number(first.at("p99_ms")), 40);
  EXPECT_DOUBLE_EQ(Number(first.at("max_ms")), 41);

  const boost::json::array& objectives = o.at("slo").as_array();
  ASSERT_EQ(objectives.size(), 3U);
  EXPECT_EQ(objectives[0].as_object().at("objective").as_string(), "p99<=40ms");
  EXPECT_DOUBLE_EQ(Number(objectives[0].as_object().at("measured")), 40.0);
  EXPECT_TRUE(objectives[0].as_object().at("pass").as_bool());
  EXPECT_DOUBLE_EQ(Number(objectives[1].as_object().at("measured")), 0.02);
  EXPECT_FALSE(objectives[1].as_object().at("pass").as_bool());
  EXPECT_TRUE(objectives[2].as_object().at("pass").as_bool());
  EXPECT_FALSE(o.at("slo_pass").as_bool());
}

TEST(ReportTest, JsonSloPassIsNullWithoutObjectives) {
  const boost::json::value doc = boost::json::parse(FormatJson(MakeRun(), {}));
  EXPECT_TRUE(doc.as_object().at("slo_pass").is_null());
  EXPECT_TRUE(doc.as_object().at("slo").as_array().empty());
}

TEST(ReportTest, JsonOfAnEmptyRunIsValid) {
  const boost::json::value doc = boost::json::parse(FormatJson(RunResult{}, {}));
  EXPECT_EQ(Number(doc.as_object().at("requests_per_second")), 0);
  EXPECT_EQ(Number(doc.as_object().at("latency_ms").as_object().at("p99")), 0);
}

TEST(ReportTest, HtmlIsSelfContained) {
  RunResult run = MakeRun();
  const std::string html = FormatHtml(run, MakeSlo(run));
  EXPECT_EQ(html.rfind("<!DOCTYPE html>", 0), 0U);
  EXPECT_NE(html.find("</html>"), std::string::npos);
  // Throughput, latency and errors over time, the spectrum and the distribution.
  std::size_t charts = 0;
  for (std::size_t at = html.find("<svg"); at != std::string::npos;
       at = html.find("<svg", at + 1)) {
    ++charts;
  }
  EXPECT_EQ(charts, 5U);
  EXPECT_NE(html.find("class=\"warmup\""), std::string::npos);
  EXPECT_NE(html.find("99.9%"), std::string::npos);
  for (const char* remote : {"<script", "http://", "https://", "<link", "@import", "url("}) {
    EXPECT_EQ(html.find(remote), std::string::npos) << remote;
  }
  EXPECT_NE(html.find("class=\"pass\""), std::string::npos);
  EXPECT_NE(html.find("class=\"fail\""), std::string::npos);
}

TEST(ReportTest, HtmlMentionsUrlsOnlyAsText) {
  RunResult run = MakeRun();
  run.target = "https://api.example.test/users?page=1&x=\"y\"";
  const std::string html = FormatHtml(run, {});
  EXPECT_NE(html.find("https://api.example.test/users?page=1&amp;x=&quot;y&quot;"),
            std::string::npos);
  for (const char* attribute : {"src=", "href=", "<script"}) {
    EXPECT_EQ(html.find(attribute), std::string::npos) << attribute;
  }
}

TEST(ReportTest, HtmlEscapesEverythingFromTheRun) {
  RunResult run = MakeRun("<img onerror=x>");
  run.command_line = "myriad-load --header 'X: <script>alert(1)</script>'";
  run.started_at = "<b>";
  const std::string html = FormatHtml(run, MakeSlo(run));
  EXPECT_EQ(html.find("<img"), std::string::npos);
  EXPECT_EQ(html.find("<script"), std::string::npos);
  EXPECT_EQ(html.find("<b>&lt;"), std::string::npos);
  EXPECT_NE(html.find("&lt;img onerror=x&gt;"), std::string::npos);
  EXPECT_NE(html.find("&lt;script&gt;alert(1)&lt;/script&gt;"), std::string::npos);
}

TEST(ReportTest, HtmlOfAnEmptyRun) {
  const std::string html = FormatHtml(RunResult{}, {});
  EXPECT_NE(html.find("</html>"), std::string::npos);
  EXPECT_EQ(html.find("nan"), std::string::npos);
  EXPECT_EQ(html.find("inf"), std::string::npos);
}

TEST(ReportTest, TableShowsPassAndFail) {
  const RunResult run = MakeRun();
  const std::string table = FormatTable(run, MakeSlo(run));
  EXPECT_NE(table.find("p99<=40ms"), std::string::npos);
  EXPECT_NE(table.find("PASS"), std::string::npos);
  EXPECT_NE(table.find("FAIL"), std::string::npos);
  EXPECT_NE(table.find("SLO FAIL"), std::string::npos);
  EXPECT_NE(table.find("GET /users"), std::string::npos);
  EXPECT_NE(table.find("status 503"), std::string::npos);
  EXPECT_NE(table.find("100.0 req/s"), std::string::npos);
  const std::string no_slo = FormatTable(run, {});
  EXPECT_EQ(no_slo.find("PASS"), std::string::npos);
  EXPECT_EQ(no_slo.find("FAIL"), std::string::npos);
}

// Latencies that end at arrival come with the same ones ending at the read; with
// --latency-end read the two are one, and the table does not repeat it.
TEST(ReportTest, TableShowsTheLatenciesAtReadOnlyWhenTheyDiffer) {
  RunResult run = MakeRun();
  const std::string table = FormatTable(run, {});
  const auto row = table.find("all, at read");
  ASSERT_NE(row, std::string::npos);
  EXPECT_NE(table.find("5.00ms", row), std::string::npos);
  EXPECT_NE(table.find("43.0ms", row), std::string::npos);
  EXPECT_NE(FormatHtml(run, {}).find("all, at read"), std::string::npos);
  run.latency_end = "read";
  EXPECT_EQ(FormatTable(run, {}).find("at read"), std::string::npos);
  EXPECT_EQ(FormatHtml(run, {}).find("all, at read"), std::string::npos);
}

// A task with no request in the measured time (a login done during the warm-up) shows no
// latencies, rather than 0us for each.
TEST(ReportTest, ATaskWithNoMeasuredRequestShowsNoLatencies) {
  RunResult run = MakeRun();
  run.tasks.emplace(run.tasks.begin(), "login", Counters{});
  const std::string table = FormatTable(run, {});
  const auto row = table.find("\nlogin ");
  ASSERT_NE(row, std::string::npos) << table;
  const std::string line = table.substr(row + 1, table.find('\n', row + 1) - row - 1);
  EXPECT_EQ(line.find("us"), std::string::npos) << line;
  EXPECT_EQ(line.find("ms"), std::string::npos) << line;
  std::size_t dashes = 0;
  for (const char ch : line) dashes += ch == '-' ? 1 : 0;
  EXPECT_EQ(dashes, 7U) << "five percentiles, max and mean: " << line;

  const std::string html = FormatHtml(run, {});
  const auto cell = html.find("<td>login</td>");
  ASSERT_NE(cell, std::string::npos);
  const std::string html_row = html.substr(cell, html.find("</tr>", cell) - cell);
  EXPECT_EQ(html_row.find("0us"), std::string::npos) << html_row;
  EXPECT_NE(html_row.find("<td>-</td>"), std::string::npos) << html_row;
}

TEST(ReportTest, ARunCutShortSaysSoEverywhere) {
  RunResult run = MakeRun();
  EXPECT_EQ(FormatTable(run, {}).find("cut short"), std::string::npos);
  EXPECT_TRUE(boost::json::parse(FormatJson(run, {})).as_object().at("interrupted_by").is_null());
  run.interrupted_by = "SIGTERM";
  EXPECT_NE(FormatTable(run, {}).find("cut short by SIGTERM"), std::string::npos);
  EXPECT_NE(FormatTable(run, MakeSlo(run)).find("SLO FAIL over the 10.0s that ran (cut short"),
            std::string::npos)
      << FormatTable(run, MakeSlo(run));
  EXPECT_EQ(boost::json::parse(FormatJson(run, {})).as_object().at("interrupted_by").as_string(),
            "SIGTERM");
  EXPECT_NE(FormatHtml(run, {}).find("<td>Interrupted</td><td>by SIGTERM"), std::string::npos);
}

TEST(ReportTest, FormatLatencyKeepsThreeDigits) {
  EXPECT_EQ(FormatLatency(0), "0us");
  EXPECT_EQ(FormatLatency(850), "850us");
  EXPECT_EQ(FormatLatency(999), "999us");
  EXPECT_EQ(FormatLatency(1'000), "1.00ms");
  EXPECT_EQ(FormatLatency(1'234), "1.23ms");
  EXPECT_EQ(FormatLatency(9'995), "10.0ms");
  EXPECT_EQ(FormatLatency(12'345), "12.3ms");
  EXPECT_EQ(FormatLatency(123'456), "123ms");
  EXPECT_EQ(FormatLatency(999'600), "1.00s");
  EXPECT_EQ(FormatLatency(1'234'567), "1.23s");
  EXPECT_EQ(FormatLatency(12'345'678), "12.3s");
  EXPECT_EQ(FormatLatency(59'990'000), "1m00s");
  EXPECT_EQ(FormatLatency(125'000'000), "2m05s");
  EXPECT_EQ(FormatLatency(3'600'000'000), "1h00m");
}

}  // namespace
}  // namespace myriad::load

// myriad-load's engine against a small HTTP server inside the test that answers, delays,
// fails or stalls chosen requests: exact counting in the closed loop, error classes, the
// open loop's view of a stalled server (coordinated omission), virtual users carrying a
// captured token, and the command line's SLO gate exit codes.
#include "loadgen/engine.hpp"

#include <gtest/gtest.h>

#include <atomic>
#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/http/parser.hpp>
#include <boost/beast/http/read.hpp>
#include <boost/beast/http/string_body.hpp>
#include <boost/beast/http/write.hpp>
#include <boost/json/parse.hpp>
#include <boost/json/value.hpp>
#include <chrono>
#include <csignal>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <tuple>

#include "loadgen/connection.hpp"
#include "loadgen/scenario.hpp"
#include "support/process.hpp"

namespace myriad::load {
namespace {

namespace asio = boost::asio;
namespace http = boost::beast::http;
using Clock = std::chrono::steady_clock;
using namespace std::chrono_literals;

// Paths: /delay/MS (answer after MS), /status/CODE, /close (Connection: close), /reset
// (close without answering), /garbage (not HTTP), POST /login ({"access_token":"tok-N"}),
// /me (401 without "Authorization: Bearer tok-..."), anything else 200 "ok". Requests that
// arrive inside the stall window are answered when it ends.
class TestServer {
 public:
  static constexpr std::uint64_t kMaxBody = 64 * 1024 * 1024;

  TestServer() : acceptor_(io_, {asio::ip::make_address("127.0.0.1"), 0}) {
    port_ = acceptor_.local_endpoint().port();
    asio::co_spawn(io_, Accept(), asio::detached);
    thread_ = std::thread([this] { io_.run(); });
  }
  ~TestServer() {
    io_.stop();
    thread_.join();
  }
  TestServer(const TestServer&) = delete;
  TestServer& operator=(const TestServer&) = delete;

  std::uint16_t port() const { return port_; }
  std::string Url(const std::string& path) const {
    return "http://127.0.0.1:" + std::to_string(port_) + path;
  }
  /// Stalls requests that arrive from `from` after the first request until `to` after it.
  void StallAfterFirstRequest(Clock::duration from, Clock::duration to) {
    stall_from_ = from;
    stall_to_ = to;
  }
  std::int64_t Count(const std::string& path) {
    const std::lock_guard lock(mutex_);
    return counts_[path];
  }
  std::int64_t BodyBytes(const std::string& path) {
    const std::lock_guard lock(mutex_);
    return body_bytes_[path];
  }
  std::int64_t Total() {
    const std::lock_guard lock(mutex_);
    std::int64_t n = 0;
    for (const auto& [path, count] : counts_) n += count;
    return n;
  }

 private:
  asio::awaitable<void> Accept() {
    for (;;) {
      auto [ec, socket] = co_await acceptor_.async_accept(asio::as_tuple(asio::use_awaitable));
      if (ec) co_return;
      asio::co_spawn(io_, Serve(std::move(socket)), asio::detached);
    }
  }

  asio::awaitable<void> Serve(asio::ip::tcp::socket socket) {
    boost::beast::flat_buffer buffer;
    asio::steady_timer timer(io_);
    for (;;) {
      http::request_parser<http::string_body> parser;
      parser.body_limit(kMaxBody);
      auto [ec, n] =
          co_await http::async_read(socket, buffer, parser, asio::as_tuple(asio::use_awaitable));
      if (ec) co_return;
      const auto& request = parser.get();
      const std::string path(request.target());
      const auto now = Clock::now();
      Clock::time_point first;
      {
        const std::lock_guard lock(mutex_);
        ++counts_[path];
        body_bytes_[path] += static_cast<std::int64_t>(request.body().size());
        if (!first_) first_ = now;
        first = *first_;
      }
      if (stall_to_ > stall_from_ && now >= first + stall_from_ && now < first + stall_to_) {
        timer.expires_at(first + stall_to_);
        co_await timer.async_wait(asio::as_tuple(asio::use_awaitable));
      }
      http::response<http::string_body> response{http::status::ok, 11};
      response.set(http::field::content_type, "text/plain");
      response.body() = "ok";
      if (path.rfind("/delay/", 0) == 0) {
        timer.expires_after(std::chrono::milliseconds(std::stoi(path.substr(7))));
        co_await timer.async_wait(asio::as_tuple(asio::use_awaitable));
      } else if (path.rfind("/status/", 0) == 0) {
        response.result(static_cast<unsigned>(std::stoi(path.substr(8))));
      } else if (path == "/close") {
        response.keep_alive(false);
      } else if (path == "/reset") {
        co_return;
      } else if (path == "/garbage") {
        const std::string junk = "NOT HTTP AT ALL\r\n\r\n";
        co_await asio::async_write(socket, asio::buffer(junk), asio::as_tuple(asio::use_awaitable));
        co_return;
      } else if (path == "/login") {
        const auto token = ++tokens_;
        response.set(http::field::content_type, "application/json");
        response.body() = "{\"access_token\":\"tok-" + std::to_string(token) +
                          "\",\"n\":" + std::to_string(token) + "}";
      } else if (path == "/me") {
        const auto auth = request[http::field::authorization];
        if (auth.rfind("Bearer tok-", 0) != 0) response.result(http::status::unauthorized);
      }
      response.prepare_payload();
      auto [write_ec, written] =
          co_await http::async_write(socket, response, asio::as_tuple(asio::use_awaitable));
      if (write_ec || !response.keep_alive()) co_return;
    }
  }

  asio::io_context io_;
  asio::ip::tcp::acceptor acceptor_;
  std::uint16_t port_ = 0;
  std::thread thread_;
  std::mutex mutex_;
  std::map<std::string, std::int64_t> counts_;
  std::map<std::string, std::int64_t> body_bytes_;
  std::optional<Clock::time_point> first_;
  std::atomic<std::int64_t> tokens_{0};
  Clock::duration stall_from_{};
  Clock::duration stall_to_{};
};

// A port nobody listens on: take one and close it again.
std::uint16_t ClosedPort() {
  asio::io_context io;
  const asio::ip::tcp::acceptor probe(io, {asio::ip::make_address("127.0.0.1"), 0});
  return probe.local_endpoint().port();
}

EngineOptions Options(const TestServer& server, const std::string& path, Mode mode) {
  EngineOptions o;
  o.mode = mode;
  o.target = ParseTarget(server.Url(path)).value();
  o.threads = 2;
  o.connections = 4;
  o.duration = 2s;
  o.request_timeout = 5s;
  o.interval = 500ms;
  return o;
}

RunResult RunPath(const EngineOptions& o) {
  const auto scenario = SingleRequestScenario("GET", o.target.path, {}, "", false);
  return load::Run(o, scenario, nullptr, nullptr);
}

std::int64_t Error(const RunResult& r, ErrorKind kind) {
  return r.total.errors[static_cast<std::size_t>(kind)];
}

TEST(LoadEngineTest, ClosedLoopWithRequestCountSendsExactlyThatMany) {
  TestServer server;
  auto o = Options(server, "/hello", Mode::kClosed);
  o.connections = 7;
  o.total_requests = 1000;
  const auto r = RunPath(o);
  EXPECT_EQ(r.total.requests, 1000);
  EXPECT_EQ(r.total.ok, 1000);
  EXPECT_EQ(r.total.latency.Count(), 1000);
  EXPECT_EQ(r.total.Errors(), 0);
  EXPECT_EQ(server.Count("/hello"), 1000);
  ASSERT_EQ(r.tasks.size(), 1U);
  EXPECT_EQ(r.tasks[0].second.requests, 1000);
  EXPECT_GT(r.RequestsPerSecond(), 0);
}

// The engine writes a request directly while it fits the socket's send buffer and the rest
// asynchronously: a body far larger than that buffer still arrives whole, every time.
TEST(LoadEngineTest, ARequestLargerThanTheSendBufferArrivesWhole) {
  TestServer server;
  auto o = Options(server, "/upload", Mode::kClosed);
  o.connections = 3;
  o.total_requests = 6;
  // Loopback's send buffer grows to 4 MB at most (net.ipv4.tcp_wmem).
  const std::string body(16 * 1024 * 1024, 'x');
  const auto scenario = SingleRequestScenario("POST", "/upload", {}, body, true);
  const auto r = load::Run(o, scenario, nullptr, nullptr);
  EXPECT_EQ(r.total.ok, 6);
  EXPECT_EQ(r.total.Errors(), 0);
  EXPECT_EQ(server.Count("/upload"), 6);
  EXPECT_EQ(server.BodyBytes("/upload"), 6 * static_cast<std::int64_t>(body.size()));
}

// A response's latency ends when it reached this host, not when the load generator's busy
// thread got round to reading it: here the answer comes after 50 ms, and waits in the socket
// while the thread is blocked for a second.
TEST(LoadEngineTest, AResponseIsTimedWhenItArrivedNotWhenItWasRead) {
  TestServer server;
  asio::io_context io;
  HttpConnection connection(io.get_executor(), /*arrival_timestamps=*/true);
  std::optional<Response> response;
  Clock::time_point sent_at;
  Clock::time_point read_at;
  asio::co_spawn(
      io,
      [&]() -> asio::awaitable<void> {
        const asio::ip::tcp::endpoint endpoint(asio::ip::make_address("127.0.0.1"), server.port());
        if (!co_await connection.Connect(endpoint, Clock::now() + 10s)) co_return;
        // Runs once Exchange has written the request and waits for the answer.
        asio::post(io, [] { std::this_thread::sleep_for(1s); });
        sent_at = Clock::now();
        const std::string request = "GET /delay/50 HTTP/1.1\r\nHost: t\r\n\r\n";
        response = co_await connection.Exchange(request, false, false, sent_at + 30s);
        read_at = Clock::now();
      },
      asio::detached);
  io.run();
  ASSERT_TRUE(response.has_value());
  ASSERT_TRUE(response->ok);
  EXPECT_EQ(response->status, 200);
  EXPECT_GE(read_at - sent_at, 1s);
  EXPECT_GE(response->received_at - sent_at, 50ms);
  EXPECT_LT(response->received_at - sent_at, 500ms);
}

TEST(LoadEngineTest, ClosedLoopForADurationCountsWhatTheServerAnswered) {
  TestServer server;
  auto o = Options(server, "/hello", Mode::kClosed);
  o.duration = 1s;
  const auto r = RunPath(o);
  EXPECT_GT(r.total.requests, 100);
  EXPECT_EQ(r.total.Errors(), 0);
  // Requests answered after the measured second (before every thread has stopped) are not
  // counted, so the server saw a few more, never fewer.
  EXPECT_GE(server.Count("/hello"), r.total.requests);
  EXPECT_GE(static_cast<double>(r.total.requests),
            0.9 * static_cast<double>(server.Count("/hello")));
  EXPECT_NEAR(r.duration_s, 1.0, 0.2);
  EXPECT_FALSE(r.timeline.empty());
}

TEST(LoadEngineTest, ErrorsAreClassifiedByKindAndStatus) {
  TestServer server;
  {
    auto o = Options(server, "/status/503", Mode::kClosed);
    o.total_requests = 50;
    const auto r = RunPath(o);
    EXPECT_EQ(Error(r, ErrorKind::kStatus), 50);
    EXPECT_EQ(r.total.statuses.at(503), 50);
    EXPECT_EQ(r.total.ok, 0);
    EXPECT_EQ(r.total.latency.Count(), 50);  // answered: their latency counts
  }
  {
    auto o = Options(server, "/delay/3000", Mode::kClosed);
    o.total_requests = 2;
    o.connections = 2;
    o.request_timeout = 300ms;
    const auto started = Clock::now();
    const auto r = RunPath(o);
    EXPECT_EQ(Error(r, ErrorKind::kTimeout), 2);
    EXPECT_LT(Clock::now() - started, 2500ms);
    EXPECT_GE(r.total.latency.Min(), 250'000);  // a timeout's latency is the wait
  }
  {
    auto o = Options(server, "/reset", Mode::kClosed);
    o.total_requests = 20;
    const auto r = RunPath(o);
    EXPECT_EQ(Error(r, ErrorKind::kReset), 20);
  }
  {
    auto o = Options(server, "/garbage", Mode::kClosed);
    o.total_requests = 20;
    const auto r = RunPath(o);
    EXPECT_EQ(Error(r, ErrorKind::kProtocol), 20);
  }
  {
    auto o = Options(server, "/close", Mode::kClosed);
    o.total_requests = 100;
    const auto r = RunPath(o);
    EXPECT_EQ(r.total.ok, 100);  // Connection: close is not an error: reconnect and go on
  }
  {
    EngineOptions o = Options(server, "/", Mode::kClosed);
    o.target = ParseTarget("http://127.0.0.1:" + std::to_string(ClosedPort()) + "/").value();
    o.total_requests = 10;
    const auto r = RunPath(o);
    EXPECT_EQ(Error(r, ErrorKind::kConnect), 10);
    EXPECT_EQ(r.total.latency.Count(), 0);
  }
}

// The server stops answering for one second in the middle of a three-second run. A closed
// loop with one connection sends nothing while it waits, so only one request sees the stall
// and the percentiles look fine (coordinated omission); the open loop keeps sending on
// schedule and every request due during the stall reports how late it was answered.
TEST(LoadEngineTest, OpenLoopReportsAStallThatAClosedLoopHides) {
  RunResult open;
  RunResult closed;
  {
    TestServer server;
    server.StallAfterFirstRequest(1s, 2s);
    auto o = Options(server, "/hello", Mode::kOpen);
    o.rate = RateSchedule::Parse("200/s").value();
    o.connections = 400;
    o.duration = 3s;
    open = RunPath(o);
  }
  {
    TestServer server;
    server.StallAfterFirstRequest(1s, 2s);
    auto o = Options(server, "/hello", Mode::kClosed);
    o.connections = 1;
    o.threads = 1;
    o.duration = 3s;
    closed = RunPath(o);
  }
  EXPECT_EQ(open.total.Errors(), 0);
  EXPECT_NEAR(static_cast<double>(open.total.requests), 600, 60);
  // About a third of the arrivals fall in the stall, waiting 0..1 s: p90 near 700 ms.
  EXPECT_GE(open.total.latency.ValueAtPercentile(90), 400'000);
  EXPECT_GE(open.total.latency.Max(), 800'000);
  // The closed loop saw the same stall (its max) but its p90 does not show it.
  EXPECT_GE(closed.total.latency.Max(), 800'000);
  EXPECT_LT(closed.total.latency.ValueAtPercentile(90), 100'000);
}

TEST(LoadEngineTest, OpenLoopQueuesArrivalsWhenEveryConnectionIsBusy) {
  TestServer server;
  auto o = Options(server, "/delay/200", Mode::kOpen);
  o.rate = RateSchedule::Parse("100/s").value();
  o.connections = 2;  // serves 10 req/s: arrivals pile up and their waiting counts
  o.duration = 1s;
  const auto r = RunPath(o);
  EXPECT_GT(r.unsent, 50);  // still waiting for a connection at the end
  EXPECT_EQ(Error(r, ErrorKind::kTimeout), r.unsent);
  EXPECT_GE(r.total.latency.Max(), 500'000);
}

TEST(LoadEngineTest, VirtualUsersLogInOnceAndCarryTheirToken) {
  TestServer server;
  const auto dir = std::filesystem::temp_directory_path() / "myriad-load-users-test";
  std::filesystem::create_directories(dir);
  const auto file = dir / "users.json";
  std::ofstream(file) << R"({
    "name": "login then read",
    "on_start": {"name": "login", "requests": [{"method": "POST", "path": "/login",
        "body": {"user": "{{user}}"}, "capture": {"token": "json:/access_token"},
        "expect": [200]}]},
    "tasks": [
      {"name": "me", "weight": 3, "think": "20ms..40ms",
       "requests": [{"path": "/me", "headers": {"Authorization": "Bearer {{token}}"}}]},
      {"name": "two steps", "weight": 1, "think": "20ms",
       "requests": [{"path": "/hello"}, {"path": "/me", "headers": {"Authorization": "Bearer {{token}}"}}]}
    ]})";
  auto scenario = LoadScenario(file);
  ASSERT_TRUE(scenario) << scenario.error();
  EngineOptions o = Options(server, "/", Mode::kUsers);
  o.users = 20;
  o.spawn_rate = 100;
  o.duration = 1s;
  const auto r = load::Run(o, scenario.value(), nullptr, nullptr);
  std::filesystem::remove_all(dir);

  EXPECT_EQ(server.Count("/login"), 20);  // once per user, during the ramp
  EXPECT_EQ(r.total.Errors(), 0);
  ASSERT_EQ(r.tasks.size(), 3U);
  EXPECT_EQ(r.tasks[0].first, "login");
  EXPECT_EQ(r.tasks[1].first, "me");
  EXPECT_EQ(r.tasks[2].first, "two steps");
  EXPECT_GT(r.tasks[1].second.requests, r.tasks[2].second.requests);
  EXPECT_GT(r.tasks[2].second.requests, 0);
  // 20 users each doing a task per ~30 ms for 1 s: several hundred requests, no more.
  EXPECT_GT(r.total.requests, 200);
  EXPECT_LT(r.total.requests, 2000);
  EXPECT_EQ(r.users, 20);
  EXPECT_EQ(r.connections, 20);
}

TEST(LoadEngineTest, TargetsAreHttpUrls) {
  const auto t = ParseTarget("http://127.0.0.1:8080/api/users?limit=5");
  ASSERT_TRUE(t);
  EXPECT_EQ(t.value().host, "127.0.0.1");
  EXPECT_EQ(t.value().port, 8080);
  EXPECT_EQ(t.value().host_header, "127.0.0.1:8080");
  EXPECT_EQ(t.value().path, "/api/users?limit=5");
  const auto v6 = ParseTarget("http://[::1]:9000");
  ASSERT_TRUE(v6);
  EXPECT_EQ(v6.value().host, "::1");
  EXPECT_EQ(v6.value().path, "/");
  EXPECT_FALSE(ParseTarget("https://127.0.0.1/"));
  EXPECT_FALSE(ParseTarget("127.0.0.1:8080"));
  EXPECT_FALSE(ParseTarget("http://127.0.0.1:0/"));
}

// The SLO gate: exit 0 when every objective passes, 1 when one fails, 2 for a bad --slo.
TEST(LoadCommandTest, SloGateExitCodes) {
  TestServer server;
  const auto run = [&](std::vector<std::string> extra) {
    std::vector<std::string> argv = {MYRIAD_LOAD_BINARY, "-q", "-n", "200", "-c", "4"};
    argv.insert(argv.end(), extra.begin(), extra.end());
    argv.push_back(server.Url("/hello"));
    testing::ChildProcess child(argv);
    auto code = child.Wait(60s);
    return std::make_pair(code.value_or(-1), child.output());
  };
  auto [pass, pass_out] = run({"--slo", "p99<10s,errors<1%"});
  EXPECT_EQ(pass, 0) << pass_out;
  EXPECT_NE(pass_out.find("PASS"), std::string::npos) << pass_out;
  auto [fail, fail_out] = run({"--slo", "p50<1us"});
  EXPECT_EQ(fail, 1) << fail_out;
  EXPECT_NE(fail_out.find("FAIL"), std::string::npos) << fail_out;
  auto [bad, bad_out] = run({"--slo", "p99<fast"});
  EXPECT_EQ(bad, 2) << bad_out;
  EXPECT_NE(bad_out.find("p99<fast"), std::string::npos) << bad_out;
  // --slo without a value is the usual acceptance: four objectives.
  auto [dflt, dflt_out] = run({"--slo"});
  EXPECT_EQ(dflt, 0) << dflt_out;
  EXPECT_NE(dflt_out.find("p95<200ms"), std::string::npos) << dflt_out;
  // Every request failing fails the default gate's error objective.
  std::vector<std::string> argv = {MYRIAD_LOAD_BINARY,       "-q", "-n", "50", "--slo",
                                   server.Url("/status/500")};
  testing::ChildProcess failing(argv);
  EXPECT_EQ(failing.Wait(60s).value_or(-1), 1) << failing.output();
  // A server that is down: every connection refused, no latency measured. A gate of latency
  // objectives alone must fail, not pass on the empty histogram's zeros.
  testing::ChildProcess down({MYRIAD_LOAD_BINARY, "-q", "-n", "20", "-c", "2", "--slo",
                              "p99<10s,mean<10s",
                              "http://127.0.0.1:" + std::to_string(ClosedPort()) + "/"});
  EXPECT_EQ(down.Wait(60s).value_or(-1), 1) << down.output();
  EXPECT_NE(down.output().find("no responses"), std::string::npos) << down.output();
}

// Ctrl-C or SIGTERM stops a run early: it still prints its table and writes its JSON for the
// time until then, says it was cut short, and exits as a shell reports the signal (130,
// 143), not 0, even though its objectives passed.
TEST(LoadCommandTest, ASignalCutsTheRunShortAndSaysSo) {
  TestServer server;
  const auto dir = std::filesystem::temp_directory_path() / "myriad-load-signal-test";
  std::filesystem::create_directories(dir);
  for (const auto& [signo, name, code] :
       {std::tuple{SIGINT, "SIGINT", 130}, std::tuple{SIGTERM, "SIGTERM", 143}}) {
    const auto json = dir / (std::string(name) + ".json");
    std::filesystem::remove(json);
    testing::ChildProcess child({MYRIAD_LOAD_BINARY, "-c", "2", "-d", "60s", "--slo", "p99<10s",
                                 "--json", json.string(), server.Url("/hello")});
    ASSERT_TRUE(child.WaitForOutput("[   1.0s]", 20s)) << child.output();
    child.Signal(signo);
    EXPECT_EQ(child.Wait(20s).value_or(-1), code) << child.output();
    EXPECT_NE(child.output().find(std::string("cut short by ") + name), std::string::npos)
        << child.output();
    EXPECT_NE(child.output().find("SLO PASS"), std::string::npos) << child.output();
    std::ifstream in(json);
    const std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    const auto doc = boost::json::parse(text).as_object();
    EXPECT_EQ(doc.at("interrupted_by").as_string(), name);
    EXPECT_GT(doc.at("requests").to_number<std::int64_t>(), 0);
    EXPECT_LT(doc.at("duration_s").to_number<double>(), 30);
  }
  // A run that ends as planned says nothing of the kind.
  const auto json = dir / "planned.json";
  testing::ChildProcess child(
      {MYRIAD_LOAD_BINARY, "-q", "-n", "50", "--json", json.string(), server.Url("/hello")});
  EXPECT_EQ(child.Wait(60s).value_or(-1), 0) << child.output();
  EXPECT_EQ(child.output().find("cut short"), std::string::npos) << child.output();
  std::ifstream in(json);
  const std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  EXPECT_TRUE(boost::json::parse(text).as_object().at("interrupted_by").is_null());
  std::filesystem::remove_all(dir);
}

// --latency-end: arrival (the default) reports the latencies at the read beside its own;
// read reports only those; anything else is refused.
TEST(LoadCommandTest, LatencyEndChoosesWhereALatencyEnds) {
  TestServer server;
  const auto dir = std::filesystem::temp_directory_path() / "myriad-load-latency-end-test";
  std::filesystem::create_directories(dir);
  const auto run = [&](std::vector<std::string> extra, const std::string& json) {
    std::vector<std::string> argv = {MYRIAD_LOAD_BINARY,   "-q", "-n", "100", "-c", "2", "--json",
                                     (dir / json).string()};
    argv.insert(argv.end(), extra.begin(), extra.end());
    argv.push_back(server.Url("/hello"));
    testing::ChildProcess child(argv);
    auto code = child.Wait(60s);
    return std::make_pair(code.value_or(-1), child.output());
  };
  const auto latency_end = [&](const std::string& json) {
    std::ifstream in(dir / json);
    const std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    const auto doc = boost::json::parse(text).as_object();
    EXPECT_TRUE(doc.contains("latency_at_read_ms"));
    return std::string(doc.at("latency_end").as_string());
  };
  auto [arrival, arrival_out] = run({}, "arrival.json");
  EXPECT_EQ(arrival, 0) << arrival_out;
  EXPECT_NE(arrival_out.find("all, at read"), std::string::npos) << arrival_out;
  EXPECT_EQ(latency_end("arrival.json"), "arrival");
  auto [read, read_out] = run({"--latency-end", "read"}, "read.json");
  EXPECT_EQ(read, 0) << read_out;
  EXPECT_EQ(read_out.find("at read"), std::string::npos) << read_out;
  EXPECT_EQ(latency_end("read.json"), "read");
  auto [bad, bad_out] = run({"--latency-end", "soon"}, "bad.json");
  EXPECT_EQ(bad, 2) << bad_out;
  EXPECT_NE(bad_out.find("--latency-end"), std::string::npos) << bad_out;
  std::filesystem::remove_all(dir);
}

}  // namespace
}  // namespace myriad::load

// The HTTP server over real loopback sockets: keep-alive, pipelining, every limit,
// timeouts and graceful shutdown. Nothing here asserts on how long something took;
// timeouts are configured short and waits are bounded so a broken server fails fast.
#include <gtest/gtest.h>
#include <unistd.h>

#include <boost/json/parse.hpp>
#include <cstdio>
#include <fstream>
#include <memory>
#include <set>
#include <thread>
#include <vector>

#include "support/http_client.hpp"
#include "support/server_fixture.hpp"

namespace myriad::testing {
namespace {

using namespace std::chrono_literals;

void ExpectProblem(const HttpResponse& r, int status) {
  EXPECT_EQ(r.status, status);
  EXPECT_EQ(r.Header("Content-Type").value_or(""), "application/problem+json");
  auto json = boost::json::parse(r.body).as_object();
  EXPECT_EQ(json.at("status").as_int64(), status);
  EXPECT_TRUE(json.contains("type"));
  EXPECT_TRUE(json.contains("title"));
  EXPECT_TRUE(json.contains("detail"));
  ASSERT_TRUE(json.contains("request_id"));
  EXPECT_EQ(json.at("request_id").as_string(), r.Header("X-Request-ID").value_or("?"));
}

TEST(Server, HealthAnswersJson) {
  TestServer server;
  auto r = Get(server.port(), "/api/health");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 200);
  EXPECT_EQ(r->body, R"({"status":"ok"})");
  EXPECT_EQ(r->Header("Content-Type").value_or(""), "application/json");
  EXPECT_EQ(r->Header("X-Request-ID").value_or("").size(), 32u);
}

TEST(Server, KeepAliveServesManyRequestsOnOneConnection) {
  TestServer server;
  HttpClient client(server.port());
  ASSERT_TRUE(client.Connect());
  std::set<std::string> ids;
  for (int i = 0; i < 50; ++i) {
    auto r = client.Request("GET", "/api/health");
    ASSERT_TRUE(r) << "request " << i;
    EXPECT_EQ(r->status, 200);
    EXPECT_FALSE(r->Header("Connection"));
    ids.insert(r->Header("X-Request-ID").value_or(""));
  }
  EXPECT_EQ(ids.size(), 50u);
  EXPECT_EQ(MetricValue(server.Metrics(), "http_connections_open"), 1);
}

TEST(Server, PipelinedRequestsAreAnsweredInOrder) {
  TestServer server;
  HttpClient client(server.port());
  ASSERT_TRUE(client.Connect());
  // A slow request first: the fast ones behind it must still come back after it.
  ASSERT_TRUE(client.Send(
      "GET /test/sleep?ms=50 HTTP/1.1\r\nHost: x\r\nX-Request-ID: first\r\n\r\n"
      "GET /api/nope HTTP/1.1\r\nHost: x\r\nX-Request-ID: second\r\n\r\n"
      "POST /test/echo HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\nX-Request-ID: third\r\n\r\nhello"
      "GET /api/health HTTP/1.1\r\nHost: x\r\nX-Request-ID: fourth\r\n\r\n"));
  auto a = client.ReadResponse();
  auto b = client.ReadResponse();
  auto c = client.ReadResponse();
  auto d = client.ReadResponse();
  ASSERT_TRUE(a && b && c && d);
  EXPECT_EQ(a->Header("X-Request-ID"), "first");
  EXPECT_EQ(a->status, 200);
  EXPECT_EQ(b->Header("X-Request-ID"), "second");
  EXPECT_EQ(b->status, 404);
  EXPECT_EQ(c->Header("X-Request-ID"), "third");
  EXPECT_EQ(c->body, "hello");
  EXPECT_EQ(d->Header("X-Request-ID"), "fourth");
  EXPECT_EQ(d->status, 200);
}

TEST(Server, RequestSplitAcrossManyWrites) {
  TestServer server;
  HttpClient client(server.port());
  ASSERT_TRUE(client.Connect());
  std::string request =
      "POST /test/echo HTTP/1.1\r\nHost: x\r\nContent-Length: 11\r\n\r\nhello world";
  for (char c : request) {
    ASSERT_TRUE(client.Send(std::string_view(&c, 1)));
    std::this_thread::sleep_for(1ms);
  }
  auto r = client.ReadResponse();
  ASSERT_TRUE(r);
  EXPECT_EQ(r->body, "hello world");
}

TEST(Server, ChunkedBodyAndExpectContinue) {
  TestServer server;
  HttpClient client(server.port());
  ASSERT_TRUE(client.Connect());
  ASSERT_TRUE(
      client.Send("POST /test/echo HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n"
                  "5\r\nhello\r\n6\r\n world\r\n0\r\n\r\n"));
  auto r = client.ReadResponse();
  ASSERT_TRUE(r);
  EXPECT_EQ(r->body, "hello world");

  ASSERT_TRUE(
      client.Send("POST /test/echo HTTP/1.1\r\nHost: x\r\nContent-Length: 4\r\n"
                  "Expect: 100-continue\r\n\r\n"));
  auto cont = client.ReadResponse();
  ASSERT_TRUE(cont);
  EXPECT_EQ(cont->status, 100);
  ASSERT_TRUE(client.Send("data"));
  auto done = client.ReadResponse();
  ASSERT_TRUE(done);
  EXPECT_EQ(done->status, 200);
  EXPECT_EQ(done->body, "data");
}

TEST(Server, RequestIdIsEchoedOnlyWhenSafe) {
  TestServer server;
  HttpClient client(server.port());
  ASSERT_TRUE(client.Connect());
  auto ok = client.Request("GET", "/api/health", {}, {{"X-Request-ID", "abc-123.def_9"}});
  ASSERT_TRUE(ok);
  EXPECT_EQ(ok->Header("X-Request-ID"), "abc-123.def_9");

  auto spaced = client.Request("GET", "/api/health", {}, {{"X-Request-ID", "has space\"quote"}});
  ASSERT_TRUE(spaced);
  EXPECT_EQ(spaced->Header("X-Request-ID").value_or("").size(), 32u);

  auto too_long = client.Request("GET", "/api/nope", {}, {{"X-Request-ID", std::string(129, 'a')}});
  ASSERT_TRUE(too_long);
  EXPECT_EQ(too_long->Header("X-Request-ID").value_or("").size(), 32u);
  ExpectProblem(*too_long, 404);
}

TEST(Server, NotFoundMethodNotAllowedHeadAndOptions) {
  TestServer server;
  HttpClient client(server.port());
  ASSERT_TRUE(client.Connect());
  auto missing = client.Request("GET", "/api/nothing/here");
  ASSERT_TRUE(missing);
  ExpectProblem(*missing, 404);

  auto wrong = client.Request("DELETE", "/api/health");
  ASSERT_TRUE(wrong);
  ExpectProblem(*wrong, 405);
  EXPECT_EQ(wrong->Header("Allow"), "GET, HEAD, OPTIONS");

  ASSERT_TRUE(client.Send("HEAD /api/health HTTP/1.1\r\nHost: x\r\n\r\n"));
  // A HEAD answer carries the GET's Content-Length but no body: read the head only.
  auto head = client.ReadResponse(std::chrono::seconds(10), /*head=*/true);
  ASSERT_TRUE(head);
  EXPECT_EQ(head->status, 200);
  EXPECT_EQ(head->Header("Content-Length"), "15");
  // Had the server sent a body, it would sit in front of the next status line.
  auto options = client.Request("OPTIONS", "/api/health");
  ASSERT_TRUE(options);
  EXPECT_EQ(options->status, 204);
  EXPECT_EQ(options->Header("Allow"), "GET, HEAD, OPTIONS");
}

TEST(Server, MalformedRequestGets400AndClose) {
  TestServer server;
  HttpClient client(server.port());
  ASSERT_TRUE(client.Connect());
  ASSERT_TRUE(client.Send("GET /api/health HTTP/1.1\r\nHost: x\r\nBad Header Line\r\n\r\n"));
  auto r = client.ReadResponse();
  ASSERT_TRUE(r);
  ExpectProblem(*r, 400);
  EXPECT_EQ(r->Header("Connection"), "close");
  EXPECT_TRUE(client.WaitClosed());
  EXPECT_EQ(MetricValue(server.Metrics(), R"(http_rejections_total{reason="bad_request"})"), 1);
}

TEST(Server, UnsupportedVersionGets505) {
  TestServer server;
  HttpClient client(server.port());
  ASSERT_TRUE(client.Connect());
  ASSERT_TRUE(client.Send("GET /api/health HTTP/2.0\r\nHost: x\r\n\r\n"));
  auto r = client.ReadResponse();
  ASSERT_TRUE(r);
  EXPECT_GE(r->status, 400);
  EXPECT_LT(r->status, 600);
  EXPECT_TRUE(client.WaitClosed());
}

TEST(Server, OversizedBodyGets413) {
  auto options = TestServer::DefaultOptions();
  options.max_body_bytes = 1024;
  TestServer server(options);
  HttpClient client(server.port());
  ASSERT_TRUE(client.Connect());
  // The body is refused from its Content-Length, before it is sent.
  ASSERT_TRUE(client.Send("POST /test/echo HTTP/1.1\r\nHost: x\r\nContent-Length: 1025\r\n\r\n"));
  auto r = client.ReadResponse();
  ASSERT_TRUE(r);
  ExpectProblem(*r, 413);
  EXPECT_TRUE(client.WaitClosed());

  // A chunked body that grows past the limit is refused too, while the client still sends.
  HttpClient chunked(server.port());
  ASSERT_TRUE(chunked.Connect());
  std::string big = "POST /test/echo HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n";
  for (int i = 0; i < 4; ++i) big += "200\r\n" + std::string(512, 'x') + "\r\n";
  chunked.Send(big);
  auto r2 = chunked.ReadResponse();
  ASSERT_TRUE(r2);
  ExpectProblem(*r2, 413);
  EXPECT_EQ(MetricValue(server.Metrics(), R"(http_rejections_total{reason="too_large"})"), 2);
}

TEST(Server, OversizedHeadersGet431) {
  auto options = TestServer::DefaultOptions();
  options.max_header_bytes = 2048;
  TestServer server(options);
  HttpClient client(server.port());
  ASSERT_TRUE(client.Connect());
  client.Send("GET /api/health HTTP/1.1\r\nHost: x\r\nX-Big: " + std::string(4096, 'a') +
              "\r\n\r\n");
  auto r = client.ReadResponse();
  ASSERT_TRUE(r);
  ExpectProblem(*r, 431);
  EXPECT_TRUE(client.WaitClosed());

  // A request line longer than the limit, never finished, gets the same answer.
  HttpClient line(server.port());
  ASSERT_TRUE(line.Connect());
  line.Send("GET /" + std::string(8192, 'a'));
  auto r2 = line.ReadResponse();
  ASSERT_TRUE(r2);
  ExpectProblem(*r2, 431);
}

TEST(Server, ConcurrencyLimitAnswers503WithRetryAfter) {
  auto options = TestServer::DefaultOptions();
  options.max_concurrency = 1;
  options.threads = 1;
  options.retry_after = std::chrono::seconds(3);
  TestServer server(options);
  HttpClient slow(server.port());
  ASSERT_TRUE(slow.Connect());
  ASSERT_TRUE(slow.Send("GET /test/sleep?ms=1000 HTTP/1.1\r\nHost: x\r\n\r\n"));
  ASSERT_TRUE(Eventually([&] { return server.server().in_flight() == 1; }));

  HttpClient second(server.port());
  ASSERT_TRUE(second.Connect());
  auto rejected = second.Request("GET", "/test/sleep?ms=1");
  ASSERT_TRUE(rejected);
  ExpectProblem(*rejected, 503);
  EXPECT_EQ(rejected->Header("Retry-After"), "3");
  // Probes are exempt: health still answers while the limit is reached.
  auto health = second.Request("GET", "/api/health");
  ASSERT_TRUE(health);
  EXPECT_EQ(health->status, 200);

  auto first = slow.ReadResponse();
  ASSERT_TRUE(first);
  EXPECT_EQ(first->status, 200);
  EXPECT_EQ(MetricValue(server.Metrics(), R"(http_rejections_total{reason="concurrency"})"), 1);
  EXPECT_EQ(MetricValue(server.Metrics(),
                        R"(http_requests_total{method="GET",route="/test/sleep",status="503"})"),
            1);
}

TEST(Server, ConnectionLimitRefusesFast) {
  auto options = TestServer::DefaultOptions();
  options.max_connections = 2;
  options.threads = 1;
  TestServer server(options);
  HttpClient a(server.port());
  HttpClient b(server.port());
  ASSERT_TRUE(a.Connect());
  ASSERT_TRUE(b.Connect());
  ASSERT_TRUE(a.Request("GET", "/api/health"));
  ASSERT_TRUE(b.Request("GET", "/api/health"));

  HttpClient c(server.port());
  ASSERT_TRUE(c.Connect());
  auto refused = c.ReadResponse();
  ASSERT_TRUE(refused);
  EXPECT_EQ(refused->status, 503);
  EXPECT_TRUE(c.WaitClosed());
  EXPECT_EQ(MetricValue(server.Metrics(), R"(http_rejections_total{reason="connections"})"), 1);

  // The two admitted connections are untouched, and a slot frees up when one closes.
  ASSERT_TRUE(a.Request("GET", "/api/health"));
  b.Close();
  ASSERT_TRUE(Eventually([&] { return server.server().open_connections() == 1; }));
  HttpClient d(server.port());
  ASSERT_TRUE(d.Connect());
  auto admitted = d.Request("GET", "/api/health");
  ASSERT_TRUE(admitted);
  EXPECT_EQ(admitted->status, 200);
}

TEST(Server, IdleKeepAliveConnectionIsClosed) {
  auto options = TestServer::DefaultOptions();
  options.idle_timeout = 200ms;
  TestServer server(options);
  HttpClient client(server.port());
  ASSERT_TRUE(client.Connect());
  ASSERT_TRUE(client.Request("GET", "/api/health"));
  EXPECT_TRUE(client.WaitClosed(10s));
  EXPECT_TRUE(client.pending().empty()) << "an idle close sends nothing";
  ASSERT_TRUE(Eventually([&] { return server.server().open_connections() == 0; }));
}

TEST(Server, SlowlorisIsCutOffAtTheHeaderTimeout) {
  auto options = TestServer::DefaultOptions();
  options.header_timeout = 300ms;
  options.idle_timeout = 60s;
  TestServer server(options);
  HttpClient client(server.port());
  ASSERT_TRUE(client.Connect());
  ASSERT_TRUE(client.Send("GET /api/health HTTP/1.1\r\nHost: x\r\n"));
  // Keep trickling header bytes: each byte arrives well within any per-read timeout, so
  // only a deadline for the whole header stops this client.
  bool closed = false;
  for (int i = 0; i < 200 && !closed; ++i) {
    closed = !client.Send("X") || client.WaitClosed(50ms);
  }
  EXPECT_TRUE(closed);
  EXPECT_GE(MetricValue(server.Metrics(), R"(http_rejections_total{reason="timeout"})"), 1);
  ASSERT_TRUE(Eventually([&] { return server.server().open_connections() == 0; }));
}

TEST(Server, SlowBodyIsCutOff) {
  auto options = TestServer::DefaultOptions();
  options.body_timeout = 300ms;
  TestServer server(options);
  HttpClient client(server.port());
  ASSERT_TRUE(client.Connect());
  ASSERT_TRUE(client.Send("POST /test/echo HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\nabc"));
  EXPECT_TRUE(client.WaitClosed(10s));
  auto r = client.ReadResponse(100ms);
  if (r) {
    EXPECT_EQ(r->status, 408);
  }
}

TEST(Server, HandlerExceptionIs500) {
  TestServer server;
  auto r = Get(server.port(), "/test/throw");
  ASSERT_TRUE(r);
  ExpectProblem(*r, 500);
}

TEST(Server, Http10ClosesUnlessKeepAliveAsked) {
  TestServer server;
  HttpClient client(server.port());
  ASSERT_TRUE(client.Connect());
  ASSERT_TRUE(client.Send("GET /api/health HTTP/1.0\r\n\r\n"));
  auto r = client.ReadResponse();
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 200);
  EXPECT_TRUE(client.WaitClosed());

  HttpClient keep(server.port());
  ASSERT_TRUE(keep.Connect());
  ASSERT_TRUE(keep.Send("GET /api/health HTTP/1.0\r\nConnection: keep-alive\r\n\r\n"));
  auto k = keep.ReadResponse();
  ASSERT_TRUE(k);
  EXPECT_EQ(k->Header("Connection"), "keep-alive");
  ASSERT_TRUE(keep.Send("GET /api/health HTTP/1.0\r\nConnection: keep-alive\r\n\r\n"));
  EXPECT_TRUE(keep.ReadResponse());
}

TEST(Server, GracefulShutdownFinishesInFlightAndRefusesNew) {
  auto options = TestServer::DefaultOptions();
  options.threads = 1;
  auto server = std::make_unique<TestServer>(options);
  const auto port = server->port();

  HttpClient idle(port);
  ASSERT_TRUE(idle.Connect());
  ASSERT_TRUE(idle.Request("GET", "/api/health"));

  HttpClient busy(port);
  ASSERT_TRUE(busy.Connect());
  ASSERT_TRUE(busy.Send("GET /test/sleep?ms=500 HTTP/1.1\r\nHost: x\r\n\r\n"));
  ASSERT_TRUE(Eventually([&] { return server->server().in_flight() == 1; }));

  // A request half-sent when shutdown starts is still answered (readiness says 503).
  HttpClient partial(port);
  ASSERT_TRUE(partial.Connect());
  ASSERT_TRUE(partial.Send("GET /api/ready HTTP/1.1\r\n"));
  ASSERT_TRUE(Eventually([&] { return server->server().open_connections() == 3; }));

  server->readiness().SetDraining();
  server->server().Shutdown();

  EXPECT_TRUE(idle.WaitClosed()) << "idle keep-alive connections are closed at once";
  HttpClient late(port);
  EXPECT_FALSE(late.Connect() && late.Request("GET", "/api/health")) << "new connections refused";

  ASSERT_TRUE(partial.Send("Host: x\r\n\r\n"));
  auto ready = partial.ReadResponse();
  ASSERT_TRUE(ready);
  ExpectProblem(*ready, 503);
  EXPECT_EQ(ready->Header("Connection"), "close");

  auto finished = busy.ReadResponse();
  ASSERT_TRUE(finished);
  EXPECT_EQ(finished->status, 200);
  EXPECT_EQ(finished->Header("Connection"), "close");
  EXPECT_TRUE(busy.WaitClosed());
  EXPECT_TRUE(server->server().Wait(10s));
}

TEST(Server, MetricsPassPromtool) {
  TestServer server;
  HttpClient client(server.port());
  ASSERT_TRUE(client.Connect());
  ASSERT_TRUE(client.Request("GET", "/api/health"));
  ASSERT_TRUE(client.Request("GET", "/nope"));
  ASSERT_TRUE(client.Request("POST", "/api/health"));
  auto r = client.Request("GET", "/metrics");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 200);
  EXPECT_EQ(r->Header("Content-Type").value_or(""), "text/plain; version=0.0.4; charset=utf-8");
  for (const char* family :
       {"http_requests_total", "http_request_duration_seconds_bucket", "http_requests_in_flight",
        "http_connections_open", "http_rejections_total", "process_cpu_seconds_total",
        "process_resident_memory_bytes", "process_open_fds", "process_start_time_seconds",
        "myriad_build_info"}) {
    EXPECT_NE(r->body.find(family), std::string::npos) << family;
  }
  EXPECT_EQ(
      MetricValue(r->body, R"(http_requests_total{method="GET",route="/api/health",status="200"})"),
      1);
  EXPECT_EQ(
      MetricValue(r->body, R"(http_requests_total{method="GET",route="unmatched",status="404"})"),
      1);
  EXPECT_EQ(MetricValue(r->body,
                        R"(http_requests_total{method="POST",route="/api/health",status="405"})"),
            1);

  char path[] = "/tmp/myriad-metrics-XXXXXX";
  int fd = mkstemp(path);
  ASSERT_GE(fd, 0);
  close(fd);
  std::ofstream(path) << r->body;
  std::string command = std::string("promtool check metrics < ") + path + " 2>&1";
  FILE* pipe = popen(command.c_str(), "r");
  ASSERT_NE(pipe, nullptr);
  std::string output;
  char buf[512];
  while (fgets(buf, sizeof(buf), pipe) != nullptr) output += buf;
  int status = pclose(pipe);
  std::remove(path);
  EXPECT_EQ(status, 0) << output;
  EXPECT_EQ(output, "") << "promtool lint findings";
}

TEST(Server, AccessLogWritesJsonLines) {
  char path[] = "/tmp/myriad-access-XXXXXX";
  int fd = mkstemp(path);
  ASSERT_GE(fd, 0);
  close(fd);
  {
    TestServer server(TestServer::DefaultOptions(), {}, path);
    HttpClient client(server.port());
    ASSERT_TRUE(client.Connect());
    ASSERT_TRUE(
        client.Request("GET", "/api/health?secret=hunter2", {}, {{"X-Request-ID", "log-me"}}));
    ASSERT_TRUE(client.Request("GET", "/api/n%22ope"));
  }
  // The log is written by a background thread: wait for the lines to land.
  std::vector<boost::json::object> lines;
  Eventually([&] {
    lines.clear();
    std::ifstream in(path);
    std::string line;
    while (std::getline(in, line)) lines.push_back(boost::json::parse(line).as_object());
    return lines.size() >= 2;
  });
  std::remove(path);
  ASSERT_EQ(lines.size(), 2u);
  EXPECT_EQ(lines[0].at("method").as_string(), "GET");
  EXPECT_EQ(lines[0].at("route").as_string(), "/api/health");
  EXPECT_EQ(lines[0].at("path").as_string(), "/api/health") << "query strings are not logged";
  EXPECT_EQ(lines[0].at("status").as_int64(), 200);
  EXPECT_EQ(lines[0].at("request_id").as_string(), "log-me");
  EXPECT_EQ(lines[0].at("peer").as_string(), "127.0.0.1");
  EXPECT_TRUE(lines[0].contains("duration_ms"));
  EXPECT_TRUE(lines[0].contains("bytes"));
  EXPECT_TRUE(lines[0].contains("time"));
  EXPECT_EQ(lines[1].at("route").as_string(), "unmatched");
  EXPECT_EQ(lines[1].at("status").as_int64(), 404);
}

http::ServerOptions PerIpCapOptions(std::size_t cap) {
  auto options = TestServer::DefaultOptions();
  options.max_connections_per_ip = cap;
  // Two io threads with their own listeners: the cap must hold across them.
  options.threads = 2;
  return options;
}

// `count` connections, each with one request answered, so the server has accepted them.
std::vector<std::unique_ptr<HttpClient>> OpenServed(std::uint16_t port, int count) {
  std::vector<std::unique_ptr<HttpClient>> clients;
  for (int i = 0; i < count; ++i) {
    auto client = std::make_unique<HttpClient>(port);
    EXPECT_TRUE(client->Connect());
    auto r = client->Request("GET", "/api/health");
    EXPECT_TRUE(r && r->status == 200) << "connection " << i;
    clients.push_back(std::move(client));
  }
  return clients;
}

void ExpectTooManyConnections(HttpClient& client) {
  auto refused = client.ReadResponse();
  ASSERT_TRUE(refused);
  EXPECT_EQ(refused->status, 429);
  EXPECT_EQ(refused->Header("Content-Type").value_or(""), "application/problem+json");
  EXPECT_EQ(refused->Header("Retry-After").value_or(""), "1");
  EXPECT_EQ(refused->Header("Connection").value_or(""), "close");
  auto json = boost::json::parse(refused->body).as_object();
  EXPECT_EQ(json.at("type").as_string(), "urn:myriad:problem:too-many-connections");
  EXPECT_EQ(json.at("status").as_int64(), 429);
  EXPECT_TRUE(json.contains("title"));
  EXPECT_TRUE(json.contains("detail"));
  EXPECT_TRUE(client.WaitClosed());
}

TEST(ServerPerIpCap, ConnectionOverTheCapGets429AndIsClosed) {
  TestServer server(PerIpCapOptions(3));
  auto clients = OpenServed(server.port(), 3);

  HttpClient extra(server.port());
  ASSERT_TRUE(extra.Connect());
  ExpectTooManyConnections(extra);

  // The admitted connections are untouched, and the rejection is in /metrics.
  auto metrics = clients[0]->Request("GET", "/metrics");
  ASSERT_TRUE(metrics);
  EXPECT_EQ(metrics->status, 200);
  EXPECT_EQ(MetricValue(metrics->body, R"(http_rejections_total{reason="per_ip_connections"})"), 1)
      << metrics->body;
  EXPECT_EQ(MetricValue(metrics->body, R"(http_rejections_total{reason="connections"})"), 0);
  EXPECT_EQ(server.server().open_connections(), 3U);
}

TEST(ServerPerIpCap, ClosingAConnectionFreesItsSlot) {
  TestServer server(PerIpCapOptions(3));
  auto clients = OpenServed(server.port(), 3);
  for (int round = 0; round < 5; ++round) {
    SCOPED_TRACE(round);
    clients.front()->Close();
    clients.erase(clients.begin());
    // The slot is given back when the server notices the close.
    ASSERT_TRUE(Eventually([&] { return server.server().open_connections() == 2; }));
    auto more = OpenServed(server.port(), 1);
    clients.push_back(std::move(more.front()));
    HttpClient extra(server.port());
    ASSERT_TRUE(extra.Connect());
    ExpectTooManyConnections(extra);
  }
  EXPECT_EQ(MetricValue(server.Metrics(), R"(http_rejections_total{reason="per_ip_connections"})"),
            5);
}

TEST(ServerPerIpCap, ConnectionsTheServerClosesFreeTheirSlotToo) {
  TestServer server(PerIpCapOptions(1));
  {
    HttpClient bad(server.port());
    ASSERT_TRUE(bad.Connect());
    ASSERT_TRUE(bad.Send("GET /api/health HTTP/1.1\r\nHost: x\r\nBad Header Line\r\n\r\n"));
    auto r = bad.ReadResponse();
    ASSERT_TRUE(r);
    EXPECT_EQ(r->status, 400);
    EXPECT_TRUE(bad.WaitClosed());
  }
  ASSERT_TRUE(Eventually([&] { return server.server().open_connections() == 0; }));
  {
    HttpClient closing(server.port());
    ASSERT_TRUE(closing.Connect());
    auto r = closing.Request("GET", "/api/health", {}, {{"Connection", "close"}});
    ASSERT_TRUE(r);
    EXPECT_EQ(r->status, 200);
    EXPECT_TRUE(closing.WaitClosed());
  }
  ASSERT_TRUE(Eventually([&] { return server.server().open_connections() == 0; }));
  auto again = Get(server.port(), "/api/health");
  ASSERT_TRUE(again);
  EXPECT_EQ(again->status, 200);
}

TEST(ServerPerIpCap, TrustedProxiesAreNotCapped) {
  auto options = PerIpCapOptions(3);
  options.trusted_proxies = net::TrustedProxies::Parse("127.0.0.1/32");
  TestServer server(options);
  auto clients = OpenServed(server.port(), 10);
  EXPECT_EQ(server.server().open_connections(), 10U);
  for (auto& client : clients) {
    auto r = client->Request("GET", "/api/health");
    ASSERT_TRUE(r);
    EXPECT_EQ(r->status, 200);
  }
  EXPECT_EQ(MetricValue(server.Metrics(), R"(http_rejections_total{reason="per_ip_connections"})"),
            0);
}

TEST(ServerPerIpCap, OffByDefault) {
  TestServer server;
  auto clients = OpenServed(server.port(), 25);
  EXPECT_EQ(server.server().open_connections(), 25U);
}

}  // namespace
}  // namespace myriad::testing

// CORS over the real server on loopback: which answers carry Access-Control-* headers, and
// that preflights are answered by the server itself, ahead of limits and handlers.
#include <gtest/gtest.h>

#include <boost/json/parse.hpp>
#include <string>
#include <utility>
#include <vector>

#include "support/http_client.hpp"
#include "support/server_fixture.hpp"

namespace myriad::testing {
namespace {

using Headers = std::vector<std::pair<std::string, std::string>>;

constexpr const char* kAllowed = "https://app.example.com";
constexpr const char* kLocal = "http://localhost:3000";
constexpr const char* kExpose = "ETag, Location, Retry-After, WWW-Authenticate, X-Request-Id";
constexpr const char* kAllowHeaders =
    "Authorization, Content-Type, If-Match, If-None-Match, X-Request-Id";

http::ServerOptions CorsOptions() {
  auto options = TestServer::DefaultOptions();
  options.cors_origins = {kAllowed, kLocal};
  return options;
}

// An OPTIONS handler of its own: a preflight must never reach it.
void AddOptionsRoute(http::Routes& routes) {
  routes.Add(http::Method::kOptions, "/test/options", [](const http::Request&) {
    http::Response r;
    r.status = 418;
    r.content_type = "text/plain";
    r.body = "handler";
    return r;
  });
}

void ExpectNoCorsHeaders(const HttpResponse& r) {
  for (const auto& [name, value] : r.headers) {
    EXPECT_NE(name.rfind("Access-Control-", 0), 0U) << name << ": " << value;
  }
}

void ExpectAllowedActual(const HttpResponse& r, const std::string& origin) {
  EXPECT_EQ(r.Header("Access-Control-Allow-Origin"), origin);
  EXPECT_EQ(r.Header("Access-Control-Expose-Headers"), kExpose);
  EXPECT_EQ(r.Header("Vary"), "Origin");
  EXPECT_FALSE(r.Header("Access-Control-Allow-Credentials"));
}

void ExpectProblem(const HttpResponse& r, int status) {
  EXPECT_EQ(r.status, status);
  EXPECT_EQ(r.Header("Content-Type").value_or(""), "application/problem+json");
  auto json = boost::json::parse(r.body).as_object();
  EXPECT_EQ(json.at("status").as_int64(), status);
}

Headers Preflight(const std::string& origin, const std::string& method) {
  return {{"Origin", origin},
          {"Access-Control-Request-Method", method},
          {"Access-Control-Request-Headers", "authorization, content-type"}};
}

TEST(CorsServer, AllowedOriginOnASuccessfulGet) {
  TestServer server(CorsOptions());
  auto r = Call(server.port(), "GET", "/api/health", {}, {{"Origin", kAllowed}});
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 200);
  ExpectAllowedActual(*r, kAllowed);

  auto local = Call(server.port(), "POST", "/test/echo", "hi", {{"Origin", kLocal}});
  ASSERT_TRUE(local);
  EXPECT_EQ(local->body, "hi");
  ExpectAllowedActual(*local, kLocal);
}

TEST(CorsServer, AllowedOriginOnErrorResponses) {
  TestServer server(CorsOptions());
  HttpClient client(server.port());
  ASSERT_TRUE(client.Connect());
  const Headers origin{{"Origin", kAllowed}};

  auto missing = client.Request("GET", "/api/nothing/here", {}, origin);
  ASSERT_TRUE(missing);
  ExpectProblem(*missing, 404);
  ExpectAllowedActual(*missing, kAllowed);

  auto wrong = client.Request("DELETE", "/api/health", {}, origin);
  ASSERT_TRUE(wrong);
  ExpectProblem(*wrong, 405);
  EXPECT_EQ(wrong->Header("Allow"), "GET, HEAD, OPTIONS");
  ExpectAllowedActual(*wrong, kAllowed);

  auto failed = client.Request("GET", "/test/throw", {}, origin);
  ASSERT_TRUE(failed);
  ExpectProblem(*failed, 500);
  ExpectAllowedActual(*failed, kAllowed);
}

TEST(CorsServer, OverloadedAnswerCarriesCorsHeadersAndPreflightsSkipTheLimit) {
  auto options = CorsOptions();
  options.max_concurrency = 1;
  TestServer server(options);
  HttpClient slow(server.port());
  ASSERT_TRUE(slow.Connect());
  ASSERT_TRUE(slow.Send("GET /test/sleep?ms=500 HTTP/1.1\r\nHost: x\r\n\r\n"));
  ASSERT_TRUE(Eventually([&] { return server.server().in_flight() == 1; }));

  auto rejected = Call(server.port(), "GET", "/test/sleep?ms=1", {}, {{"Origin", kAllowed}});
  ASSERT_TRUE(rejected);
  ExpectProblem(*rejected, 503);
  EXPECT_TRUE(rejected->Header("Retry-After"));
  ExpectAllowedActual(*rejected, kAllowed);

  auto preflight = Call(server.port(), "OPTIONS", "/test/sleep", {}, Preflight(kAllowed, "GET"));
  ASSERT_TRUE(preflight);
  EXPECT_EQ(preflight->status, 204);
  EXPECT_EQ(preflight->Header("Access-Control-Allow-Origin"), kAllowed);

  auto done = slow.ReadResponse();
  ASSERT_TRUE(done);
  EXPECT_EQ(done->status, 200);
}

TEST(CorsServer, DisallowedOriginIsServedWithoutCorsHeaders) {
  TestServer server(CorsOptions());
  HttpClient client(server.port());
  ASSERT_TRUE(client.Connect());
  for (const char* origin :
       {"https://evil.example", "http://app.example.com", "https://app.example.com:8443", "null"}) {
    SCOPED_TRACE(origin);
    auto r = client.Request("GET", "/api/health", {}, {{"Origin", origin}});
    ASSERT_TRUE(r);
    EXPECT_EQ(r->status, 200);
    EXPECT_EQ(r->body, R"({"status":"ok"})");
    ExpectNoCorsHeaders(*r);
    EXPECT_EQ(r->Header("Vary"), "Origin");
  }
  auto missing = client.Request("GET", "/api/nothing", {}, {{"Origin", "https://evil.example"}});
  ASSERT_TRUE(missing);
  ExpectProblem(*missing, 404);
  ExpectNoCorsHeaders(*missing);

  // Without an Origin header: same-origin or not a browser. Only Vary.
  auto plain = client.Request("GET", "/api/health");
  ASSERT_TRUE(plain);
  ExpectNoCorsHeaders(*plain);
  EXPECT_EQ(plain->Header("Vary"), "Origin");
}

TEST(CorsServer, AllowedPreflightListsTheRoutesMethods) {
  TestServer server(CorsOptions(), AddOptionsRoute);
  HttpClient client(server.port());
  ASSERT_TRUE(client.Connect());

  auto echo = client.Request("OPTIONS", "/test/echo", {}, Preflight(kAllowed, "POST"));
  ASSERT_TRUE(echo);
  EXPECT_EQ(echo->status, 204);
  EXPECT_EQ(echo->body, "");
  EXPECT_EQ(echo->Header("Access-Control-Allow-Origin"), kAllowed);
  EXPECT_EQ(echo->Header("Access-Control-Allow-Methods"), "POST, OPTIONS");
  EXPECT_EQ(echo->Header("Access-Control-Allow-Headers"), kAllowHeaders);
  EXPECT_EQ(echo->Header("Access-Control-Max-Age"), "600");
  EXPECT_EQ(echo->Header("Vary"), "Origin");
  EXPECT_FALSE(echo->Header("Access-Control-Expose-Headers"));
  EXPECT_FALSE(echo->Header("Access-Control-Allow-Credentials"));

  auto health = client.Request("OPTIONS", "/api/health?x=1", {}, Preflight(kLocal, "GET"));
  ASSERT_TRUE(health);
  EXPECT_EQ(health->status, 204);
  EXPECT_EQ(health->Header("Access-Control-Allow-Origin"), kLocal);
  EXPECT_EQ(health->Header("Access-Control-Allow-Methods"), "GET, HEAD, OPTIONS");

  // The route's own OPTIONS handler is not run for a preflight.
  auto own = client.Request("OPTIONS", "/test/options", {}, Preflight(kAllowed, "OPTIONS"));
  ASSERT_TRUE(own);
  EXPECT_EQ(own->status, 204);
  EXPECT_EQ(own->Header("Access-Control-Allow-Methods"), "OPTIONS");
}

TEST(CorsServer, DisallowedPreflightGets403) {
  TestServer server(CorsOptions());
  auto r =
      Call(server.port(), "OPTIONS", "/test/echo", {}, Preflight("https://evil.example", "POST"));
  ASSERT_TRUE(r);
  ExpectProblem(*r, 403);
  ExpectNoCorsHeaders(*r);
  EXPECT_EQ(r->Header("Vary"), "Origin");
}

TEST(CorsServer, PreflightForAnUnknownPathGets404) {
  TestServer server(CorsOptions());
  auto r = Call(server.port(), "OPTIONS", "/api/nothing", {}, Preflight(kAllowed, "GET"));
  ASSERT_TRUE(r);
  ExpectProblem(*r, 404);
  EXPECT_FALSE(r->Header("Access-Control-Allow-Methods"));
}

TEST(CorsServer, OptionsThatIsNotAPreflightKeepsItsUsualAnswer) {
  TestServer server(CorsOptions(), AddOptionsRoute);
  HttpClient client(server.port());
  ASSERT_TRUE(client.Connect());
  auto options = client.Request("OPTIONS", "/api/health", {}, {{"Origin", kAllowed}});
  ASSERT_TRUE(options);
  EXPECT_EQ(options->status, 204);
  EXPECT_EQ(options->Header("Allow"), "GET, HEAD, OPTIONS");
  EXPECT_FALSE(options->Header("Access-Control-Allow-Methods"));
  ExpectAllowedActual(*options, kAllowed);

  auto own = client.Request("OPTIONS", "/test/options", {}, {{"Origin", kAllowed}});
  ASSERT_TRUE(own);
  EXPECT_EQ(own->status, 418);
  EXPECT_EQ(own->body, "handler");
}

TEST(CorsServer, WithoutAPolicyThereAreNoCorsHeaders) {
  TestServer server;
  HttpClient client(server.port());
  ASSERT_TRUE(client.Connect());
  auto get = client.Request("GET", "/api/health", {}, {{"Origin", kAllowed}});
  ASSERT_TRUE(get);
  EXPECT_EQ(get->status, 200);
  ExpectNoCorsHeaders(*get);
  EXPECT_FALSE(get->Header("Vary"));

  auto missing = client.Request("GET", "/api/nothing", {}, {{"Origin", kAllowed}});
  ASSERT_TRUE(missing);
  ExpectProblem(*missing, 404);
  ExpectNoCorsHeaders(*missing);
  EXPECT_FALSE(missing->Header("Vary"));

  // A preflight is just an OPTIONS request then, answered as before.
  auto preflight = client.Request("OPTIONS", "/test/echo", {}, Preflight(kAllowed, "POST"));
  ASSERT_TRUE(preflight);
  EXPECT_EQ(preflight->status, 204);
  EXPECT_EQ(preflight->Header("Allow"), "POST, OPTIONS");
  ExpectNoCorsHeaders(*preflight);
  EXPECT_FALSE(preflight->Header("Vary"));
}

}  // namespace
}  // namespace myriad::testing

#include "http/cors.hpp"

#include <gtest/gtest.h>

#include <optional>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

#include "http/request.hpp"
#include "http/router.hpp"

namespace myriad::http {
namespace {

std::string ErrorOf(std::string_view text) {
  try {
    ParseCorsOrigin(text);
  } catch (const std::invalid_argument& e) {
    return e.what();
  }
  ADD_FAILURE() << "no error for " << text;
  return {};
}

std::optional<std::string> HeaderOf(const Response& response, std::string_view name) {
  for (const auto& [n, v] : response.headers) {
    if (n == name) return v;
  }
  return std::nullopt;
}

Request MakeRequest(Method method, std::string_view path,
                    const std::vector<std::pair<std::string, std::string>>& headers) {
  Request request;
  request.SetMethod(method, ToString(method));
  request.SetTarget(path);
  for (const auto& [name, value] : headers) request.AddHeader(name, value);
  request.SetRequestId("req-1");
  return request;
}

TEST(ParseCorsOriginTest, AcceptsHttpAndHttpsOrigins) {
  EXPECT_EQ(ParseCorsOrigin("https://app.example.com"), "https://app.example.com");
  EXPECT_EQ(ParseCorsOrigin("http://localhost:3000"), "http://localhost:3000");
  EXPECT_EQ(ParseCorsOrigin("http://127.0.0.1:8080"), "http://127.0.0.1:8080");
  EXPECT_EQ(ParseCorsOrigin("https://my-app.example.co.uk:8443"),
            "https://my-app.example.co.uk:8443");
  EXPECT_EQ(ParseCorsOrigin("http://[::1]:3000"), "http://[::1]:3000");
  EXPECT_EQ(ParseCorsOrigin("https://xn--bcher-kva.example"), "https://xn--bcher-kva.example");
}

TEST(ParseCorsOriginTest, NormalisesToWhatBrowsersSend) {
  EXPECT_EQ(ParseCorsOrigin("HTTPS://App.Example.COM"), "https://app.example.com");
  // The scheme's default port is left out of an Origin header.
  EXPECT_EQ(ParseCorsOrigin("https://app.example.com:443"), "https://app.example.com");
  EXPECT_EQ(ParseCorsOrigin("http://app.example.com:80"), "http://app.example.com");
  EXPECT_EQ(ParseCorsOrigin("http://app.example.com:443"), "http://app.example.com:443");
  EXPECT_EQ(ParseCorsOrigin("http://localhost:03000"), "http://localhost:3000");
  EXPECT_EQ(ParseCorsOrigin("http://[0:0:0:0:0:0:0:1]"), "http://[::1]");
  EXPECT_EQ(ParseCorsOrigin("http://[FD00::A]:81"), "http://[fd00::a]:81");
}

TEST(ParseCorsOriginTest, RejectsWildcardAndNullAskingForExplicitOrigins) {
  for (const char* text : {"*", "null", "NULL"}) {
    SCOPED_TRACE(text);
    const std::string message = ErrorOf(text);
    EXPECT_NE(message.find("is not allowed"), std::string::npos) << message;
    EXPECT_NE(message.find("explicit origins are required"), std::string::npos) << message;
  }
  EXPECT_NE(ErrorOf("https://*.example.com").find("wildcards are not supported"),
            std::string::npos);
}

TEST(ParseCorsOriginTest, RejectsPathsQueriesAndTrailingSlash) {
  EXPECT_EQ(ErrorOf("https://app.example.com/"),
            "invalid origin 'https://app.example.com/': an origin has no trailing '/'; write "
            "'https://app.example.com'");
  for (const char* text : {"https://app.example.com/app", "https://app.example.com?x=1",
                           "https://app.example.com#top", "https://app.example.com:8443/"}) {
    SCOPED_TRACE(text);
    const std::string message = ErrorOf(text);
    EXPECT_NE(message.find(std::string("'") + text + "'"), std::string::npos) << message;
  }
}

TEST(ParseCorsOriginTest, RejectsOtherMalformedOrigins) {
  for (const char* text : {"",
                           "app.example.com",
                           "ftp://app.example.com",
                           "ws://app.example.com",
                           "https://",
                           "https://:8080",
                           "https://user@app.example.com",
                           "https://app.example.com:0",
                           "https://app.example.com:65536",
                           "https://app.example.com:",
                           "https://app.example.com:x",
                           "https://app..example.com",
                           "https://app.example.com.",
                           "https://-app.example.com",
                           "https://app_1.example.com",
                           "https://app example.com",
                           "https://bücher.example",
                           "http://::1:80",
                           "http://[::1",
                           "http://[127.0.0.1]",
                           "http://[::1]x",
                           "http://999.1.1.1",
                           "https://app.example.com:+1"}) {
    SCOPED_TRACE(text);
    const std::string message = ErrorOf(text);
    EXPECT_EQ(message.rfind("invalid origin '" + std::string(text) + "': ", 0), 0U) << message;
  }
}

TEST(ParseCorsOriginsTest, ParsesAListDroppingDuplicates) {
  EXPECT_EQ(ParseCorsOrigins("https://a.example, http://localhost:3000,HTTPS://A.example:443"),
            (std::vector<std::string>{"https://a.example", "http://localhost:3000"}));
  EXPECT_TRUE(ParseCorsOrigins("none").empty());
  EXPECT_THROW(ParseCorsOrigins(""), std::invalid_argument);
  EXPECT_THROW(ParseCorsOrigins("https://a.example,"), std::invalid_argument);
  EXPECT_THROW(ParseCorsOrigins("https://a.example,,https://b.example"), std::invalid_argument);
  try {
    ParseCorsOrigins("https://a.example,*");
    FAIL() << "no error";
  } catch (const std::invalid_argument& e) {
    EXPECT_NE(std::string(e.what()).find("'*' is not allowed"), std::string::npos) << e.what();
  }
}

TEST(ParseCorsOriginsTest, FormatsBackToTheSameList) {
  EXPECT_EQ(FormatCorsOrigins({}), "none");
  const std::vector<std::string> origins{"https://a.example", "http://localhost:3000"};
  EXPECT_EQ(FormatCorsOrigins(origins), "https://a.example,http://localhost:3000");
  EXPECT_EQ(ParseCorsOrigins(FormatCorsOrigins(origins)), origins);
}

TEST(CorsPolicyTest, DisabledPolicyChangesNothing) {
  const CorsPolicy policy;
  EXPECT_FALSE(policy.enabled());
  const Request request =
      MakeRequest(Method::kGet, "/api/health", {{"Origin", "https://a.example"}});
  Response response;
  policy.Decorate(&request, response);
  EXPECT_TRUE(response.headers.empty());
  const Request preflight =
      MakeRequest(Method::kOptions, "/api/health",
                  {{"Origin", "https://a.example"}, {"Access-Control-Request-Method", "GET"}});
  EXPECT_FALSE(policy.IsPreflight(preflight));
}

TEST(CorsPolicyTest, ConstructorNormalisesAndRejectsBadOrigins) {
  const CorsPolicy policy({"HTTPS://A.example:443", "https://a.example"});
  EXPECT_EQ(policy.origins(), std::vector<std::string>{"https://a.example"});
  EXPECT_THROW(CorsPolicy({"*"}), std::invalid_argument);
}

TEST(CorsPolicyTest, AllowsOnlyExactOrigins) {
  const CorsPolicy policy({"https://a.example", "http://localhost:3000"});
  EXPECT_TRUE(policy.Allows("https://a.example"));
  EXPECT_TRUE(policy.Allows("http://localhost:3000"));
  EXPECT_FALSE(policy.Allows("http://a.example"));
  EXPECT_FALSE(policy.Allows("https://a.example:443"));
  EXPECT_FALSE(policy.Allows("https://A.example"));
  EXPECT_FALSE(policy.Allows("https://evil.a.example"));
  EXPECT_FALSE(policy.Allows("https://a.example.evil"));
  EXPECT_FALSE(policy.Allows("http://localhost:3001"));
  EXPECT_FALSE(policy.Allows("null"));
  EXPECT_FALSE(policy.Allows(""));
}

TEST(CorsPolicyTest, AllowedOriginGetsAllowOriginExposeHeadersAndVary) {
  const CorsPolicy policy({"https://a.example"});
  const Request request = MakeRequest(Method::kGet, "/x", {{"Origin", "https://a.example"}});
  Response response;
  response.status = 404;
  policy.Decorate(&request, response);
  EXPECT_EQ(HeaderOf(response, "Vary"), "Origin");
  EXPECT_EQ(HeaderOf(response, "Access-Control-Allow-Origin"), "https://a.example");
  EXPECT_EQ(HeaderOf(response, "Access-Control-Expose-Headers"),
            "ETag, Location, Retry-After, WWW-Authenticate, X-Request-Id");
  EXPECT_FALSE(HeaderOf(response, "Access-Control-Allow-Credentials"));
}

TEST(CorsPolicyTest, OtherOriginsAndNoOriginGetOnlyVary) {
  const CorsPolicy policy({"https://a.example"});
  for (const auto& headers : std::vector<std::vector<std::pair<std::string, std::string>>>{
           {{"Origin", "https://b.example"}}, {}}) {
    const Request request = MakeRequest(Method::kGet, "/x", headers);
    Response response;
    policy.Decorate(&request, response);
    ASSERT_EQ(response.headers.size(), 1U);
    EXPECT_EQ(HeaderOf(response, "Vary"), "Origin");
  }
  Response unparsed;
  policy.Decorate(nullptr, unparsed);
  ASSERT_EQ(unparsed.headers.size(), 1U);
  EXPECT_EQ(HeaderOf(unparsed, "Vary"), "Origin");
}

TEST(CorsPolicyTest, VaryIsMergedIntoAnExistingOne) {
  const CorsPolicy policy({"https://a.example"});
  const Request request = MakeRequest(Method::kGet, "/x", {});
  Response response;
  response.Header("Vary", "Accept-Encoding");
  policy.Decorate(&request, response);
  ASSERT_EQ(response.headers.size(), 1U);
  EXPECT_EQ(HeaderOf(response, "Vary"), "Accept-Encoding, Origin");

  Response already;
  already.Header("vary", "Accept, origin");
  policy.Decorate(&request, already);
  ASSERT_EQ(already.headers.size(), 1U);
  EXPECT_EQ(HeaderOf(already, "vary"), "Accept, origin");

  Response star;
  star.Header("Vary", "*");
  policy.Decorate(&request, star);
  EXPECT_EQ(HeaderOf(star, "Vary"), "*");
}

TEST(CorsPolicyTest, RecognisesPreflights) {
  const CorsPolicy policy({"https://a.example"});
  EXPECT_TRUE(policy.IsPreflight(
      MakeRequest(Method::kOptions, "/x",
                  {{"Origin", "https://b.example"}, {"Access-Control-Request-Method", "PUT"}})));
  EXPECT_FALSE(
      policy.IsPreflight(MakeRequest(Method::kOptions, "/x", {{"Origin", "https://a.example"}})));
  EXPECT_FALSE(policy.IsPreflight(
      MakeRequest(Method::kOptions, "/x", {{"Access-Control-Request-Method", "PUT"}})));
  EXPECT_FALSE(policy.IsPreflight(
      MakeRequest(Method::kPost, "/x",
                  {{"Origin", "https://a.example"}, {"Access-Control-Request-Method", "PUT"}})));
}

TEST(CorsPolicyTest, AllowedPreflightGets204WithTheRoutesMethods) {
  const CorsPolicy policy({"https://a.example"});
  const Request request =
      MakeRequest(Method::kOptions, "/x",
                  {{"Origin", "https://a.example"}, {"Access-Control-Request-Method", "PATCH"}});
  Response response = policy.Preflight(request, "GET, HEAD, PATCH, OPTIONS");
  EXPECT_EQ(response.status, 204);
  EXPECT_EQ(HeaderOf(response, "Access-Control-Allow-Origin"), "https://a.example");
  EXPECT_EQ(HeaderOf(response, "Access-Control-Allow-Methods"), "GET, HEAD, PATCH, OPTIONS");
  EXPECT_EQ(HeaderOf(response, "Access-Control-Allow-Headers"),
            "Authorization, Content-Type, If-Match, If-None-Match, X-Request-Id");
  EXPECT_EQ(HeaderOf(response, "Access-Control-Max-Age"), "600");
  // Decorate adds Vary but not the actual-request headers to a preflight's answer.
  policy.Decorate(&request, response);
  EXPECT_EQ(HeaderOf(response, "Vary"), "Origin");
  EXPECT_FALSE(HeaderOf(response, "Access-Control-Expose-Headers"));
  EXPECT_EQ(response.headers.size(), 5U);
}

TEST(CorsPolicyTest, DisallowedPreflightGets403ProblemWithoutCorsHeaders) {
  const CorsPolicy policy({"https://a.example"});
  const Request request = MakeRequest(
      Method::kOptions, "/x",
      {{"Origin", "https://evil.example"}, {"Access-Control-Request-Method", "DELETE"}});
  Response response = policy.Preflight(request, "GET, HEAD, OPTIONS");
  policy.Decorate(&request, response);
  EXPECT_EQ(response.status, 403);
  EXPECT_EQ(response.content_type, kProblemType);
  EXPECT_NE(response.body.find("\"request_id\":\"req-1\""), std::string::npos) << response.body;
  for (const auto& [name, value] : response.headers) {
    EXPECT_NE(name.rfind("Access-Control-", 0), 0U) << name;
  }
  EXPECT_EQ(HeaderOf(response, "Vary"), "Origin");
}

TEST(RouterAllowedMethodsTest, ListsTheMethodsOfTheMatchingRoute) {
  Router router;
  router.Add(Method::kGet, "/api/users/{id}");
  router.Add(Method::kPatch, "/api/users/{id}");
  router.Add(Method::kDelete, "/api/users/{id}");
  router.Add(Method::kPost, "/api/users");
  router.Add(Method::kGet, "/");
  EXPECT_EQ(router.AllowedMethods("/api/users/42"), "GET, HEAD, PATCH, DELETE, OPTIONS");
  EXPECT_EQ(router.AllowedMethods("/api/users"), "POST, OPTIONS");
  EXPECT_EQ(router.AllowedMethods("/"), "GET, HEAD, OPTIONS");
  EXPECT_EQ(router.AllowedMethods("/api/users/42/x"), "");
  EXPECT_EQ(router.AllowedMethods("/api/users/"), "");
  EXPECT_EQ(router.AllowedMethods("/api/users/%zz"), "");
  EXPECT_EQ(router.AllowedMethods("/api"), "");
  EXPECT_EQ(router.AllowedMethods(""), "");
  EXPECT_EQ(router.AllowedMethods("api/users"), "");
}

}  // namespace
}  // namespace myriad::http

// Login must not tell which email addresses have an account: a login with an unknown
// address and one with a known address but a wrong password get the same answer and take
// the same time (the unknown address pays for a dummy verification). Measured against the
// real `myriad serve` binary at the default hashing cost, so that cost is what dominates.
#include <gtest/gtest.h>

#include <algorithm>
#include <boost/json.hpp>
#include <chrono>
#include <cstdio>
#include <memory>
#include <optional>
#include <random>
#include <string>
#include <utility>
#include <vector>

#include "support/http_client.hpp"
#include "support/myriad_server.hpp"
#include "support/pg_support.hpp"

namespace myriad::testing {
namespace {

namespace json = boost::json;
using namespace std::chrono_literals;
using Headers = std::vector<std::pair<std::string, std::string>>;

const Headers kJson = {{"Content-Type", "application/json"}};

constexpr int kWarmUpTries = 5;
constexpr int kTries = 40;
// The slower median may exceed the faster one by at most this factor.
constexpr double kMaxMedianRatio = 1.25;

std::string Tag() { return std::to_string(std::random_device{}() % 1'000'000'000); }

std::string LoginBody(const std::string& email, const std::string& password) {
  return R"({"email":")" + email + R"(","password":")" + password + R"("})";
}

// The problem document without the fields that differ from one request to the next.
std::string StableProblem(const std::string& body) {
  boost::system::error_code ec;
  json::value value = json::parse(body, ec);
  if (ec || !value.is_object()) return "<not a JSON object: " + body + ">";
  json::object& problem = value.as_object();
  problem.erase("request_id");
  problem.erase("instance");
  return json::serialize(problem);
}

double MedianMs(std::vector<std::chrono::nanoseconds> samples) {
  std::sort(samples.begin(), samples.end());
  const std::size_t mid = samples.size() / 2;
  const auto median =
      samples.size() % 2 == 1 ? samples[mid] : (samples[mid - 1] + samples[mid]) / 2;
  return std::chrono::duration<double, std::milli>(median).count();
}

struct TimedLogin {
  std::optional<HttpResponse> response;
  std::chrono::nanoseconds elapsed{};
};

TimedLogin TimeLogin(std::uint16_t port, const std::string& body) {
  const auto started = std::chrono::steady_clock::now();
  auto response = Call(port, "POST", "/api/auth/login", body, kJson);
  return {std::move(response), std::chrono::steady_clock::now() - started};
}

TEST(LoginTimingTest, UnknownEmailAndWrongPasswordAnswerAlikeInLikeTime) {
  TestSchema schema{"login_timing"};
  // Default --hash-memory and --hash-passes: the real cost. Every try below is a failure
  // for the same two addresses, so the per-account lockout is pushed out of reach.
  MyriadServer server(schema.url(), {"--login-free-failures", "1000000"});
  ASSERT_NE(server.port(), 0) << server.output();
  const auto port = server.port();

  const std::string known = "timing" + Tag() + "@example.com";
  const std::string unknown = "nobody" + Tag() + "@example.com";
  auto created =
      Call(port, "POST", "/api/auth/register",
           R"({"email":")" + known + R"(","password":"correct horse battery","name":"T"})", kJson);
  ASSERT_TRUE(created);
  ASSERT_EQ(created->status, 201) << created->body;

  const std::string unknown_body = LoginBody(unknown, "correct horse battery");
  const std::string wrong_body = LoginBody(known, "wrong horse battery");

  // The first dummy verification also computes the dummy hash; the first tries also fill
  // the connection pool and the prepared statements.
  for (int i = 0; i < kWarmUpTries; ++i) {
    ASSERT_TRUE(TimeLogin(port, unknown_body).response);
    ASSERT_TRUE(TimeLogin(port, wrong_body).response);
  }

  std::vector<std::chrono::nanoseconds> unknown_times;
  std::vector<std::chrono::nanoseconds> wrong_times;
  std::optional<HttpResponse> first_unknown;
  std::optional<HttpResponse> first_wrong;
  // Interleaved, so that whatever else the machine does slows both kinds alike.
  for (int i = 0; i < kTries; ++i) {
    auto a = TimeLogin(port, unknown_body);
    auto b = TimeLogin(port, wrong_body);
    ASSERT_TRUE(a.response && b.response) << "try " << i;
    ASSERT_EQ(a.response->status, 401) << a.response->body;
    ASSERT_EQ(b.response->status, 401) << b.response->body;
    EXPECT_EQ(StableProblem(a.response->body), StableProblem(b.response->body)) << "try " << i;
    unknown_times.push_back(a.elapsed);
    wrong_times.push_back(b.elapsed);
    if (!first_unknown) first_unknown = std::move(a.response);
    if (!first_wrong) first_wrong = std::move(b.response);
  }

  EXPECT_EQ(first_unknown->Header("Content-Type"), first_wrong->Header("Content-Type"));
  EXPECT_EQ(first_unknown->Header("WWW-Authenticate"), first_wrong->Header("WWW-Authenticate"));
  EXPECT_EQ(first_unknown->Header("Retry-After"), first_wrong->Header("Retry-After"));

  const double unknown_ms = MedianMs(unknown_times);
  const double wrong_ms = MedianMs(wrong_times);
  std::printf(
      "[   TIME   ] median login time over %d tries: unknown email %.2f ms, known email "
      "with a wrong password %.2f ms\n",
      kTries, unknown_ms, wrong_ms);
  std::fflush(stdout);
  ASSERT_GT(unknown_ms, 0.0);
  ASSERT_GT(wrong_ms, 0.0);
  EXPECT_LE(std::max(unknown_ms, wrong_ms) / std::min(unknown_ms, wrong_ms), kMaxMedianRatio)
      << "unknown email " << unknown_ms << " ms, wrong password " << wrong_ms << " ms";
}

}  // namespace
}  // namespace myriad::testing

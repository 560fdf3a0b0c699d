// No secret reaches the log: the real `myriad serve` binary at --log-level debug with its
// access log on is driven through every accounts flow that carries a password or a token
// (in a body, a header, a cookie or the query string), then stopped, and its whole
// stdout/stderr is searched for each secret it was given or handed out.
#include <gtest/gtest.h>

#include <boost/json.hpp>
#include <chrono>
#include <memory>
#include <optional>
#include <random>
#include <string>
#include <string_view>
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

// Letters and digits only: JSON or text escaping and percent-encoding leave them as they
// are, so a plain substring search finds them in any log format.
std::string RandomAlnum(std::size_t length) {
  static constexpr std::string_view kAlphabet =
      "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
  std::mt19937 random{std::random_device{}()};
  std::uniform_int_distribution<std::size_t> pick(0, kAlphabet.size() - 1);
  std::string out;
  for (std::size_t i = 0; i < length; ++i) out.push_back(kAlphabet[pick(random)]);
  return out;
}

json::object Object(const std::string& body) {
  boost::system::error_code ec;
  json::value value = json::parse(body, ec);
  if (ec || !value.is_object()) return {};
  return value.as_object();
}

std::string Str(const json::object& o, std::string_view key) {
  const auto* v = o.if_contains(key);
  return v != nullptr && v->is_string() ? std::string(v->as_string()) : std::string();
}

Headers Bearer(const std::string& token) {
  return {{"Content-Type", "application/json"}, {"Authorization", "Bearer " + token}};
}

// The log line around `at`, to show where a secret leaked.
std::string LineAt(const std::string& log, std::size_t at) {
  const auto begin = log.rfind('\n', at);
  const auto end = log.find('\n', at);
  const auto from = begin == std::string::npos ? 0 : begin + 1;
  return log.substr(from, end == std::string::npos ? std::string::npos : end - from);
}

struct Tokens {
  std::string access;
  std::string refresh;
};

class LogHygieneTest : public ::testing::TestWithParam<std::string> {
 protected:
  void SetUp() override {
    // Cheap hashes: the cost is not what this test is about. The access log goes to stdout
    // (MyriadServer turns it off; the later flag wins) so that the request lines are
    // searched too.
    server_ = std::make_unique<MyriadServer>(
        schema_.url(),
        std::vector<std::string>{"--log-level", "debug", "--log-format", GetParam(), "--access-log",
                                 "stdout", "--hash-memory", "64", "--hash-passes", "1"});
    ASSERT_NE(server_->port(), 0) << server_->output();
  }

  std::optional<HttpResponse> Send(const std::string& method, const std::string& target,
                                   const std::string& body = {}, const Headers& headers = kJson) {
    return Call(server_->port(), method, target, body, headers);
  }

  // Sends and checks the status; the body of the answer, or "" when it did not come.
  std::string Expect(int status, const std::string& method, const std::string& target,
                     const std::string& body = {}, const Headers& headers = kJson) {
    auto answer = Send(method, target, body, headers);
    EXPECT_TRUE(answer) << method << ' ' << target;
    if (!answer) return "";
    EXPECT_EQ(answer->status, status) << method << ' ' << target << ": " << answer->body;
    return answer->body;
  }

  // Remembers a secret that must not appear in the log.
  const std::string& Secret(std::string what, std::string value) {
    EXPECT_FALSE(value.empty()) << what << " is empty: an earlier step failed";
    secrets_.emplace_back(std::move(what), std::move(value));
    return secrets_.back().second;
  }

  // The token pair of a 200 answer, each remembered as a secret (with the JWT's signature
  // on its own, so that a log line with only part of the token is caught too).
  Tokens Remember(const std::string& step, const std::string& body) {
    const auto o = Object(body);
    Tokens tokens{Str(o, "access_token"), Str(o, "refresh_token")};
    Secret(step + " access token", tokens.access);
    Secret(step + " refresh token", tokens.refresh);
    Secret(step + " Authorization header", "Bearer " + tokens.access);
    const auto dot = tokens.access.rfind('.');
    if (dot != std::string::npos) {
      Secret(step + " access token signature", tokens.access.substr(dot + 1));
    }
    return tokens;
  }

  std::string ResetToken(const std::string& email) {
    const std::string body =
        schema_.Value("SELECT body FROM outbox WHERE recipient = lower('" + email +
                      "') AND kind = 'reset_password' ORDER BY id DESC LIMIT 1");
    const auto at = body.find("code: ");
    if (at == std::string::npos) return "";
    return body.substr(at + 6, 43);
  }

  TestSchema schema_{"log_hygiene"};
  std::unique_ptr<MyriadServer> server_;
  std::vector<std::pair<std::string, std::string>> secrets_;
};

TEST_P(LogHygieneTest, NoSecretReachesTheLog) {
  const std::string email = "hygiene" + RandomAlnum(8) + "@example.com";
  const std::string first = Secret("registration password", "Pw1" + RandomAlnum(20));
  const std::string wrong = Secret("wrong password", "Pw2" + RandomAlnum(20));
  const std::string changed = Secret("changed password", "Pw3" + RandomAlnum(20));
  const std::string reset = Secret("reset password", "Pw4" + RandomAlnum(20));
  auto login_body = [&email](const std::string& password) {
    return R"({"email":")" + email + R"(","password":")" + password + R"("})";
  };

  Expect(201, "POST", "/api/auth/register",
         R"({"email":")" + email + R"(","password":")" + first + R"(","name":"Hy"})");
  Expect(401, "POST", "/api/auth/login", login_body(wrong));
  const Tokens login = Remember("login", Expect(200, "POST", "/api/auth/login", login_body(first)));
  Expect(200, "GET", "/api/users/me", "", Bearer(login.access));

  const std::string not_a_jwt = Secret("malformed bearer token", "Mal" + RandomAlnum(30));
  Expect(401, "GET", "/api/users/me", "", Bearer(not_a_jwt));
  const std::string basic = Secret("Basic credentials", "Basic " + RandomAlnum(24));
  Expect(401, "GET", "/api/users/me", "", {{"Authorization", basic}});
  const std::string garbled = Secret("garbled Authorization value", RandomAlnum(40));
  Expect(401, "GET", "/api/users/me", "", {{"Authorization", garbled}});

  Remember("refresh", Expect(200, "POST", "/api/auth/refresh",
                             R"({"refresh_token":")" + login.refresh + R"("})"));
  // A rotated token presented again: the reuse path may log a warning of its own.
  Expect(401, "POST", "/api/auth/refresh", R"({"refresh_token":")" + login.refresh + R"("})");

  const Tokens second =
      Remember("second login", Expect(200, "POST", "/api/auth/login", login_body(first)));
  const std::string change_body =
      R"({"current_password":")" + first + R"(","new_password":")" + changed + R"("})";
  Remember("password change",
           Expect(200, "POST", "/api/users/me/password", change_body, Bearer(second.access)));

  Expect(202, "POST", "/api/auth/forgot-password", R"({"email":")" + email + R"("})");
  const std::string reset_token = Secret("reset token", ResetToken(email));
  Expect(204, "POST", "/api/auth/reset-password",
         R"({"token":")" + reset_token + R"(","new_password":")" + reset + R"("})");
  const Tokens last =
      Remember("login after reset", Expect(200, "POST", "/api/auth/login", login_body(reset)));

  const std::string cookie = Secret("cookie value", "ck" + RandomAlnum(30));
  Headers with_cookie = Bearer(last.access);
  with_cookie.emplace_back("Cookie", "session=" + cookie + "; theme=dark");
  Expect(200, "GET", "/api/users/me", "", with_cookie);
  Expect(404, "GET", "/no/such/route", "", {{"Cookie", "session=" + cookie}});

  // Secrets in query strings: the access log records the path, never the query.
  const std::string query_password = Secret("query password", "Qp" + RandomAlnum(24));
  const std::string query_token = Secret("query token", "Qt" + RandomAlnum(24));
  const std::string query = "?password=" + query_password + "&token=" + query_token;
  Send("GET", "/api/users/me" + query, "", Bearer(last.access));
  if (auto answer = Send("POST", "/api/auth/login" + query, login_body(reset));
      answer && answer->status == 200) {
    Remember("login with a query", answer->body);
  }
  Send("GET", "/no/such/route" + query);
  Send("GET", "/api/users/me?access_token=" + last.access);

  Expect(204, "POST", "/api/auth/logout", R"({"refresh_token":")" + last.refresh + R"("})");

  const auto status = server_->Stop();
  ASSERT_TRUE(status) << "the server did not exit on SIGTERM";
  EXPECT_EQ(*status, 0);
  const std::string log = server_->Log();
  // Not vacuous: the whole log was read, and the access log was in it.
  ASSERT_NE(log.find("drained"), std::string::npos) << log;
  ASSERT_NE(log.find("/api/users/me/password"), std::string::npos) << log;
  ASSERT_NE(log.find("/api/auth/reset-password"), std::string::npos) << log;

  for (const auto& [what, value] : secrets_) {
    if (value.empty()) continue;
    const auto at = log.find(value);
    EXPECT_EQ(at, std::string::npos) << "the " << what << " is in the log:\n"
                                     << (at == std::string::npos ? std::string() : LineAt(log, at));
  }
}

INSTANTIATE_TEST_SUITE_P(LogFormats, LogHygieneTest, ::testing::Values("json", "text"),
                         [](const ::testing::TestParamInfo<std::string>& format) {
                           return format.param;
                         });

}  // namespace
}  // namespace myriad::testing

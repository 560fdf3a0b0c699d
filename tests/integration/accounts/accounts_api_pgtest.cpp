// The accounts endpoints end to end: the real `myriad serve` binary against a real
// PostgreSQL (a schema of this test's own), driven over HTTP.
#include <gtest/gtest.h>

#include <atomic>
#include <boost/json.hpp>
#include <cctype>
#include <chrono>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "support/accounts_support.hpp"
#include "support/http_client.hpp"
#include "support/myriad_server.hpp"
#include "support/pg_support.hpp"

namespace myriad::testing {
namespace {

namespace json = boost::json;
using namespace std::chrono_literals;
using Headers = std::vector<std::pair<std::string, std::string>>;

json::object Object(const std::string& body) {
  boost::system::error_code ec;
  json::value value = json::parse(body, ec);
  if (ec || !value.is_object()) return {};
  return value.as_object();
}

std::string Str(const json::object& o, std::string_view key) {
  const auto* v = o.if_contains(key);
  if (v == nullptr) return "<absent>";
  return v->is_string() ? std::string(v->as_string()) : json::serialize(*v);
}

std::string Tag() { return std::to_string(std::random_device{}() % 1'000'000'000); }

const Headers kJson = {{"Content-Type", "application/json"}};

Headers Bearer(const std::string& token) {
  return {{"Content-Type", "application/json"}, {"Authorization", "Bearer " + token}};
}

struct Tokens {
  std::string access;
  std::string refresh;
};

class AccountsApiTest : public ::testing::Test {
 protected:
  // Cheap hashes: these tests are about the protocol, not the cost.
  void SetUp() override { Start({"--hash-memory", "64", "--hash-passes", "1"}); }

  void Start(std::vector<std::string> extra) {
    server_.reset();
    server_ = std::make_unique<MyriadServer>(schema_.url(), extra);
    ASSERT_NE(server_->port(), 0) << server_->output();
  }
  std::uint16_t port() const { return server_->port(); }

  std::optional<HttpResponse> Post(const std::string& path, const std::string& body,
                                   const Headers& headers = kJson) {
    return Call(port(), "POST", path, body, headers);
  }

  // Registers a fresh account; returns its email.
  std::string Register(const std::string& password = "correct horse battery") {
    const std::string email = "ada" + Tag() + "@Example.com";
    auto created = Post("/api/auth/register", R"({"email":")" + email + R"(","password":")" +
                                                  password + R"(","name":"Ada"})");
    EXPECT_TRUE(created && created->status == 201) << (created ? created->body : "no answer");
    return email;
  }

  std::optional<Tokens> Login(const std::string& email,
                              const std::string& password = "correct horse battery") {
    auto answer =
        Post("/api/auth/login", R"({"email":")" + email + R"(","password":")" + password + R"("})");
    if (!answer || answer->status != 200) return std::nullopt;
    const auto o = Object(answer->body);
    return Tokens{Str(o, "access_token"), Str(o, "refresh_token")};
  }

  std::optional<Tokens> Refresh(const std::string& refresh, int* status = nullptr) {
    auto answer = Post("/api/auth/refresh", R"({"refresh_token":")" + refresh + R"("})");
    if (status != nullptr) *status = answer ? answer->status : -1;
    if (!answer || answer->status != 200) return std::nullopt;
    const auto o = Object(answer->body);
    return Tokens{Str(o, "access_token"), Str(o, "refresh_token")};
  }

  // The newest outbox message of `kind` to `email`: its one-time code.
  std::string OutboxToken(const std::string& email, const std::string& kind) {
    const std::string body =
        schema_.Value("SELECT body FROM outbox WHERE recipient = lower('" + email +
                      "') AND kind = '" + kind + "' ORDER BY id DESC LIMIT 1");
    const auto at = body.find("code: ");
    if (at == std::string::npos) return "";
    return body.substr(at + 6, 43);
  }

  TestSchema schema_{"accounts"};
  std::unique_ptr<MyriadServer> server_;
};

TEST_F(AccountsApiTest, RegisterValidatesAndNeverShowsTheHash) {
  const std::string email = "Grace" + Tag() + "@Example.COM";
  auto created =
      Post("/api/auth/register",
           R"({"email":" )" + email + R"( ","password":"long enough pw","name":"Grace"})");
  ASSERT_TRUE(created);
  ASSERT_EQ(created->status, 201) << created->body;
  const auto o = Object(created->body);
  std::string lowered = email;
  for (char& ch : lowered) ch = static_cast<char>(std::tolower(static_cast<unsigned char>(ch)));
  EXPECT_EQ(Str(o, "email"), lowered) << "trimmed and lower-cased";
  EXPECT_EQ(Str(o, "role"), "user");
  EXPECT_EQ(Str(o, "email_verified"), "false");
  EXPECT_EQ(created->body.find("password"), std::string::npos);
  EXPECT_EQ(created->body.find("argon2"), std::string::npos);
  EXPECT_EQ(created->Header("Cache-Control"), "no-store");

  auto duplicate = Post("/api/auth/register",
                        R"({"email":")" + email + R"(","password":"long enough pw","name":"G"})");
  ASSERT_TRUE(duplicate);
  EXPECT_EQ(duplicate->status, 409);
  EXPECT_EQ(duplicate->Header("Content-Type"), "application/problem+json");

  const std::string other = "x" + Tag() + "@example.com";
  for (const auto& [body, field] : std::vector<std::pair<std::string, std::string>>{
           {R"({"email":")" + other + R"(","password":"short","name":"A"})", "password"},
           {R"({"email":")" + other + R"(","password":")" + other + R"(","name":"A"})", "password"},
           {R"({"email":"not-an-email","password":"long enough pw","name":"A"})", "email"},
           {R"({"email":")" + other + R"(","password":"long enough pw","name":"A","role":"admin"})",
            "role"},
           {R"({"email":")" + other + R"(","password":"long enough pw"})", "name"}}) {
    auto refused = Post("/api/auth/register", body);
    ASSERT_TRUE(refused);
    EXPECT_EQ(refused->status, 422) << body;
    EXPECT_NE(refused->body.find(R"("field":")" + field + '"'), std::string::npos) << refused->body;
  }
  auto not_json = Post("/api/auth/register", "{", kJson);
  ASSERT_TRUE(not_json);
  EXPECT_EQ(not_json->status, 400);
  auto huge = Post("/api/auth/register", std::string(5000, ' '), kJson);
  ASSERT_TRUE(huge);
  EXPECT_EQ(huge->status, 413);
}

TEST_F(AccountsApiTest, LoginGivesTokensThatOpenMe) {
  const std::string email = Register();
  auto answer =
      Post("/api/auth/login", R"({"email":")" + email + R"(","password":"correct horse battery"})");
  ASSERT_TRUE(answer);
  ASSERT_EQ(answer->status, 200) << answer->body;
  EXPECT_EQ(answer->Header("Cache-Control"), "no-store");
  const auto o = Object(answer->body);
  EXPECT_EQ(Str(o, "token_type"), "Bearer");
  EXPECT_EQ(Str(o, "expires_in"), "900");
  EXPECT_EQ(Str(o, "refresh_token").size(), 43U);

  auto me = Call(port(), "GET", "/api/users/me", "", Bearer(Str(o, "access_token")));
  ASSERT_TRUE(me);
  ASSERT_EQ(me->status, 200) << me->body;
  EXPECT_EQ(Str(Object(me->body), "name"), "Ada");

  auto renamed = Call(port(), "PATCH", "/api/users/me", R"({"name":"Ada L."})",
                      Bearer(Str(o, "access_token")));
  ASSERT_TRUE(renamed);
  ASSERT_EQ(renamed->status, 200) << renamed->body;
  EXPECT_EQ(Str(Object(renamed->body), "name"), "Ada L.");
  auto forbidden_field =
      Call(port(), "PATCH", "/api/users/me", R"({"role":"admin"})", Bearer(Str(o, "access_token")));
  ASSERT_TRUE(forbidden_field);
  EXPECT_EQ(forbidden_field->status, 422);
}

TEST_F(AccountsApiTest, UnknownEmailAndWrongPasswordLookTheSame) {
  const std::string email = Register();
  auto wrong =
      Post("/api/auth/login", R"({"email":")" + email + R"(","password":"wrong password"})");
  auto unknown = Post("/api/auth/login", R"({"email":"nobody)" + Tag() +
                                             R"(@example.com","password":"wrong password"})");
  ASSERT_TRUE(wrong && unknown);
  EXPECT_EQ(wrong->status, 401);
  EXPECT_EQ(unknown->status, 401);
  auto a = Object(wrong->body);
  auto b = Object(unknown->body);
  a.erase("request_id");
  b.erase("request_id");
  EXPECT_EQ(json::serialize(a), json::serialize(b));
  EXPECT_EQ(wrong->Header("WWW-Authenticate"), unknown->Header("WWW-Authenticate"));
  EXPECT_EQ(wrong->Header("WWW-Authenticate"), R"(Bearer realm="myriad")");
}

TEST_F(AccountsApiTest, BadTokensAre401WithWwwAuthenticate) {
  const std::string email = Register();
  auto tokens = Login(email);
  ASSERT_TRUE(tokens);
  std::string tampered = tokens->access;
  tampered[tampered.size() - 5] = tampered[tampered.size() - 5] == 'A' ? 'B' : 'A';
  const auto dot = tokens->access.find('.');
  const std::string alg_none = "eyJhbGciOiJub25lIiwidHlwIjoiSldUIn0" +
                               tokens->access.substr(dot, tokens->access.rfind('.') - dot) + ".";
  for (const auto& [header, why] : std::vector<std::pair<Headers, std::string>>{
           {{}, "none"},
           {{{"Authorization", "Basic YTpi"}}, "basic"},
           {{{"Authorization", "Bearer " + tampered}}, "tampered"},
           {{{"Authorization", "Bearer " + alg_none}}, "alg none"},
           {{{"Authorization", "Bearer garbage"}}, "garbage"}}) {
    auto me = Call(port(), "GET", "/api/users/me", "", header);
    ASSERT_TRUE(me);
    EXPECT_EQ(me->status, 401) << why;
    ASSERT_TRUE(me->Header("WWW-Authenticate").has_value()) << why;
    EXPECT_EQ(me->Header("WWW-Authenticate")->rfind("Bearer realm=\"myriad\"", 0), 0U) << why;
  }
}

TEST_F(AccountsApiTest, RefreshRotatesAndAReusedTokenEndsTheFamily) {
  const std::string email = Register();
  auto first = Login(email);
  ASSERT_TRUE(first);
  auto second = Refresh(first->refresh);
  ASSERT_TRUE(second);
  EXPECT_NE(second->refresh, first->refresh);
  auto third = Refresh(second->refresh);
  ASSERT_TRUE(third);

  int status = 0;
  EXPECT_FALSE(Refresh(first->refresh, &status)) << "a spent token";
  EXPECT_EQ(status, 401);
  EXPECT_FALSE(Refresh(third->refresh, &status)) << "the reuse ended the whole family";
  EXPECT_EQ(status, 401);

  auto other = Login(email);  // another session is not part of that family
  ASSERT_TRUE(other);
  EXPECT_TRUE(Refresh(other->refresh));
}

TEST_F(AccountsApiTest, LogoutEndsThatSession) {
  const std::string email = Register();
  auto a = Login(email);
  auto b = Login(email);
  ASSERT_TRUE(a && b);
  auto out = Post("/api/auth/logout", R"({"refresh_token":")" + a->refresh + R"("})");
  ASSERT_TRUE(out);
  EXPECT_EQ(out->status, 204);
  int status = 0;
  EXPECT_FALSE(Refresh(a->refresh, &status));
  EXPECT_EQ(status, 401);
  EXPECT_TRUE(Refresh(b->refresh)) << "only that session ended";
  auto again = Post("/api/auth/logout", R"({"refresh_token":")" + a->refresh + R"("})");
  ASSERT_TRUE(again);
  EXPECT_EQ(again->status, 204) << "logging out twice is fine";
}

TEST_F(AccountsApiTest, PasswordChangeEndsOtherSessions) {
  const std::string email = Register();
  auto a = Login(email);
  auto b = Login(email);
  ASSERT_TRUE(a && b);
  auto wrong = Post("/api/users/me/password",
                    R"({"current_password":"not it at all","new_password":"a new passphrase"})",
                    Bearer(a->access));
  ASSERT_TRUE(wrong);
  EXPECT_EQ(wrong->status, 403);
  auto changed =
      Post("/api/users/me/password",
           R"({"current_password":"correct horse battery","new_password":"a new passphrase"})",
           Bearer(a->access));
  ASSERT_TRUE(changed);
  ASSERT_EQ(changed->status, 200) << changed->body;
  const auto fresh = Object(changed->body);
  int status = 0;
  EXPECT_FALSE(Refresh(a->refresh, &status));
  EXPECT_FALSE(Refresh(b->refresh, &status));
  EXPECT_EQ(status, 401);
  EXPECT_TRUE(Refresh(Str(fresh, "refresh_token"))) << "the caller carries on in a new session";
  EXPECT_FALSE(Login(email)) << "the old password is gone";
  EXPECT_TRUE(Login(email, "a new passphrase"));
  EXPECT_NE(schema_.Value("SELECT count(*) FROM outbox WHERE kind = 'password_changed'"), "0");
}

TEST_F(AccountsApiTest, ForgotAndResetPasswordWithSingleUseTokens) {
  const std::string email = Register();
  auto session = Login(email);
  ASSERT_TRUE(session);
  for (const std::string& who : {email, "nobody" + Tag() + "@example.com", std::string("junk")}) {
    auto asked = Post("/api/auth/forgot-password", R"({"email":")" + who + R"("})");
    ASSERT_TRUE(asked);
    EXPECT_EQ(asked->status, 202) << who;
    EXPECT_EQ(asked->body, R"({"status":"accepted"})");
  }
  const std::string token = OutboxToken(email, "reset_password");
  ASSERT_EQ(token.size(), 43U);
  EXPECT_EQ(schema_.Value("SELECT count(*) FROM account_tokens WHERE token_hash = convert_to('" +
                          token + "', 'UTF8')"),
            "0")
      << "only the hash is stored";
  auto reset = Post("/api/auth/reset-password",
                    R"({"token":")" + token + R"(","new_password":"reset passphrase"})");
  ASSERT_TRUE(reset);
  EXPECT_EQ(reset->status, 204) << reset->body;
  auto twice = Post("/api/auth/reset-password",
                    R"({"token":")" + token + R"(","new_password":"another passphrase"})");
  ASSERT_TRUE(twice);
  EXPECT_EQ(twice->status, 422);
  EXPECT_TRUE(Login(email, "reset passphrase"));
  int status = 0;
  EXPECT_FALSE(Refresh(session->refresh, &status)) << "a reset ends every session";
}

TEST_F(AccountsApiTest, VerifyEmailOnceAndNotAfterTheAddressChanged) {
  const std::string email = Register();
  const std::string token = OutboxToken(email, "verify_email");
  ASSERT_EQ(token.size(), 43U);
  auto verified = Post("/api/auth/verify-email", R"({"token":")" + token + R"("})");
  ASSERT_TRUE(verified);
  ASSERT_EQ(verified->status, 200) << verified->body;
  EXPECT_EQ(Str(Object(verified->body), "email_verified"), "true");
  auto again = Post("/api/auth/verify-email", R"({"token":")" + token + R"("})");
  ASSERT_TRUE(again);
  EXPECT_EQ(again->status, 422);

  auto tokens = Login(email);
  ASSERT_TRUE(tokens);
  const std::string moved = "moved" + Tag() + "@example.com";
  auto changed = Call(port(), "PATCH", "/api/users/me", R"({"email":")" + moved + R"("})",
                      Bearer(tokens->access));
  ASSERT_TRUE(changed);
  ASSERT_EQ(changed->status, 200) << changed->body;
  EXPECT_EQ(Str(Object(changed->body), "email_verified"), "false");
  EXPECT_EQ(OutboxToken(moved, "verify_email").size(), 43U);
}

TEST_F(AccountsApiTest, ADisabledUserCannotLogInRefreshOrUseTokens) {
  // The account changes below go straight into the database, behind the service's back:
  // without an in-process cache the service sees them at once.
  Start({"--hash-memory", "64", "--hash-passes", "1", "--cache-local-entries", "0"});
  const std::string email = Register();
  auto tokens = Login(email);
  ASSERT_TRUE(tokens);
  schema_.Value("UPDATE users SET status = 1 WHERE email = lower('" + email + "') RETURNING id");
  auto login =
      Post("/api/auth/login", R"({"email":")" + email + R"(","password":"correct horse battery"})");
  ASSERT_TRUE(login);
  EXPECT_EQ(login->status, 403);
  int status = 0;
  EXPECT_FALSE(Refresh(tokens->refresh, &status));
  EXPECT_EQ(status, 403);
  auto me = Call(port(), "GET", "/api/users/me", "", Bearer(tokens->access));
  ASSERT_TRUE(me);
  EXPECT_EQ(me->status, 401);
}

TEST_F(AccountsApiTest, JwksPublishesTheKeyAndAuditIsForAdmins) {
  // The account changes below go straight into the database, behind the service's back:
  // without an in-process cache the service sees them at once.
  Start({"--hash-memory", "64", "--hash-passes", "1", "--cache-local-entries", "0"});
  auto jwks = Call(port(), "GET", "/.well-known/jwks.json");
  ASSERT_TRUE(jwks);
  ASSERT_EQ(jwks->status, 200);
  EXPECT_NE(jwks->body.find(R"("crv":"Ed25519")"), std::string::npos) << jwks->body;
  EXPECT_EQ(jwks->body.find(R"("d":)"), std::string::npos) << "never the private key";

  const std::string email = Register();
  auto user = Login(email);
  ASSERT_TRUE(user);
  auto refused = Call(port(), "GET", "/api/admin/audit", "", Bearer(user->access));
  ASSERT_TRUE(refused);
  EXPECT_EQ(refused->status, 403);
  schema_.Value("UPDATE users SET role = 1 WHERE email = lower('" + email + "') RETURNING id");
  auto admin = Login(email);
  ASSERT_TRUE(admin);
  (void)Post("/api/auth/login", R"({"email":")" + email + R"(","password":"wrong password"})");
  auto page = Call(port(), "GET", "/api/admin/audit?limit=2", "", Bearer(admin->access));
  ASSERT_TRUE(page);
  ASSERT_EQ(page->status, 200) << page->body;
  const auto o = Object(page->body);
  ASSERT_TRUE(o.contains("items"));
  EXPECT_EQ(o.at("items").as_array().size(), 2U);
  EXPECT_NE(page->body.find("login.failed"), std::string::npos) << page->body;
  const std::string next = Str(o, "next_before");
  auto rest = Call(port(), "GET", "/api/admin/audit?before=" + next, "", Bearer(admin->access));
  ASSERT_TRUE(rest);
  ASSERT_EQ(rest->status, 200);
  EXPECT_NE(rest->body.find("login.succeeded"), std::string::npos) << rest->body;
  EXPECT_NE(rest->body.find("user.registered"), std::string::npos) << rest->body;
  auto bad = Call(port(), "GET", "/api/admin/audit?limit=0", "", Bearer(admin->access));
  ASSERT_TRUE(bad);
  EXPECT_EQ(bad->status, 400);
}

TEST_F(AccountsApiTest, FailedLoginsLockTheAccountOutForAGrowingTime) {
  Start({"--hash-memory", "64", "--hash-passes", "1", "--login-free-failures", "2",
         "--login-lockout", "2s"});
  const std::string email = Register();
  const std::string nobody = "nobody" + Tag() + "@example.com";
  for (const std::string& who : {email, nobody}) {
    const std::string wrong = R"({"email":")" + who + R"(","password":"wrong password"})";
    for (int i = 0; i < 3; ++i) {
      auto failed = Post("/api/auth/login", wrong);
      ASSERT_TRUE(failed);
      EXPECT_EQ(failed->status, 401) << who << " attempt " << i;
    }
    // Locked now: even the right password waits (an unknown address behaves the same).
    auto locked =
        Post("/api/auth/login", R"({"email":")" + who + R"(","password":"correct horse battery"})");
    ASSERT_TRUE(locked);
    EXPECT_EQ(locked->status, 429) << who;
    ASSERT_TRUE(locked->Header("Retry-After").has_value());
    const int retry = std::stoi(*locked->Header("Retry-After"));
    EXPECT_GE(retry, 1);
    EXPECT_LE(retry, 2);
  }
  std::this_thread::sleep_for(2100ms);
  EXPECT_TRUE(Login(email)) << "the lockout expired";
  EXPECT_TRUE(Login(email)) << "and a success forgot the failures";
}

TEST_F(AccountsApiTest, ALoginRehashesWhenTheCostChanged) {
  const std::string email = Register();
  const std::string where = "FROM users WHERE email = lower('" + email + "')";
  EXPECT_NE(schema_.Value("SELECT password_hash " + where).find("m=64,t=1"), std::string::npos);
  Start({"--hash-memory", "128", "--hash-passes", "2"});
  ASSERT_TRUE(Login(email));
  EXPECT_NE(schema_.Value("SELECT password_hash " + where).find("m=128,t=2"), std::string::npos)
      << "stored again with the configured cost";
  EXPECT_TRUE(Login(email)) << "and the new hash verifies";
}

TEST_F(AccountsApiTest, AFullHashingQueueAnswers503WhileReadsStillServe) {
  // One slow hashing thread and room for one waiting hash.
  Start(
      {"--hash-threads", "1", "--hash-queue", "1", "--hash-memory", "65536", "--hash-passes", "3"});
  const std::string email = Register();
  const std::string id = schema_.Value("SELECT id FROM users WHERE email = lower('" + email + "')");
  // A reader logged in before the burst.
  const auto reader = MakeAccount(schema_.url(), port(), false);
  ASSERT_TRUE(reader);
  std::mutex mutex;
  std::map<int, int> statuses;
  std::vector<std::jthread> clients;
  for (int i = 0; i < 8; ++i) {
    clients.emplace_back([&] {
      auto answer = Post("/api/auth/login",
                         R"({"email":")" + email + R"(","password":"correct horse battery"})");
      std::lock_guard lock(mutex);
      ++statuses[answer ? answer->status : -1];
      if (answer && answer->status == 503) {
        EXPECT_EQ(answer->Header("Retry-After"), "1");
      }
    });
  }
  // Reads are not behind the hashing queue.
  for (int i = 0; i < 20; ++i) {
    auto read = Call(port(), "GET", "/api/users/" + id, "", {reader->Authorization()});
    ASSERT_TRUE(read);
    EXPECT_EQ(read->status, 200);
  }
  clients.clear();
  EXPECT_GE(statuses[503], 1) << "some logins found the queue full";
  EXPECT_GE(statuses[200], 1) << "and the others went through";
  EXPECT_EQ(statuses[200] + statuses[503], 8);
}

}  // namespace
}  // namespace myriad::testing

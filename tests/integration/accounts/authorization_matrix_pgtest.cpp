// Who may call what, end to end: every route and method of the accounts and users APIs
// against every kind of caller and every kind of bad credential, as one table that reads
// as the rules (src/accounts/access.cpp holds them). One real `myriad serve`, one schema;
// the rows run in order, so the writes are placed where they cannot destroy an account a
// later row needs (deletes last, on a throwaway account).
#include <gtest/gtest.h>

#include <algorithm>
#include <array>
#include <boost/json.hpp>
#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <random>
#include <set>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "accounts/access.hpp"
#include "auth/authenticator.hpp"
#include "auth/base64url.hpp"
#include "auth/jwt.hpp"
#include "auth/signing_keys.hpp"
#include "http/method.hpp"
#include "support/accounts_support.hpp"
#include "support/http_client.hpp"
#include "support/myriad_server.hpp"
#include "support/pg_support.hpp"

namespace myriad::testing {
namespace {

namespace json = boost::json;
using Headers = std::vector<std::pair<std::string, std::string>>;

/// The credentials a request carries.
enum class Who : std::uint8_t {
  kAnonymous,      // no Authorization header
  kUser,           // an active user's access token, from logging in
  kAdmin,          // an active administrator's, from logging in
  kMinted,         // an administrator token this test signed with the server's key: the control
                   // for the forgeries below, which differ from it in one flaw each
  kBadCredential,  // in a row: each of the kinds below, every one expecting the row's status
  // A token of an account disabled (by an admin, through the API) after it logged in.
  kDisabled,
  // A token of an account deleted (the same way) after it logged in.
  kDeleted,
  // The forgeries, all for the administrator so that one accepted shows as success, not
  // as a 403: exp in the past; one signature character changed; {"alg":"none"} and no
  // signature; signed by a key the server does not know (kid "other"); aud
  // "someone-else"; iss "someone-else".
  kExpired,
  kTampered,
  kAlgNone,
  kUnknownKid,
  kWrongAudience,
  kWrongIssuer,
  kGarbage,      // "Bearer abc"
  kWrongScheme,  // "Basic <user:password>"
};

constexpr std::array kBadCredentials{
    Who::kDisabled,   Who::kDeleted,       Who::kExpired,     Who::kTampered, Who::kAlgNone,
    Who::kUnknownKid, Who::kWrongAudience, Who::kWrongIssuer, Who::kGarbage,  Who::kWrongScheme,
};

std::string_view ToString(Who who) {
  switch (who) {
    case Who::kAnonymous:
      return "anonymous";
    case Who::kUser:
      return "user";
    case Who::kAdmin:
      return "admin";
    case Who::kMinted:
      return "minted admin token";
    case Who::kBadCredential:
      return "any bad credential";
    case Who::kDisabled:
      return "disabled account's token";
    case Who::kDeleted:
      return "deleted account's token";
    case Who::kExpired:
      return "expired token";
    case Who::kTampered:
      return "tampered signature";
    case Who::kAlgNone:
      return "alg none";
    case Who::kUnknownKid:
      return "unknown kid";
    case Who::kWrongAudience:
      return "wrong audience";
    case Who::kWrongIssuer:
      return "wrong issuer";
    case Who::kGarbage:
      return "garbage bearer";
    case Who::kWrongScheme:
      return "Basic scheme";
  }
  return "?";
}

/// What a 2xx body must look like, beyond its status.
enum class Shape : std::uint8_t {
  kAny,
  kFull,    // the whole record (email, role, status, ...), ETag "v<version>"
  kPublic,  // exactly id, name and created_at, ETag "p<version>", Vary: Authorization
};

/// One request and its answer. `path` and `body` may name {self} (the user), {other}
/// (another active user), {admin}, {victim} (an account that exists to be deleted) and
/// {tag} (unique per request).
struct Row {
  std::string_view method;
  std::string_view path;
  std::string_view body;
  Who who;
  int status;
  Shape shape = Shape::kAny;
};

constexpr std::string_view kRegister =
    R"({"email":"new{tag}@example.com","password":"a long password","name":"New"})";
constexpr std::string_view kCreate = R"({"email":"made{tag}@example.com","name":"Made"})";
constexpr std::string_view kUnknownRefresh = R"({"refresh_token":"unknown"})";
constexpr std::string_view kNobody = R"({"email":"nobody@example.com"})";
constexpr std::string_view kDisable = R"({"status":"disabled"})";

// clang-format off
const std::vector<Row>& Rows() {
  using enum Who;
  using enum Shape;
  static const std::vector<Row> kRows{
    // Public routes: open to anyone, and credentials are not even looked at (a bad one
    // changes nothing). Bad bodies answer 4xx, never 401 or 403.
    {"POST",   "/api/auth/register",        kRegister,               kAnonymous,     201, kFull},
    {"POST",   "/api/auth/register",        "{}",                    kAnonymous,     422},
    {"POST",   "/api/auth/register",        "{}",                    kBadCredential, 422},
    {"POST",   "/api/auth/login",           "{}",                    kAnonymous,     422},
    {"POST",   "/api/auth/login",           "{}",                    kBadCredential, 422},
    {"POST",   "/api/auth/refresh",         "{}",                    kAnonymous,     422},
    {"POST",   "/api/auth/refresh",         "{}",                    kBadCredential, 422},
    {"POST",   "/api/auth/logout",          kUnknownRefresh,         kAnonymous,     204},
    {"POST",   "/api/auth/logout",          kUnknownRefresh,         kBadCredential, 204},
    {"POST",   "/api/auth/verify-email",    "{}",                    kAnonymous,     422},
    {"POST",   "/api/auth/verify-email",    "{}",                    kBadCredential, 422},
    {"POST",   "/api/auth/forgot-password", kNobody,                 kAnonymous,     202},
    {"POST",   "/api/auth/forgot-password", kNobody,                 kBadCredential, 202},
    {"POST",   "/api/auth/reset-password",  "{}",                    kAnonymous,     422},
    {"POST",   "/api/auth/reset-password",  "{}",                    kBadCredential, 422},
    {"GET",    "/.well-known/jwks.json",    "",                      kAnonymous,     200},
    {"GET",    "/.well-known/jwks.json",    "",                      kBadCredential, 200},

    // Any active account: its own record.
    {"GET",    "/api/users/me",             "",                      kAnonymous,     401},
    {"GET",    "/api/users/me",             "",                      kUser,          200, kFull},
    {"GET",    "/api/users/me",             "",                      kAdmin,         200, kFull},
    {"GET",    "/api/users/me",             "",                      kMinted,        200, kFull},
    {"GET",    "/api/users/me",             "",                      kBadCredential, 401},
    {"PATCH",  "/api/users/me",             R"({"name":"User 2"})",  kAnonymous,     401},
    {"PATCH",  "/api/users/me",             R"({"name":"User 2"})",  kUser,          200, kFull},
    {"PATCH",  "/api/users/me",             R"({"name":"Admin 2"})", kAdmin,         200, kFull},
    {"PATCH",  "/api/users/me",             R"({"name":"Forged"})",  kBadCredential, 401},
    // Past access control the body is checked: 422 shows the caller got that far.
    {"POST",   "/api/users/me/password",    "{}",                    kAnonymous,     401},
    {"POST",   "/api/users/me/password",    "{}",                    kUser,          422},
    {"POST",   "/api/users/me/password",    "{}",                    kAdmin,         422},
    {"POST",   "/api/users/me/password",    "{}",                    kBadCredential, 401},

    // Any active account may read a user: self and admins everything, others the
    // public profile.
    {"GET",    "/api/users/{other}",        "",                      kAnonymous,     401},
    {"GET",    "/api/users/{self}",         "",                      kUser,          200, kFull},
    {"GET",    "/api/users/{other}",        "",                      kUser,          200, kPublic},
    {"GET",    "/api/users/{admin}",        "",                      kUser,          200, kPublic},
    {"GET",    "/api/users/999999999",      "",                      kUser,          404},
    {"GET",    "/api/users/{other}",        "",                      kAdmin,         200, kFull},
    {"GET",    "/api/users/{self}",         "",                      kAdmin,         200, kFull},
    {"GET",    "/api/users/{admin}",        "",                      kAdmin,         200, kFull},
    {"GET",    "/api/users/{other}",        "",                      kBadCredential, 401},

    // Administrators only: list and search, create, change, the audit log.
    {"GET",    "/api/users",                "",                      kAnonymous,     401},
    {"GET",    "/api/users",                "",                      kUser,          403},
    {"GET",    "/api/users",                "",                      kAdmin,         200},
    {"GET",    "/api/users",                "",                      kBadCredential, 401},
    {"POST",   "/api/users",                kCreate,                 kAnonymous,     401},
    {"POST",   "/api/users",                kCreate,                 kUser,          403},
    {"POST",   "/api/users",                kCreate,                 kAdmin,         201, kFull},
    {"POST",   "/api/users",                kCreate,                 kBadCredential, 401},
    {"PATCH",  "/api/users/{other}",        R"({"name":"Renamed"})", kAnonymous,     401},
    {"PATCH",  "/api/users/{other}",        R"({"name":"Renamed"})", kUser,          403},
    {"PATCH",  "/api/users/{self}",         R"({"name":"Renamed"})", kUser,          403},
    {"PATCH",  "/api/users/{self}",         R"({"role":"admin"})",   kUser,          403},
    {"PATCH",  "/api/users/{other}",        R"({"name":"Other 2"})", kAdmin,         200, kFull},
    {"PATCH",  "/api/users/{admin}",        R"({"name":"Admin 3"})", kAdmin,         200, kFull},
    // An administrator cannot lock themselves out.
    {"PATCH",  "/api/users/{admin}",        R"({"role":"user"})",    kAdmin,         409},
    {"PATCH",  "/api/users/{admin}",        kDisable,                kAdmin,         409},
    {"PATCH",  "/api/users/{other}",        R"({"role":"admin"})",   kBadCredential, 401},
    {"GET",    "/api/admin/audit",          "",                      kAnonymous,     401},
    {"GET",    "/api/admin/audit",          "",                      kUser,          403},
    {"GET",    "/api/admin/audit",          "",                      kAdmin,         200},
    {"GET",    "/api/admin/audit",          "",                      kMinted,        200},
    {"GET",    "/api/admin/audit",          "",                      kBadCredential, 401},

    // Deletes last, on the throwaway account.
    {"DELETE", "/api/users/{victim}",       "",                      kAnonymous,     401},
    {"DELETE", "/api/users/{victim}",       "",                      kUser,          403},
    {"DELETE", "/api/users/{self}",         "",                      kUser,          403},
    {"DELETE", "/api/users/{victim}",       "",                      kBadCredential, 401},
    {"DELETE", "/api/users/{admin}",        "",                      kAdmin,         409},
    {"DELETE", "/api/users/{victim}",       "",                      kAdmin,         204},
    {"DELETE", "/api/users/{victim}",       "",                      kAdmin,         404},
    {"GET",    "/api/users/{victim}",       "",                      kAdmin,         404},
  };
  return kRows;
}
// clang-format on

json::object Object(const std::string& body) {
  boost::system::error_code ec;
  json::value value = json::parse(body, ec);
  if (ec || !value.is_object()) return {};
  return value.as_object();
}

void ReplaceAll(std::string& text, std::string_view from, const std::string& to) {
  for (auto at = text.find(from); at != std::string::npos; at = text.find(from, at + to.size())) {
    text.replace(at, from.size(), to);
  }
}

// The middle (payload) segment of a compact JWS.
std::string PayloadOf(const std::string& token) {
  const auto first = token.find('.');
  const auto second = token.find('.', first + 1);
  return token.substr(first + 1, second - first - 1);
}

class AuthorizationMatrixTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::vector<std::string> flags = signer_.Flags();
    // Cheap hashes: this test is about who may call what, not about hashing.
    for (const char* flag : {"--hash-memory", "64", "--hash-passes", "1"}) flags.emplace_back(flag);
    server_ = std::make_unique<MyriadServer>(schema_.url(), flags);
    ASSERT_NE(server_->port(), 0) << server_->output();

    const auto make = [this](bool admin, const std::string& name) {
      auto account = MakeAccount(schema_.url(), port(), admin, name);
      if (!account) return TestAccount{};
      return std::move(*account);
    };
    admin_ = make(true, "Admin");
    user_ = make(false, "User");
    other_ = make(false, "Other");
    disabled_ = make(false, "Disabled");
    deleted_ = make(false, "Deleted");
    victim_ = make(false, "Victim");
    ASSERT_FALSE(HasFailure());

    // Their tokens work (and their records are now in the user cache), then an admin
    // disables one and deletes the other through the API, as it happens in production.
    for (const TestAccount* account : {&disabled_, &deleted_}) {
      auto me = Call(port(), "GET", "/api/users/me", "", {account->Authorization()});
      ASSERT_TRUE(me && me->status == 200) << (me ? me->body : "no answer");
    }
    auto disable = Call(port(), "PATCH", "/api/users/" + std::to_string(disabled_.id), kDisable,
                        admin_.Headers());
    ASSERT_TRUE(disable && disable->status == 200) << (disable ? disable->body : "no answer");
    auto remove = Call(port(), "DELETE", "/api/users/" + std::to_string(deleted_.id), "",
                       {admin_.Authorization()});
    ASSERT_TRUE(remove && remove->status == 204) << (remove ? remove->body : "no answer");

    ASSERT_NO_FATAL_FAILURE(MakeCredentials());
  }

  std::uint16_t port() const { return server_->port(); }

  auth::TokenClaims AdminClaims() const {
    auth::TokenClaims claims;
    claims.subject = std::to_string(admin_.id);
    claims.role = "admin";
    claims.issuer = "myriad";
    claims.audience = "myriad-api";
    claims.issued_at = auth::UnixNow();
    claims.expires_at = claims.issued_at + 3600;
    return claims;
  }

  void MakeCredentials() {
    credentials_[Who::kUser] = "Bearer " + user_.access_token;
    credentials_[Who::kAdmin] = "Bearer " + admin_.access_token;
    credentials_[Who::kMinted] = "Bearer " + signer_.Mint(AdminClaims());
    credentials_[Who::kDisabled] = "Bearer " + disabled_.access_token;
    credentials_[Who::kDeleted] = "Bearer " + deleted_.access_token;

    auth::TokenClaims expired = AdminClaims();
    expired.issued_at -= 7200;
    expired.expires_at = expired.issued_at + 3600;
    credentials_[Who::kExpired] = "Bearer " + signer_.Mint(expired);

    std::string tampered = signer_.Mint(AdminClaims());
    char& flipped = tampered[tampered.rfind('.') + 10];
    flipped = flipped == 'A' ? 'B' : 'A';
    credentials_[Who::kTampered] = "Bearer " + tampered;

    credentials_[Who::kAlgNone] =
        "Bearer " +
        auth::Base64UrlEncode(std::string_view(R"({"alg":"none","typ":"JWT","kid":"test"})")) +
        "." + PayloadOf(signer_.Mint(AdminClaims())) + ".";

    auto stranger = auth::SigningKey::Generate("other");
    ASSERT_TRUE(stranger) << stranger.error();
    std::vector<auth::SigningKey> keys;
    keys.push_back(std::move(*stranger));
    auto stranger_set = auth::KeySet::Create(std::move(keys));
    ASSERT_TRUE(stranger_set) << stranger_set.error();
    credentials_[Who::kUnknownKid] = "Bearer " + auth::Issue(AdminClaims(), *stranger_set);

    auth::TokenClaims audience = AdminClaims();
    audience.audience = "someone-else";
    credentials_[Who::kWrongAudience] = "Bearer " + signer_.Mint(audience);
    auth::TokenClaims issuer = AdminClaims();
    issuer.issuer = "someone-else";
    credentials_[Who::kWrongIssuer] = "Bearer " + signer_.Mint(issuer);

    credentials_[Who::kGarbage] = "Bearer abc";
    credentials_[Who::kWrongScheme] = "Basic dXNlcjpwYXNzd29yZA==";  // user:password
  }

  std::string Expand(std::string_view text) {
    std::string out(text);
    ReplaceAll(out, "{self}", std::to_string(user_.id));
    ReplaceAll(out, "{other}", std::to_string(other_.id));
    ReplaceAll(out, "{admin}", std::to_string(admin_.id));
    ReplaceAll(out, "{victim}", std::to_string(victim_.id));
    ReplaceAll(out, "{tag}", tag_ + "-" + std::to_string(++requests_));
    return out;
  }

  // Sends `row` with `who`'s credentials and checks the answer against it.
  void Check(const Row& row, Who who) {
    const std::string path = Expand(row.path);
    const std::string body = Expand(row.body);
    SCOPED_TRACE(std::string(row.method) + " " + path + " " + body + " as " +
                 std::string(ToString(who)));
    Headers headers;
    if (!body.empty()) headers.emplace_back("Content-Type", "application/json");
    if (const auto it = credentials_.find(who); it != credentials_.end()) {
      headers.emplace_back("Authorization", it->second);
    }
    const auto answer = Call(port(), row.method, path, body, headers);
    ASSERT_TRUE(answer) << "no answer";
    EXPECT_EQ(answer->status, row.status) << answer->body;

    if (answer->status >= 400 && answer->status < 500) {
      EXPECT_EQ(answer->Header("Content-Type").value_or("<none>"), "application/problem+json");
    }
    if (answer->status == 401) {
      const std::string challenge = answer->Header("WWW-Authenticate").value_or("<none>");
      EXPECT_TRUE(challenge.starts_with(R"(Bearer realm="myriad")")) << challenge;
      // RFC 6750 3.1: no error code when the request carries no bearer token at all (none,
      // or another scheme); invalid_token when the token presented failed.
      if (who == Who::kAnonymous || who == Who::kWrongScheme) {
        EXPECT_EQ(challenge.find("error="), std::string::npos) << challenge;
      } else {
        EXPECT_NE(challenge.find(R"(error="invalid_token")"), std::string::npos) << challenge;
      }
    }
    if (answer->status != row.status || row.shape == Shape::kAny) return;

    const json::object o = Object(answer->body);
    const std::string etag = answer->Header("ETag").value_or("<none>");
    if (row.shape == Shape::kFull) {
      for (const char* key :
           {"id", "email", "name", "role", "status", "email_verified", "created_at", "version"}) {
        EXPECT_TRUE(o.contains(key)) << key << " missing from " << answer->body;
      }
      const auto* version = o.if_contains("version");
      if (version != nullptr && version->is_int64()) {
        EXPECT_EQ(etag, "\"v" + std::to_string(version->as_int64()) + "\"");
      }
    } else {
      std::set<std::string> keys;
      for (const auto& member : o) keys.emplace(member.key());
      EXPECT_EQ(keys, (std::set<std::string>{"id", "name", "created_at"})) << answer->body;
      const auto* id = o.if_contains("id");
      ASSERT_TRUE(id != nullptr && id->is_int64()) << answer->body;
      const std::string version =
          schema_.Value("SELECT version FROM users WHERE id = " + std::to_string(id->as_int64()));
      EXPECT_EQ(etag, "\"p" + version + "\"");
      EXPECT_NE(answer->Header("Vary").value_or("").find("Authorization"), std::string::npos)
          << "a shared cache must not hand one caller's view to another";
    }
  }

  TestSchema schema_{"authz"};
  TestSigner signer_;
  std::unique_ptr<MyriadServer> server_;
  TestAccount admin_, user_, other_, disabled_, deleted_, victim_;
  std::map<Who, std::string> credentials_;
  std::string tag_ = std::to_string(std::random_device{}() % 1'000'000'000);
  int requests_ = 0;
};

TEST_F(AuthorizationMatrixTest, EveryRouteMethodAndCredential) {
  std::size_t requests = 0;
  for (const Row& row : Rows()) {
    if (row.who == Who::kBadCredential) {
      for (const Who bad : kBadCredentials) {
        Check(row, bad);
        ++requests;
      }
    } else {
      Check(row, row.who);
      ++requests;
    }
  }
  RecordProperty("requests", static_cast<int>(requests));
}

// Whether `row` requests the route of `rule`.
bool Matches(const Row& row, const accounts::AccessRule& rule) {
  std::string_view pattern = row.path;
  if (pattern.starts_with("/api/users/") && pattern != "/api/users/me" &&
      pattern != "/api/users/me/password") {
    pattern = "/api/users/{id}";
  }
  return row.method == http::ToString(rule.method) && pattern == rule.pattern;
}

// The table against the rule table: every rule has its rows, so a new route cannot go
// unchecked here. Protected routes: anonymous and every bad credential get 401; admin
// routes: a user gets 403.
TEST(AuthorizationMatrixCoverageTest, TableCoversEveryRule) {
  const auto has = [](const accounts::AccessRule& rule, Who who, int status) {
    return std::ranges::any_of(Rows(), [&](const Row& row) {
      return Matches(row, rule) && row.who == who && (status == 0 || row.status == status);
    });
  };
  for (const accounts::AccessRule& rule : accounts::AccessRules()) {
    SCOPED_TRACE(std::string(http::ToString(rule.method)) + " " + std::string(rule.pattern));
    const bool open = rule.access == accounts::Access::kAnyone;
    EXPECT_TRUE(has(rule, Who::kAnonymous, open ? 0 : 401));
    EXPECT_TRUE(has(rule, Who::kBadCredential, open ? 0 : 401));
    if (!open) {
      EXPECT_TRUE(has(rule, Who::kAdmin, 0));
    }
    if (rule.access == accounts::Access::kAdmin) {
      EXPECT_TRUE(has(rule, Who::kUser, 403));
    }
  }
  for (const Row& row : Rows()) {
    EXPECT_TRUE(std::ranges::any_of(accounts::AccessRules(),
                                    [&](const auto& rule) { return Matches(row, rule); }))
        << row.method << " " << row.path << " has no rule";
  }
}

}  // namespace
}  // namespace myriad::testing

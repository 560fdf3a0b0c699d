// The users resource (/api/users) end to end: the real `myriad serve` binary against a real
// PostgreSQL, driven over HTTP. Each test has a schema of its own (support/pg_support.hpp)
// and its own server process; the recovery test has a PostgreSQL cluster of its own.
#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <boost/json.hpp>
#include <cctype>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <filesystem>
#include <functional>
#include <iostream>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <random>
#include <set>
#include <stop_token>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "support/accounts_support.hpp"
#include "support/http_client.hpp"
#include "support/myriad_server.hpp"
#include "support/pg_support.hpp"
#include "support/process.hpp"
#include "support/server_fixture.hpp"

namespace myriad::testing {
namespace {

namespace json = boost::json;
using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;
using Headers = std::vector<std::pair<std::string, std::string>>;

const Headers kJson = {{"Content-Type", "application/json"}};

json::value Parse(const HttpResponse& response) {
  boost::system::error_code ec;
  json::value value = json::parse(response.body, ec);
  if (ec) ADD_FAILURE() << "not JSON (" << ec.message() << "): " << response.body;
  return value;
}

std::string Str(const json::value& value, std::string_view key) {
  const auto* object = value.if_object();
  if (object == nullptr) return "<not an object>";
  const auto* field = object->if_contains(key);
  if (field == nullptr) return "<absent>";
  if (!field->is_string()) return "<not a string: " + json::serialize(*field) + ">";
  return std::string(field->as_string());
}

std::int64_t Int(const json::value& value, std::string_view key) {
  const auto* object = value.if_object();
  const auto* field = object != nullptr ? object->if_contains(key) : nullptr;
  return field != nullptr && field->is_int64() ? field->as_int64() : -1;
}

std::string JsonString(std::string_view text) { return json::serialize(json::string(text)); }

// Percent-encodes everything but unreserved characters, for query values and path segments.
std::string UrlEncode(std::string_view text) {
  static constexpr char kHex[] = "0123456789ABCDEF";
  std::string out;
  for (const char c : text) {
    const auto byte = static_cast<unsigned char>(c);
    if (std::isalnum(byte) != 0 || c == '-' || c == '.' || c == '_' || c == '~') {
      out += c;
    } else {
      out += '%';
      out += kHex[byte >> 4];
      out += kHex[byte & 0xF];
    }
  }
  return out;
}

// The "code" of the error for `field` in a 422 problem body, or "<none>".
std::string ErrorCodeFor(const HttpResponse& response, std::string_view field) {
  const json::value body = Parse(response);
  const auto* object = body.if_object();
  const auto* errors = object != nullptr ? object->if_contains("errors") : nullptr;
  if (errors == nullptr || !errors->is_array()) return "<no errors array>";
  for (const auto& error : errors->as_array()) {
    if (Str(error, "field") == field) {
      EXPECT_NE(Str(error, "message"), "<absent>") << response.body;
      return Str(error, "code");
    }
  }
  return "<none>";
}

// Sets `flag` when the scope ends, so that threads watching it finish before their
// std::jthread joins them, also when an ASSERT leaves the test early.
struct SetOnExit {
  std::atomic<bool>& flag;
  ~SetOnExit() { flag = true; }
};

bool IsProblem(const HttpResponse& response) {
  return response.Header("Content-Type").value_or("").starts_with("application/problem+json");
}

class UsersApiTest : public ::testing::Test {
 protected:
  void StartServer(const std::vector<std::string>& extra = {}) {
    server_ = std::make_unique<MyriadServer>(schema_.url(), extra);
    ASSERT_NE(server_->port(), 0) << server_->output();
    port_ = server_->port();
    // Ready: the pool has reached the database at least once.
    ASSERT_TRUE(Eventually(
        [&] {
          auto ready = Call(port_, "GET", "/api/ready");
          return ready && ready->status == 200;
        },
        20s))
        << "/api/ready never turned 200";
    // The users resource is for administrators (accounts/access.cpp): these tests act as one.
    auto admin = MakeAccount(schema_.url(), port_, true, "Test Admin");
    ASSERT_TRUE(admin);
    admin_ = std::move(*admin);
  }

  // As the admin, unless `headers` carry credentials of their own.
  Headers AsAdmin(Headers headers) const {
    const bool has_credentials = std::any_of(
        headers.begin(), headers.end(), [](const auto& h) { return h.first == "Authorization"; });
    if (!has_credentials) headers.push_back(admin_.Authorization());
    return headers;
  }
  std::optional<HttpResponse> Request(std::string_view method, std::string_view target,
                                      std::string_view body = {}, Headers headers = {}) {
    return Call(port_, method, target, body, AsAdmin(std::move(headers)));
  }
  // Users in the table besides the acting admin.
  std::string UserCount() {
    return schema_.Value("SELECT count(*) FROM users WHERE id <> " + std::to_string(admin_.id));
  }
  std::optional<HttpResponse> Post(const std::string& body) {
    return Request("POST", "/api/users", body, kJson);
  }
  std::optional<HttpResponse> Patch(std::int64_t id, const std::string& body, Headers extra = {}) {
    extra.emplace_back("Content-Type", "application/json");
    return Request("PATCH", "/api/users/" + std::to_string(id), body, std::move(extra));
  }

  // Creates a user; returns its id, or -1 (and a test failure).
  std::int64_t CreateUser(const std::string& email, const std::string& name) {
    auto response =
        Post(R"({"email":)" + JsonString(email) + R"(,"name":)" + JsonString(name) + "}");
    if (!response || response->status != 201) {
      ADD_FAILURE() << "create " << email << ": "
                    << (response ? std::to_string(response->status) + " " + response->body
                                 : std::string("no response"));
      return -1;
    }
    return Int(Parse(*response), "id");
  }

  // Walks GET /api/users?<query>&limit=<limit> to the end; returns the ids in order, the
  // acting admin's left out (the test did not make it).
  std::vector<std::int64_t> Walk(const std::string& query, int limit,
                                 const std::function<void()>& between_pages = {}) {
    std::vector<std::int64_t> ids;
    std::string cursor;
    for (int page = 0; page < 10'000; ++page) {
      std::string target = "/api/users?limit=" + std::to_string(limit);
      if (!query.empty()) target += "&" + query;
      if (!cursor.empty()) target += "&cursor=" + UrlEncode(cursor);
      auto response = Request("GET", target);
      if (!response || response->status != 200) {
        ADD_FAILURE() << target << ": "
                      << (response ? std::to_string(response->status) + " " + response->body
                                   : std::string("no response"));
        return ids;
      }
      const json::value body = Parse(*response);
      const auto& items = body.at("items").as_array();
      EXPECT_LE(items.size(), static_cast<std::size_t>(limit));
      for (const auto& item : items) {
        if (item.at("id").as_int64() != admin_.id) ids.push_back(item.at("id").as_int64());
      }
      const auto& next = body.at("next_cursor");
      if (next.is_null()) return ids;
      EXPECT_TRUE(next.is_string()) << response->body;
      EXPECT_FALSE(items.empty()) << "a page with a next_cursor but no items";
      cursor = std::string(next.as_string());
      if (between_pages) between_pages();
    }
    ADD_FAILURE() << "the walk did not end";
    return ids;
  }

  TestSchema schema_{"test_users_api"};
  std::unique_ptr<MyriadServer> server_;
  std::uint16_t port_ = 0;
  TestAccount admin_;
};

// --- 1. CRUD and validation ------------------------------------------------------------

TEST_F(UsersApiTest, CreateReadUpdateDeleteRoundTrip) {
  StartServer();
  auto created = Post(
      R"({"email":"  Alice.Smith@Example.COM ","name":"  Alice Smith  ","password":"correct horse"})");
  ASSERT_TRUE(created);
  ASSERT_EQ(created->status, 201) << created->body;
  const json::value user = Parse(*created);
  const std::int64_t id = Int(user, "id");
  ASSERT_GT(id, 0) << created->body;
  EXPECT_EQ(created->Header("Location").value_or(""), "/api/users/" + std::to_string(id));
  EXPECT_EQ(created->Header("ETag").value_or(""), "\"v1\"");
  EXPECT_EQ(Str(user, "email"), "alice.smith@example.com");
  EXPECT_EQ(Str(user, "name"), "Alice Smith");
  EXPECT_EQ(Str(user, "role"), "user");
  EXPECT_EQ(Str(user, "status"), "active");
  EXPECT_EQ(Int(user, "version"), 1);
  EXPECT_NE(Str(user, "created_at").find('T'), std::string::npos) << created->body;
  EXPECT_NE(Str(user, "updated_at").find('T'), std::string::npos) << created->body;
  EXPECT_EQ(created->body.find("password"), std::string::npos) << "no password or hash leaks";
  EXPECT_EQ(created->body.find("argon"), std::string::npos) << created->body;
  EXPECT_NE(schema_.Value("SELECT password_hash FROM users WHERE id = " + std::to_string(id)),
            "correct horse")
      << "the password is stored hashed";

  const std::string path = "/api/users/" + std::to_string(id);
  auto read = Request("GET", path);
  ASSERT_TRUE(read);
  EXPECT_EQ(read->status, 200);
  EXPECT_EQ(read->Header("ETag").value_or(""), "\"v1\"");
  EXPECT_EQ(Parse(*read), user);

  auto not_modified = Request("GET", path, {}, {{"If-None-Match", "\"v1\""}});
  ASSERT_TRUE(not_modified);
  EXPECT_EQ(not_modified->status, 304);
  EXPECT_EQ(not_modified->body, "");
  EXPECT_EQ(not_modified->Header("ETag").value_or(""), "\"v1\"");
  auto other_tag = Request("GET", path, {}, {{"If-None-Match", "\"v7\""}});
  ASSERT_TRUE(other_tag);
  EXPECT_EQ(other_tag->status, 200);

  auto patched = Patch(id, R"({"name":"Alice B. Smith","role":"admin","status":"disabled"})",
                       {{"If-Match", "\"v1\""}});
  ASSERT_TRUE(patched);
  ASSERT_EQ(patched->status, 200) << patched->body;
  EXPECT_EQ(patched->Header("ETag").value_or(""), "\"v2\"");
  const json::value after = Parse(*patched);
  EXPECT_EQ(Int(after, "id"), id);
  EXPECT_EQ(Int(after, "version"), 2);
  EXPECT_EQ(Str(after, "name"), "Alice B. Smith");
  EXPECT_EQ(Str(after, "role"), "admin");
  EXPECT_EQ(Str(after, "status"), "disabled");
  EXPECT_EQ(Str(after, "email"), "alice.smith@example.com") << "fields not sent stay";
  EXPECT_EQ(Str(after, "created_at"), Str(user, "created_at"));

  auto stale_patch = Patch(id, R"({"name":"Stale"})", {{"If-Match", "\"v1\""}});
  ASSERT_TRUE(stale_patch);
  EXPECT_EQ(stale_patch->status, 412) << stale_patch->body;
  EXPECT_TRUE(IsProblem(*stale_patch));
  auto old_tag = Request("GET", path, {}, {{"If-None-Match", "\"v1\""}});
  ASSERT_TRUE(old_tag);
  EXPECT_EQ(old_tag->status, 200);
  EXPECT_EQ(Str(Parse(*old_tag), "name"), "Alice B. Smith");

  // Without If-Match the update is unconditional.
  auto blind = Patch(id, R"({"email":"ALICE@example.org"})");
  ASSERT_TRUE(blind);
  ASSERT_EQ(blind->status, 200) << blind->body;
  EXPECT_EQ(blind->Header("ETag").value_or(""), "\"v3\"");
  EXPECT_EQ(Str(Parse(*blind), "email"), "alice@example.org");

  auto stale_delete = Request("DELETE", path, {}, {{"If-Match", "\"v2\""}});
  ASSERT_TRUE(stale_delete);
  EXPECT_EQ(stale_delete->status, 412);
  auto deleted = Request("DELETE", path, {}, {{"If-Match", "\"v3\""}});
  ASSERT_TRUE(deleted);
  EXPECT_EQ(deleted->status, 204) << deleted->body;
  EXPECT_EQ(deleted->body, "");
  auto gone = Request("GET", path);
  ASSERT_TRUE(gone);
  EXPECT_EQ(gone->status, 404);
  EXPECT_TRUE(IsProblem(*gone));
  auto again = Request("DELETE", path);
  ASSERT_TRUE(again);
  EXPECT_EQ(again->status, 404);
  auto patch_gone = Patch(id, R"({"name":"Ghost"})");
  ASSERT_TRUE(patch_gone);
  EXPECT_EQ(patch_gone->status, 404);
  EXPECT_EQ(UserCount(), "0");
}

TEST_F(UsersApiTest, CreateWithoutOptionalFieldsUsesDefaults) {
  StartServer();
  auto created = Post(R"({"email":"min@example.com","name":"M"})");
  ASSERT_TRUE(created);
  ASSERT_EQ(created->status, 201) << created->body;
  EXPECT_EQ(Str(Parse(*created), "role"), "user");
  EXPECT_EQ(Str(Parse(*created), "status"), "active");
  auto admin =
      Post(R"({"email":"root@example.com","name":"R","role":"admin","status":"disabled"})");
  ASSERT_TRUE(admin);
  ASSERT_EQ(admin->status, 201) << admin->body;
  EXPECT_EQ(Str(Parse(*admin), "role"), "admin");
  EXPECT_EQ(Str(Parse(*admin), "status"), "disabled");
}

TEST_F(UsersApiTest, EveryValidationFailureOfCreateIsA422NamingTheFieldAndCode) {
  StartServer();
  struct Case {
    std::string body;
    std::string field;
    std::string code;
  };
  const std::string long_name(201, 'n');
  const std::string long_password(129, 'p');
  const std::string long_local(65, 'l');
  const std::vector<Case> cases = {
      {R"({"name":"No Email"})", "email", "required"},
      {R"({"email":"a@example.com"})", "name", "required"},
      {R"({"email":5,"name":"N"})", "email", "invalid_type"},
      {R"({"email":"a@example.com","name":["N"]})", "name", "invalid_type"},
      {R"({"email":"not-an-email","name":"N"})", "email", "invalid"},
      {R"({"email":"a@@example.com","name":"N"})", "email", "invalid"},
      {R"({"email":"a b@example.com","name":"N"})", "email", "invalid"},
      {R"({"email":"a@localhost","name":"N"})", "email", "invalid"},
      {R"({"email":"a@-example.com","name":"N"})", "email", "invalid"},
      {R"({"email":")" + long_local + R"(@example.com","name":"N"})", "email", "invalid"},
      {R"({"email":"a@example.com","name":""})", "name", "too_short"},
      {R"({"email":"a@example.com","name":"   "})", "name", "too_short"},
      {R"({"email":"a@example.com","name":")" + long_name + R"("})", "name", "too_long"},
      {R"({"email":"a@example.com","name":"tab\there"})", "name", "invalid"},
      {R"({"email":"a@example.com","name":"nul\u0000here"})", "name", "invalid"},
      {R"({"email":"a@example.com","name":"c1\u0085here"})", "name", "invalid"},
      {R"({"email":"a@example.com","name":"N","password":"short"})", "password", "too_short"},
      {R"({"email":"a@example.com","name":"N","password":")" + long_password + R"("})", "password",
       "too_long"},
      {R"({"email":"a@example.com","name":"N","password":12345678})", "password", "invalid_type"},
      {R"({"email":"a@example.com","name":"N","role":"root"})", "role", "unknown_value"},
      {R"({"email":"a@example.com","name":"N","role":1})", "role", "invalid_type"},
      {R"({"email":"a@example.com","name":"N","status":"gone"})", "status", "unknown_value"},
      {R"({"email":"a@example.com","name":"N","admin":true})", "admin", "unknown_field"},
      {R"({"email":"a@example.com","name":"N","id":7})", "id", "unknown_field"},
      {R"({"email":"a@example.com","name":"N","version":7})", "version", "unknown_field"},
      {R"({"email":"a@example.com","name":"N","name":"M"})", "name", "duplicate_field"},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(c.body);
    auto response = Post(c.body);
    ASSERT_TRUE(response);
    EXPECT_EQ(response->status, 422) << response->body;
    EXPECT_TRUE(IsProblem(*response)) << response->Header("Content-Type").value_or("");
    EXPECT_EQ(ErrorCodeFor(*response, c.field), c.code) << response->body;
  }
  // Every bad field is reported at once.
  auto several = Post(R"({"email":"nope","name":"","role":"root"})");
  ASSERT_TRUE(several);
  EXPECT_EQ(several->status, 422);
  EXPECT_EQ(ErrorCodeFor(*several, "email"), "invalid") << several->body;
  EXPECT_EQ(ErrorCodeFor(*several, "name"), "too_short") << several->body;
  EXPECT_EQ(ErrorCodeFor(*several, "role"), "unknown_value") << several->body;
  EXPECT_EQ(UserCount(), "0") << "nothing was stored";
}

TEST_F(UsersApiTest, ContentTypeAndMalformedBodies) {
  StartServer();
  const std::string good = R"({"email":"ct@example.com","name":"C"})";
  auto plain = Request("POST", "/api/users", good, {{"Content-Type", "text/plain"}});
  ASSERT_TRUE(plain);
  EXPECT_EQ(plain->status, 415);
  EXPECT_TRUE(IsProblem(*plain));
  auto none = Request("POST", "/api/users", good);
  ASSERT_TRUE(none);
  EXPECT_EQ(none->status, 415);
  auto form =
      Request("POST", "/api/users", good, {{"Content-Type", "application/x-www-form-urlencoded"}});
  ASSERT_TRUE(form);
  EXPECT_EQ(form->status, 415);

  for (const std::string body : {R"({"email":)", "", "not json", R"({"email":"a@b.co",})", "[]",
                                 R"("string")", "42", "null"}) {
    SCOPED_TRACE(body);
    auto response = Post(body);
    ASSERT_TRUE(response);
    EXPECT_EQ(response->status, 400) << response->body;
    EXPECT_TRUE(IsProblem(*response));
  }
  std::string deep;
  for (int i = 0; i < 40; ++i) deep += R"({"a":)";
  deep += "1";
  for (int i = 0; i < 40; ++i) deep += "}";
  auto nested = Post(deep);
  ASSERT_TRUE(nested);
  EXPECT_EQ(nested->status, 400);

  auto charset =
      Request("POST", "/api/users", good, {{"Content-Type", "Application/JSON; charset=utf-8"}});
  ASSERT_TRUE(charset);
  EXPECT_EQ(charset->status, 201) << charset->body;
  const std::int64_t id = Int(Parse(*charset), "id");

  auto patch_plain = Request("PATCH", "/api/users/" + std::to_string(id), R"({"name":"X"})",
                             {{"Content-Type", "text/plain"}});
  ASSERT_TRUE(patch_plain);
  EXPECT_EQ(patch_plain->status, 415);
  auto patch_bad = Patch(id, "{");
  ASSERT_TRUE(patch_bad);
  EXPECT_EQ(patch_bad->status, 400);
  auto patch_empty = Patch(id, "{}");
  ASSERT_TRUE(patch_empty);
  EXPECT_EQ(patch_empty->status, 422) << patch_empty->body;
  EXPECT_EQ(ErrorCodeFor(*patch_empty, ""), "empty") << patch_empty->body;
  auto patch_unknown = Patch(id, R"({"password_hash":"x"})");
  ASSERT_TRUE(patch_unknown);
  EXPECT_EQ(patch_unknown->status, 422);
  EXPECT_EQ(ErrorCodeFor(*patch_unknown, "password_hash"), "unknown_field");
  auto patch_invalid = Patch(id, R"({"email":"bad","name":""})");
  ASSERT_TRUE(patch_invalid);
  EXPECT_EQ(patch_invalid->status, 422);
  EXPECT_EQ(ErrorCodeFor(*patch_invalid, "email"), "invalid") << patch_invalid->body;
  EXPECT_EQ(ErrorCodeFor(*patch_invalid, "name"), "too_short") << patch_invalid->body;
  auto read = Request("GET", "/api/users/" + std::to_string(id));
  ASSERT_TRUE(read);
  EXPECT_EQ(read->Header("ETag").value_or(""), "\"v1\"") << "failed PATCHes changed nothing";
}

TEST_F(UsersApiTest, DuplicateEmailsAreConflictsWhateverTheirCase) {
  StartServer();
  const std::int64_t first = CreateUser("dup@example.com", "First");
  ASSERT_GT(first, 0);
  for (const std::string email : {"dup@example.com", "DUP@Example.Com", "  Dup@EXAMPLE.com "}) {
    SCOPED_TRACE(email);
    auto response = Post(R"({"email":)" + JsonString(email) + R"(,"name":"Second"})");
    ASSERT_TRUE(response);
    EXPECT_EQ(response->status, 409) << response->body;
    EXPECT_TRUE(IsProblem(*response));
    EXPECT_EQ(ErrorCodeFor(*response, "email"), "taken") << response->body;
  }
  const std::int64_t second = CreateUser("other@example.com", "Other");
  ASSERT_GT(second, 0);
  auto taken = Patch(second, R"({"email":"DUP@EXAMPLE.COM"})");
  ASSERT_TRUE(taken);
  EXPECT_EQ(taken->status, 409) << taken->body;
  auto own = Patch(first, R"({"email":"Dup@Example.com"})");
  ASSERT_TRUE(own);
  EXPECT_EQ(own->status, 200) << "setting one's own address again is no conflict: " << own->body;
  EXPECT_EQ(UserCount(), "2");
  // A deleted user's address is free again.
  auto deleted = Request("DELETE", "/api/users/" + std::to_string(first));
  ASSERT_TRUE(deleted);
  EXPECT_EQ(deleted->status, 204);
  EXPECT_GT(CreateUser("DUP@example.com", "Third"), 0);
}

TEST_F(UsersApiTest, IdsThatNameNoUserAre404) {
  StartServer();
  const std::int64_t id = CreateUser("ids@example.com", "Ids");
  ASSERT_GT(id, 0);
  const std::vector<std::string> ids = {std::to_string(id + 1000),
                                        "abc",
                                        "0",
                                        "-1",
                                        "-0",
                                        "+" + std::to_string(id),
                                        "9223372036854775807",
                                        "9223372036854775808",
                                        "99999999999999999999999",
                                        "1.0",
                                        "1e3",
                                        "0x1",
                                        "%20" + std::to_string(id),
                                        std::to_string(id) + "%20",
                                        std::to_string(id) + "abc"};
  for (const auto& bad : ids) {
    SCOPED_TRACE(bad);
    const std::string path = "/api/users/" + bad;
    auto read = Request("GET", path);
    ASSERT_TRUE(read);
    EXPECT_EQ(read->status, 404) << read->body;
    EXPECT_TRUE(IsProblem(*read));
    auto patch = Request("PATCH", path, R"({"name":"X"})", kJson);
    ASSERT_TRUE(patch);
    EXPECT_EQ(patch->status, 404) << patch->body;
    auto remove = Request("DELETE", path);
    ASSERT_TRUE(remove);
    EXPECT_EQ(remove->status, 404) << remove->body;
  }
  auto still = Request("GET", "/api/users/" + std::to_string(id));
  ASSERT_TRUE(still);
  EXPECT_EQ(still->status, 200);
  EXPECT_EQ(Str(Parse(*still), "name"), "Ids") << "no odd spelling of the id reached the row";
}

// --- 2. Pagination under concurrent writes ----------------------------------------------

TEST_F(UsersApiTest, PaginationReturnsEveryStableRowExactlyOnceWhileOthersChange) {
  StartServer({"--threads", "2"});
  ASSERT_EQ(Sql(schema_.url(),
                "INSERT INTO users (email, name, password_hash) SELECT 'page' || g || "
                "'@example.com', 'Page ' || g, '!' FROM generate_series(1, 1000) g"),
            "");
  std::vector<std::int64_t> original;
  {
    const std::string list =
        schema_.Value("SELECT string_agg(id::text, ',' ORDER BY id) FROM users WHERE id <> " +
                      std::to_string(admin_.id));
    std::size_t start = 0;
    while (start < list.size()) {
      const auto comma = std::min(list.find(',', start), list.size());
      original.push_back(std::stoll(list.substr(start, comma - start)));
      start = comma + 1;
    }
  }
  ASSERT_EQ(original.size(), 1000U);

  // Every third original row is deleted while the walk runs, in random order; new rows are
  // inserted meanwhile (they land after the walk's position or before it: either is fine).
  std::vector<std::int64_t> doomed;
  std::set<std::int64_t> doomed_set;
  for (std::size_t i = 0; i < original.size(); i += 3) doomed.push_back(original[i]);
  doomed_set.insert(doomed.begin(), doomed.end());
  std::shuffle(doomed.begin(), doomed.end(), std::mt19937(42));

  std::atomic<bool> stop{false};
  std::atomic<int> changes{0};
  std::atomic<int> failures{0};
  std::jthread writer([&] {
    std::size_t next = 0;
    int serial = 0;
    while (!stop.load() && (next < doomed.size() || serial < 2000)) {
      if (next < doomed.size()) {
        auto deleted = Request("DELETE", "/api/users/" + std::to_string(doomed[next++]));
        if (!deleted || deleted->status != 204) ++failures;
      }
      const std::string body =
          R"({"email":"new)" + std::to_string(serial) + R"(@example.com","name":"New"})";
      ++serial;
      auto created = Request("POST", "/api/users", body, kJson);
      if (!created || created->status != 201) ++failures;
      changes.fetch_add(1);
    }
  });
  const SetOnExit stop_writer{stop};
  ASSERT_TRUE(Eventually([&] { return changes.load() >= 5; }, 20s));
  const int changes_before = changes.load();
  const auto ids = Walk("", 37, [] { std::this_thread::sleep_for(5ms); });
  const int changes_during = changes.load() - changes_before;
  stop = true;
  writer.join();
  EXPECT_EQ(failures.load(), 0);
  EXPECT_GT(changes_during, 0) << "the writer ran while the walk did";

  std::map<std::int64_t, int> seen;
  for (std::size_t i = 0; i < ids.size(); ++i) {
    ++seen[ids[i]];
    if (i > 0) {
      EXPECT_LT(ids[i - 1], ids[i]) << "ids strictly increase, at position " << i;
    }
  }
  for (const auto& [id, count] : seen) EXPECT_EQ(count, 1) << "id " << id << " came twice";
  int missing = 0;
  for (const std::int64_t id : original) {
    if (doomed_set.contains(id)) continue;
    if (!seen.contains(id)) ++missing;
  }
  EXPECT_EQ(missing, 0) << "rows that existed throughout were skipped";

  // Once quiet, a walk sees exactly what the table holds.
  const auto quiet = Walk("", 37);
  EXPECT_EQ(std::to_string(quiet.size()), UserCount());
  EXPECT_TRUE(std::is_sorted(quiet.begin(), quiet.end()));
  EXPECT_EQ(std::set<std::int64_t>(quiet.begin(), quiet.end()).size(), quiet.size());
}

TEST_F(UsersApiTest, PageBoundariesAndLimits) {
  StartServer();
  ASSERT_EQ(Sql(schema_.url(),
                "INSERT INTO users (email, name, password_hash) SELECT 'b' || g || "
                "'@example.com', 'B ' || g, '!' FROM generate_series(1, 5) g"),
            "");
  // 6 rows (the acting admin's too) in pages of 3 and of 6: the last full page must not
  // promise a next one that is empty, and no page is empty.
  EXPECT_EQ(Walk("", 3).size(), 5U);
  auto all = Request("GET", "/api/users?limit=6");
  ASSERT_TRUE(all);
  ASSERT_EQ(all->status, 200);
  EXPECT_TRUE(Parse(*all).at("next_cursor").is_null()) << all->body;
  auto more = Request("GET", "/api/users?limit=5");
  ASSERT_TRUE(more);
  EXPECT_TRUE(Parse(*more).at("next_cursor").is_string()) << more->body;
  auto defaults = Request("GET", "/api/users");
  ASSERT_TRUE(defaults);
  EXPECT_EQ(defaults->status, 200);
  EXPECT_EQ(Parse(*defaults).at("items").as_array().size(), 6U);
  EXPECT_TRUE(Parse(*Request("GET", "/api/users?limit=100")).at("next_cursor").is_null());

  for (const std::string& bad : std::vector<std::string>{
           "limit=0", "limit=101", "limit=-1", "limit=abc", "limit=", "limit=1.5",
           "limit=99999999999999999999", "limit=1&limit=2", "cursor=abc", "cursor=", "q=%ZZ",
           "q=%01", "q=" + std::string(101, 'q')}) {
    SCOPED_TRACE(bad);
    auto response = Request("GET", "/api/users?" + bad);
    ASSERT_TRUE(response);
    EXPECT_EQ(response->status, 400) << response->body;
    EXPECT_TRUE(IsProblem(*response));
  }
  // A cursor edited in any one character is refused.
  auto first = Request("GET", "/api/users?limit=2");
  ASSERT_TRUE(first);
  const std::string cursor(Parse(*first).at("next_cursor").as_string());
  for (std::size_t i = 0; i < cursor.size(); ++i) {
    std::string tampered = cursor;
    tampered[i] = tampered[i] == 'A' ? 'B' : 'A';
    auto response = Request("GET", "/api/users?limit=2&cursor=" + UrlEncode(tampered));
    ASSERT_TRUE(response);
    EXPECT_EQ(response->status, 400) << "position " << i << ": " << response->body;
  }
  auto truncated = Request("GET", "/api/users?cursor=" + cursor.substr(0, cursor.size() - 1));
  ASSERT_TRUE(truncated);
  EXPECT_EQ(truncated->status, 400);
  auto good = Request("GET", "/api/users?limit=2&cursor=" + UrlEncode(cursor));
  ASSERT_TRUE(good);
  EXPECT_EQ(good->status, 200) << good->body;
}

// --- 3. Search ----------------------------------------------------------------------------

class UsersSearchTest : public UsersApiTest {
 protected:
  void SetUp() override {
    StartServer();
    for (const auto& [email, name] : std::vector<std::pair<std::string, std::string>>{
             {"alice.smith@example.com", "Alice Smith"},
             {"bob@example.org", "Robert ALICEson"},
             {"carol@example.net", "Carol 100% Real"},
             {"dave_x@example.com", "Dave"},
             {"davexx@example.com", "Davey"},
             {"erin@example.com", "Erin 1000 Percent"},
             {"frank@example.com", "back\\slash"},
             {"grace@example.com", "Zoë Ünal"},
         }) {
      ids_[email] = CreateUser(email, name);
    }
  }
  // The emails that q matches, walking pages of `limit`.
  std::set<std::string> Search(const std::string& q, int limit = 100) {
    std::set<std::string> emails;
    for (const std::int64_t id : Walk("q=" + UrlEncode(q), limit)) {
      for (const auto& [email, known] : ids_) {
        if (known == id) emails.insert(email);
      }
    }
    return emails;
  }
  std::map<std::string, std::int64_t> ids_;
};

TEST_F(UsersSearchTest, MatchesEmailAndNameSubstringsCaseInsensitively) {
  using Emails = std::set<std::string>;
  EXPECT_EQ(Search("alice"), (Emails{"alice.smith@example.com", "bob@example.org"}));
  EXPECT_EQ(Search("ALICE"), (Emails{"alice.smith@example.com", "bob@example.org"}));
  EXPECT_EQ(Search("ICESO"), (Emails{"bob@example.org"}));
  EXPECT_EQ(Search("Example.ORG"), (Emails{"bob@example.org"}));
  EXPECT_EQ(Search("smith@"), (Emails{"alice.smith@example.com"}));
  EXPECT_EQ(Search("  carol  "), (Emails{"carol@example.net"})) << "q is trimmed";
  EXPECT_EQ(Search("zoë"), (Emails{"grace@example.com"}));
  // Terms beyond ASCII fold case through Unicode; ASCII terms (the faster C-collation form)
  // still find their letters inside names that are not ASCII.
  EXPECT_EQ(Search("ZOË ÜNAL"), (Emails{"grace@example.com"}));
  EXPECT_EQ(Search("ünal"), (Emails{"grace@example.com"}));
  EXPECT_EQ(Search("NAL"), (Emails{"grace@example.com"}));
  EXPECT_EQ(Search("zo"), (Emails{"grace@example.com"}));
  EXPECT_EQ(Search("zoe"), Emails{}) << "no accent folding";
  EXPECT_EQ(Search("nobody-has-this"), Emails{});
  // Pagination within a search.
  EXPECT_EQ(Search("example", 1).size(), ids_.size());
  EXPECT_EQ(Search("example", 3).size(), ids_.size());
  auto plus = Request("GET", "/api/users?q=alice+smith");
  ASSERT_TRUE(plus);
  ASSERT_EQ(plus->status, 200);
  EXPECT_EQ(Parse(*plus).at("items").as_array().size(), 1U) << "'+' is a space: " << plus->body;
}

// New index entries wait in the index's pending list (migrations/0005), where searches
// find them at once; the server merges the list into the index on its own.
TEST_F(UsersApiTest, TheServerFlushesTheSearchIndexPendingList) {
  StartServer({"--search-index-flush", "100ms"});
  const std::int64_t id = CreateUser("pending@example.com", "Pending Person");
  ASSERT_GT(id, 0);
  auto renamed = Patch(id, R"({"name":"Quixotic Renamed"})");
  ASSERT_TRUE(renamed);
  ASSERT_EQ(renamed->status, 200) << renamed->body;
  auto found = Request("GET", "/api/users?q=quixotic");
  ASSERT_TRUE(found);
  ASSERT_EQ(found->status, 200) << found->body;
  ASSERT_EQ(Parse(*found).at("items").as_array().size(), 1U) << found->body;
  const auto metric = [&](const std::string& series) {
    auto metrics = Call(port_, "GET", "/metrics");
    return metrics ? MetricValue(metrics->body, series) : -1;
  };
  const std::string ok = "myriad_search_index_flushes_total{outcome=\"ok\"}";
  EXPECT_TRUE(
      Eventually([&] { return metric("myriad_search_index_flushed_pages_total") > 0; }, 20s))
      << "no pending-list page was flushed\n"
      << server_->Log();
  // Two more flushes: the second began after everything above was written.
  const double flushes = metric(ok);
  EXPECT_TRUE(Eventually([&] { return metric(ok) >= flushes + 2; }, 20s)) << server_->Log();
  EXPECT_EQ(metric("myriad_search_index_flushes_total{outcome=\"error\"}"), 0) << server_->Log();
  EXPECT_EQ(schema_.Value("SELECT gin_clean_pending_list('users_search_trgm')"), "0");
}

TEST_F(UsersSearchTest, LikeWildcardsAndBackslashMatchLiterally) {
  using Emails = std::set<std::string>;
  EXPECT_EQ(Search("100%"), (Emails{"carol@example.net"}));
  EXPECT_EQ(Search("%"), (Emails{"carol@example.net"}));
  EXPECT_EQ(Search("dave_"), (Emails{"dave_x@example.com"}));
  EXPECT_EQ(Search("_"), (Emails{"dave_x@example.com"}));
  EXPECT_EQ(Search("%_"), Emails{});
  EXPECT_EQ(Search("k\\s"), (Emails{"frank@example.com"}));
  EXPECT_EQ(Search("\\"), (Emails{"frank@example.com"}));
  EXPECT_EQ(Search("\\%"), Emails{});
}

TEST_F(UsersSearchTest, DoesNotMatchAcrossTheEmailNameBoundary) {
  // "alice.smith@example.com" and "Alice Smith": neither contains "com alice".
  EXPECT_EQ(Search("com alice"), std::set<std::string>{});
  EXPECT_EQ(Search(".org robert"), std::set<std::string>{});
}

TEST_F(UsersSearchTest, CursorOfOneSearchIsRefusedForAnother) {
  auto page = Request("GET", "/api/users?limit=1&q=example");
  ASSERT_TRUE(page);
  ASSERT_EQ(page->status, 200) << page->body;
  const json::value next = Parse(*page).at("next_cursor");
  ASSERT_TRUE(next.is_string()) << page->body;
  const std::string cursor = UrlEncode(std::string(next.as_string()));
  auto same = Request("GET", "/api/users?limit=1&q=example&cursor=" + cursor);
  ASSERT_TRUE(same);
  EXPECT_EQ(same->status, 200) << same->body;
  auto same_after_trim = Request("GET", "/api/users?limit=1&q=%20example%20&cursor=" + cursor);
  ASSERT_TRUE(same_after_trim);
  EXPECT_EQ(same_after_trim->status, 200) << same_after_trim->body;
  for (const std::string other : {"&q=alice", "&q=exampl", ""}) {
    SCOPED_TRACE(other);
    auto response = Request("GET", "/api/users?limit=1" + other + "&cursor=" + cursor);
    ASSERT_TRUE(response);
    EXPECT_EQ(response->status, 400) << response->body;
    EXPECT_TRUE(IsProblem(*response));
  }
  // And a cursor of the unfiltered list is refused for a search.
  auto unfiltered = Request("GET", "/api/users?limit=1");
  ASSERT_TRUE(unfiltered);
  const std::string plain_cursor =
      UrlEncode(std::string(Parse(*unfiltered).at("next_cursor").as_string()));
  auto replay = Request("GET", "/api/users?limit=1&q=example&cursor=" + plain_cursor);
  ASSERT_TRUE(replay);
  EXPECT_EQ(replay->status, 400) << replay->body;
}

// --- 4. Optimistic concurrency ------------------------------------------------------------

TEST_F(UsersApiTest, ConcurrentPatchesWithTheSameIfMatchLetExactlyOneWin) {
  StartServer({"--threads", "2"});
  const std::int64_t id = CreateUser("race@example.com", "Race");
  ASSERT_GT(id, 0);
  constexpr int kRounds = 5;
  constexpr int kRacers = 4;
  for (int round = 0; round < kRounds; ++round) {
    SCOPED_TRACE("round " + std::to_string(round));
    const std::string etag = "\"v" + std::to_string(round + 1) + "\"";
    std::vector<std::unique_ptr<HttpClient>> clients;
    for (int i = 0; i < kRacers; ++i) {
      clients.push_back(std::make_unique<HttpClient>(port_));
      ASSERT_TRUE(clients.back()->Connect());
    }
    std::atomic<int> ready{0};
    std::vector<int> statuses(kRacers, 0);
    std::vector<std::jthread> racers;
    for (int i = 0; i < kRacers; ++i) {
      racers.emplace_back([&, i] {
        const std::string body = R"({"name":"Racer )" + std::to_string(i) + R"("})";
        ready.fetch_add(1);
        while (ready.load() < kRacers) std::this_thread::yield();
        auto response = clients[i]->Request(
            "PATCH", "/api/users/" + std::to_string(id), body,
            {admin_.Authorization(), {"Content-Type", "application/json"}, {"If-Match", etag}});
        statuses[i] = response ? response->status : -1;
      });
    }
    for (auto& racer : racers) racer.join();
    EXPECT_EQ(std::count(statuses.begin(), statuses.end(), 200), 1);
    EXPECT_EQ(std::count(statuses.begin(), statuses.end(), 412), kRacers - 1);
    EXPECT_EQ(schema_.Value("SELECT version FROM users WHERE id = " + std::to_string(id)),
              std::to_string(round + 2));
  }
  // The same for DELETE: one 204, the rest 412 (or 404 once it is gone).
  const std::string etag = "\"v" + std::to_string(kRounds + 1) + "\"";
  std::vector<int> statuses(kRacers, 0);
  std::vector<std::jthread> deleters;
  for (int i = 0; i < kRacers; ++i) {
    deleters.emplace_back([&, i] {
      auto response =
          Request("DELETE", "/api/users/" + std::to_string(id), {}, {{"If-Match", etag}});
      statuses[i] = response ? response->status : -1;
    });
  }
  for (auto& deleter : deleters) deleter.join();
  EXPECT_EQ(std::count(statuses.begin(), statuses.end(), 204), 1);
  EXPECT_EQ(std::count_if(statuses.begin(), statuses.end(),
                          [](int status) { return status == 404 || status == 412; }),
            kRacers - 1);
}

// --- 5. Injection ---------------------------------------------------------------------------

TEST_F(UsersApiTest, InjectionStringsAreJustData) {
  StartServer();
  const std::vector<std::string> names = {
      "'; DROP TABLE users; --",
      "\" OR 1=1 --",
      "\\",
      "\\'",
      "%_",
      "Robert'); DELETE FROM users WHERE ('1'='1",
      "$1::text",
      "NULL",
      "日本語 テスト 🎉",
      "<script>alert(1)</script>",
  };
  std::map<std::int64_t, std::string> stored;
  int serial = 0;
  for (const auto& name : names) {
    SCOPED_TRACE(name);
    const std::int64_t id = CreateUser("inj" + std::to_string(serial++) + "@example.com", name);
    ASSERT_GT(id, 0);
    stored[id] = name;
  }
  const std::vector<std::string> emails = {"o'brien@example.com", "x'--@example.com",
                                           "a%_b@example.com",    "back\\slash@example.com",
                                           "ünïcødé@example.com", "\"or\"1=1@example.com"};
  for (const auto& email : emails) {
    SCOPED_TRACE(email);
    const std::int64_t id = CreateUser(email, "Email Case");
    ASSERT_GT(id, 0);
    auto read = Request("GET", "/api/users/" + std::to_string(id));
    ASSERT_TRUE(read);
    EXPECT_EQ(Str(Parse(*read), "email"), email);
  }
  for (const std::string email :
       {"a@b.com'; DROP TABLE users; --", "a@example.com' OR '1'='1", "' OR 1=1 --"}) {
    SCOPED_TRACE(email);
    auto response = Post(R"({"email":)" + JsonString(email) + R"(,"name":"N"})");
    ASSERT_TRUE(response);
    EXPECT_EQ(response->status, 422) << response->body;
  }
  for (const auto& [id, name] : stored) {
    SCOPED_TRACE(name);
    auto read = Request("GET", "/api/users/" + std::to_string(id));
    ASSERT_TRUE(read);
    ASSERT_EQ(read->status, 200);
    EXPECT_EQ(Str(Parse(*read), "name"), name);
    // Searching for the name finds exactly the row that holds it (and "%_" also finds
    // a%_b@example.com's row by its email).
    auto found = Request("GET", "/api/users?limit=100&q=" + UrlEncode(name));
    ASSERT_TRUE(found);
    ASSERT_EQ(found->status, 200) << found->body;
    bool has_it = false;
    const json::value found_body = Parse(*found);
    for (const auto& item : found_body.at("items").as_array()) {
      const std::string item_name(item.at("name").as_string());
      const std::string item_email(item.at("email").as_string());
      EXPECT_TRUE(item_name.find(name) != std::string::npos ||
                  item_email.find(name) != std::string::npos)
          << "q matched " << item_name << " / " << item_email;
      has_it = has_it || item.at("id").as_int64() == id;
    }
    EXPECT_TRUE(has_it) << found->body;
    auto renamed = Patch(id, R"({"name":)" + JsonString(name + "'--") + "}");
    ASSERT_TRUE(renamed);
    EXPECT_EQ(renamed->status, 200) << renamed->body;
    EXPECT_EQ(Str(Parse(*renamed), "name"), name + "'--");
  }
  for (const std::string cursor : {"' OR 1=1 --", "1; DROP TABLE users", "%_", "\\"}) {
    auto response = Request("GET", "/api/users?cursor=" + UrlEncode(cursor));
    ASSERT_TRUE(response);
    EXPECT_EQ(response->status, 400) << cursor << ": " << response->body;
  }
  for (const std::string id : {"1; DROP TABLE users", "1 OR 1=1", "1'--", "%_", "\\"}) {
    for (const std::string method : {"GET", "DELETE"}) {
      auto response = Request(method, "/api/users/" + UrlEncode(id));
      ASSERT_TRUE(response);
      EXPECT_EQ(response->status, 404) << method << " " << id << ": " << response->body;
    }
  }
  EXPECT_EQ(schema_.Value("SELECT to_regclass('users') IS NOT NULL"), "t");
  EXPECT_EQ(UserCount(), std::to_string(names.size() + emails.size()));
}

// --- 6, 7. Pool exhaustion and statement timeouts ------------------------------------------

// Backends of the test database waiting for a lock on `schema`.users, other than ours.
std::string LockWaitersQuery(const std::string& schema, int holder_pid) {
  return "SELECT count(*) FROM pg_stat_activity a JOIN pg_locks l ON l.pid = a.pid "
         "WHERE a.datname = current_database() AND a.pid <> pg_backend_pid() AND a.pid <> " +
         std::to_string(holder_pid) + " AND NOT l.granted AND l.relation = '" + schema +
         ".users'::regclass";
}

TEST_F(UsersApiTest, ExhaustedPoolAnswers503QuicklyAndRecovers) {
  // --cache off: these reads must each reach the database (the cache would make one).
  StartServer({"--cache", "off", "--db-pool-size", "1", "--db-max-overflow", "0",
               "--db-pipeline-depth", "1", "--db-pool-timeout", "300ms", "--threads", "1",
               "--db-statement-timeout", "10s", "--request-timeout", "10s"});
  // Through SQL: with one connection, a POST could meet the readiness probe on it.
  const std::string id = schema_.Value(
      "INSERT INTO users (email, name, password_hash) VALUES ('pool@example.com', 'Pool', '!') "
      "RETURNING id");
  const std::string path = "/api/users/" + id;
  ASSERT_TRUE(Eventually(
      [&] {
        auto response = Request("GET", path);
        return response && response->status == 200;
      },
      10s));

  PgSession locker(schema_.url());
  ASSERT_TRUE(locker.connected());
  ASSERT_EQ(locker.Exec("BEGIN"), "");
  ASSERT_EQ(locker.Exec("LOCK TABLE users IN ACCESS EXCLUSIVE MODE"), "");

  // The first request takes the only connection and waits for the lock...
  std::optional<HttpResponse> holder;
  std::atomic<bool> holder_done{false};
  std::jthread holder_thread([&] {
    holder = Request("GET", path);
    holder_done = true;
  });
  const std::string waiters = LockWaitersQuery(schema_.name(), locker.backend_pid());
  EXPECT_TRUE(Eventually([&] { return schema_.Value(waiters) == "1"; }, 10s))
      << "myriad's query waits for the lock";

  // ...so the others find no room and are turned away after the pool timeout.
  constexpr int kClients = 4;
  std::vector<std::optional<HttpResponse>> responses(kClients);
  std::vector<Clock::duration> took(kClients);
  std::vector<std::jthread> clients;
  for (int i = 0; i < kClients; ++i) {
    clients.emplace_back([&, i] {
      const auto start = Clock::now();
      responses[i] = Request("GET", path);
      took[i] = Clock::now() - start;
    });
  }
  for (auto& client : clients) client.join();
  int unavailable = 0;
  for (int i = 0; i < kClients; ++i) {
    ASSERT_TRUE(responses[i]) << "client " << i;
    if (responses[i]->status != 503) continue;
    ++unavailable;
    EXPECT_TRUE(responses[i]->Header("Retry-After").has_value());
    EXPECT_TRUE(IsProblem(*responses[i])) << responses[i]->body;
    EXPECT_LT(took[i], 5s) << "a 503 comes about after the pool timeout, not the request's";
  }
  EXPECT_GE(unavailable, 1);
  EXPECT_FALSE(holder_done.load()) << "the first request still waits for the lock";

  ASSERT_EQ(locker.Exec("ROLLBACK"), "");
  holder_thread.join();
  ASSERT_TRUE(holder);
  EXPECT_EQ(holder->status, 200) << holder->body;
  EXPECT_TRUE(Eventually(
      [&] {
        auto response = Request("GET", path);
        return response && response->status == 200;
      },
      5s));
  for (int i = 0; i < kClients; ++i) {
    auto response = Request("GET", path);
    ASSERT_TRUE(response);
    EXPECT_EQ(response->status, 200) << response->body;
  }
}

TEST_F(UsersApiTest, StatementTimeoutAnswers504AndCancelsTheQueryOnTheServer) {
  // No in-process cache: the read of the user just created must reach the locked table.
  StartServer({"--db-statement-timeout", "500ms", "--request-timeout", "5s", "--threads", "1",
               "--cache-local-entries", "0"});
  const std::int64_t id = CreateUser("slow@example.com", "Slow");
  ASSERT_GT(id, 0);
  const std::string path = "/api/users/" + std::to_string(id);

  PgSession locker(schema_.url());
  ASSERT_TRUE(locker.connected());
  ASSERT_EQ(locker.Exec("BEGIN"), "");
  ASSERT_EQ(locker.Exec("LOCK TABLE users IN ACCESS EXCLUSIVE MODE"), "");

  for (const std::string& target : {path, std::string("/api/users?limit=5")}) {
    SCOPED_TRACE(target);
    const auto start = Clock::now();
    auto response = Request("GET", target);
    const auto took = Clock::now() - start;
    ASSERT_TRUE(response);
    EXPECT_EQ(response->status, 504) << response->body;
    EXPECT_TRUE(IsProblem(*response)) << response->body;
    EXPECT_GE(took, 400ms);
    EXPECT_LT(took, 4s);
  }
  auto write = Patch(id, R"({"name":"Never"})");
  ASSERT_TRUE(write);
  EXPECT_EQ(write->status, 504) << write->body;

  // The cancel reached the server: no myriad query is left waiting for the lock.
  const std::string waiters = LockWaitersQuery(schema_.name(), locker.backend_pid());
  std::string last;
  EXPECT_TRUE(Eventually(
      [&] {
        last = schema_.Value(waiters);
        return last == "0";
      },
      3s))
      << last << " backend(s) still wait for the lock";

  ASSERT_EQ(locker.Exec("ROLLBACK"), "");
  EXPECT_TRUE(Eventually(
      [&] {
        auto response = Request("GET", path);
        return response && response->status == 200;
      },
      5s));
  EXPECT_EQ(schema_.Value("SELECT name FROM users WHERE id = " + std::to_string(id)), "Slow")
      << "the timed-out PATCH was not applied later";
}

// --- 8. Database down and back ---------------------------------------------------------------

// Runs `bash scripts/pg.sh ARGS`; returns the last line of its output, or nullopt when it
// failed.
std::optional<std::string> PgScript(const std::string& args) {
  const std::string command =
      "bash " + std::string(MYRIAD_SOURCE_DIR) + "/scripts/pg.sh " + args + " 2>/dev/null";
  FILE* pipe = popen(command.c_str(), "r");
  if (pipe == nullptr) return std::nullopt;
  std::string output;
  char buffer[512];
  while (fgets(buffer, sizeof buffer, pipe) != nullptr) output += buffer;
  const int status = pclose(pipe);
  if (status != 0) return std::nullopt;
  while (!output.empty() && output.back() == '\n') output.pop_back();
  const auto newline = output.rfind('\n');
  return newline == std::string::npos ? output : output.substr(newline + 1);
}

// A PostgreSQL cluster of the test's own, destroyed with its files at the end.
class PrivateCluster {
 public:
  PrivateCluster() {
    std::random_device device;
    dir_ = (std::filesystem::temp_directory_path() /
            ("myriad_pg_" + std::to_string(std::mt19937_64(device())() % 1'000'000'000ULL)))
               .string();
    if (auto url = PgScript("start " + dir_)) url_ = *url;
  }
  ~PrivateCluster() {
    EXPECT_TRUE(PgScript("destroy " + dir_)) << dir_;
    std::error_code ignored;
    std::filesystem::remove_all(dir_, ignored);
  }
  PrivateCluster(const PrivateCluster&) = delete;
  PrivateCluster& operator=(const PrivateCluster&) = delete;

  const std::string& url() const { return url_; }
  bool Stop() const { return PgScript("stop " + dir_).has_value(); }
  bool Start() const { return PgScript("start " + dir_).has_value(); }

 private:
  std::string dir_;
  std::string url_;
};

TEST(UsersApiRecovery, ServesAgainAfterTheDatabaseRestartsWithoutLeakingConnections) {
  PrivateCluster cluster;
  ASSERT_FALSE(cluster.url().empty()) << "scripts/pg.sh start failed";
  // The cluster is ours alone: the cluster's default schema will do.
  constexpr int kPoolSize = 2;
  constexpr int kOverflow = 1;
  MyriadServer server(
      cluster.url(),
      {"--cache", "off", "--threads", "1", "--db-pool-size", std::to_string(kPoolSize),
       "--db-max-overflow", std::to_string(kOverflow), "--db-pool-timeout", "300ms",
       "--db-statement-timeout", "1s", "--db-connect-timeout", "1s", "--request-timeout", "2s"});
  const std::uint16_t port = server.port();
  ASSERT_NE(port, 0) << server.output();
  const auto admin = MakeAccount(cluster.url(), port, true);
  ASSERT_TRUE(admin);
  const Headers as_admin = {admin->Authorization()};
  auto created = Call(port, "POST", "/api/users", R"({"email":"up@example.com","name":"Up"})",
                      admin->Headers());
  ASSERT_TRUE(created);
  ASSERT_EQ(created->status, 201) << created->body;
  const std::string path = "/api/users/" + std::to_string(Int(Parse(*created), "id"));

  struct Tally {
    std::mutex mutex;
    std::map<int, int> statuses;  // -1: no HTTP answer
    Clock::duration slowest{};
    int last_status = 0;
  } tally;
  std::atomic<bool> stop{false};
  auto loop = [&] {
    HttpClient client(port);
    while (!stop.load()) {
      if (!client.connected() && !client.Connect()) {
        std::lock_guard lock(tally.mutex);
        ++tally.statuses[-1];
        continue;
      }
      const auto start = Clock::now();
      auto response = client.Request("GET", path, {}, as_admin);
      const auto took = Clock::now() - start;
      std::lock_guard lock(tally.mutex);
      const int status = response ? response->status : -1;
      ++tally.statuses[status];
      tally.last_status = status;
      tally.slowest = std::max(tally.slowest, took);
      if (!response || response->Header("Connection").value_or("") == "close") client.Close();
    }
  };
  auto count = [&](int status) {
    std::lock_guard lock(tally.mutex);
    return tally.statuses[status];
  };
  auto ready_status = [&] {
    auto ready = Call(port, "GET", "/api/ready");
    return ready ? ready->status : -1;
  };
  std::jthread traffic[2] = {std::jthread(loop), std::jthread(loop)};
  const SetOnExit stop_traffic{stop};

  EXPECT_TRUE(Eventually([&] { return count(200) >= 5; }, 10s));
  EXPECT_TRUE(Eventually([&] { return ready_status() == 200; }, 5s));
  ASSERT_TRUE(cluster.Stop());
  EXPECT_TRUE(Eventually([&] { return count(503) >= 3; }, 10s)) << "requests fail with 503";
  int last_ready = 0;
  EXPECT_TRUE(Eventually(
      [&] {
        last_ready = ready_status();
        return last_ready == 503;
      },
      5s))
      << "/api/ready follows; last answer " << last_ready;
  const auto down_start = Clock::now();
  auto down = Call(port, "GET", path, {}, as_admin);
  EXPECT_TRUE(down)
      << "no answer after "
      << std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now() - down_start).count()
      << " ms";
  if (down) {
    EXPECT_EQ(down->status, 503) << down->body;
    EXPECT_TRUE(IsProblem(*down));
  }

  ASSERT_TRUE(cluster.Start());
  const auto restarted = Clock::now();
  EXPECT_TRUE(Eventually(
      [&] {
        std::lock_guard lock(tally.mutex);
        return tally.last_status == 200;
      },
      20s))
      << "requests succeed again without restarting myriad";
  std::cerr
      << "requests succeeded again "
      << std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now() - restarted).count()
      << " ms after the restart\n";
  EXPECT_TRUE(Eventually([&] { return ready_status() == 200; }, 10s));
  const int ok_after = count(200);
  EXPECT_TRUE(Eventually([&] { return count(200) >= ok_after + 5; }, 10s));
  stop = true;
  for (auto& thread : traffic) thread.join();

  {
    std::lock_guard lock(tally.mutex);
    for (const auto& [status, times] : tally.statuses) {
      std::cerr << "status " << status << ": " << times << " times\n";
    }
  }
  {
    std::lock_guard lock(tally.mutex);
    for (const auto& [status, times] : tally.statuses) {
      EXPECT_TRUE(status == 200 || status == 503 || status == 504)
          << times << " answer(s) with status " << status << " (-1: none)";
    }
    EXPECT_LT(tally.slowest, 3500ms) << "every request ends within the request timeout";
  }
  auto metrics = Call(port, "GET", "/metrics");
  ASSERT_TRUE(metrics);
  EXPECT_GT(MetricValue(metrics->body, "myriad_db_reconnects_total"), 0) << metrics->body;
  std::string backends;
  ASSERT_EQ(Sql(cluster.url(),
                "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() AND "
                "backend_type = 'client backend' AND pid <> pg_backend_pid()",
                &backends),
            "");
  EXPECT_GE(std::stoi(backends), 1);
  // +1: the search index flusher's connection of its own.
  EXPECT_LE(std::stoi(backends), kPoolSize + kOverflow + 1) << "no leaked connections";
}

}  // namespace
}  // namespace myriad::testing

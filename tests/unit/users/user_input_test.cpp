#include "users/user_input.hpp"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace myriad::users {
namespace {

using http::ErrorCode;

// "field:code" pairs of a 422, in order; fails the test on any other outcome.
template <class T>
std::vector<std::string> FieldErrors(const core::Result<T, http::Error>& result) {
  std::vector<std::string> out;
  if (result.has_value()) {
    ADD_FAILURE() << "expected a validation error";
    return out;
  }
  EXPECT_EQ(result.error().code, ErrorCode::kValidation) << result.error().detail;
  EXPECT_FALSE(result.error().detail.empty());
  for (const auto& e : result.error().errors) {
    EXPECT_FALSE(e.message.empty()) << e.field << ":" << e.code;
    EXPECT_EQ(e.message.back(), '.') << "messages are sentences: " << e.message;
    out.push_back(e.field + ":" + e.code);
  }
  return out;
}

std::vector<std::string> CreateErrors(std::string_view body) {
  return FieldErrors(ParseCreateUser(body));
}
std::vector<std::string> UpdateErrors(std::string_view body) {
  return FieldErrors(ParseUpdateUser(body));
}

using Codes = std::vector<std::string>;

// A body with `key` set to the JSON `value` on top of a valid create body.
std::string CreateWith(const std::string& key, const std::string& value) {
  std::string body = R"({"email":"a@example.com","name":"Ada")";
  if (key != "email" && key != "name") return body + ",\"" + key + "\":" + value + "}";
  if (key == "email") return R"({"name":"Ada","email":)" + value + "}";
  return R"({"email":"a@example.com","name":)" + value + "}";
}

// ---- NormalizeEmail --------------------------------------------------------------------

TEST(NormalizeEmailTest, TrimsAndLowerCases) {
  EXPECT_EQ(NormalizeEmail("Ada@Example.COM"), "ada@example.com");
  EXPECT_EQ(NormalizeEmail("  ada@example.com\t\r\n"), "ada@example.com");
  EXPECT_EQ(NormalizeEmail("a.b+tag@sub.example.co.uk"), "a.b+tag@sub.example.co.uk");
  EXPECT_EQ(NormalizeEmail("x@a-b.c1"), "x@a-b.c1");
  EXPECT_EQ(NormalizeEmail("x@xn--bcher-kva.example"), "x@xn--bcher-kva.example");
  // Non-ASCII local part: kept as is (only ASCII is lower-cased).
  EXPECT_EQ(NormalizeEmail("J\xC3\x96rg@Example.com"), "j\xC3\x96rg@example.com");
}

TEST(NormalizeEmailTest, LengthLimits) {
  const std::string local64(64, 'a');
  EXPECT_TRUE(NormalizeEmail(local64 + "@example.com").has_value());
  EXPECT_FALSE(NormalizeEmail(local64 + "a@example.com").has_value());

  const std::string label63(63, 'b');
  EXPECT_TRUE(NormalizeEmail("a@" + label63 + ".com").has_value());
  EXPECT_FALSE(NormalizeEmail("a@" + label63 + "b.com").has_value());

  // With a one-byte local part the 254-byte total leaves 252 bytes for the domain.
  const std::string domain252 =
      label63 + "." + label63 + "." + label63 + "." + std::string(60, 'c');
  ASSERT_EQ(domain252.size(), 252u);
  EXPECT_TRUE(NormalizeEmail("a@" + domain252).has_value());
  EXPECT_FALSE(NormalizeEmail("a@" + domain252 + "c").has_value());
  EXPECT_FALSE(NormalizeEmail("a@" + domain252 + ".cc").has_value());

  // Total 254 is the limit even when each part is within its own.
  const std::string at254 =
      std::string(64, 'a') + "@" + label63 + "." + label63 + "." + std::string(61, 'd');
  ASSERT_EQ(at254.size(), 254u);
  EXPECT_TRUE(NormalizeEmail(at254).has_value());
  const std::string at255 =
      std::string(64, 'a') + "@" + label63 + "." + label63 + "." + std::string(62, 'd');
  EXPECT_FALSE(NormalizeEmail(at255).has_value());
}

TEST(NormalizeEmailTest, RejectsImplausibleAddresses) {
  for (const char* text : {
           "",
           "   ",
           "plain",
           "@example.com",
           "a@",
           "a@@example.com",
           "a@b@example.com",
           "a@localhost",
           "a@example.",
           "a@.example.com",
           "a@example..com",
           "a@-example.com",
           "a@example-.com",
           "a@exa_mple.com",
           "a@exa mple.com",
           "a b@example.com",
           "a\tb@example.com",
           "a\x01@example.com",
           "a\x7F@example.com",
           "a\xC2\x85@example.com",  // C1 NEL
           "a@ex\xC3\xA4mple.com",   // IDN not in punycode
           "a@example.com.",
           "a@[127.0.0.1]",
       }) {
    EXPECT_FALSE(NormalizeEmail(text).has_value()) << text;
  }
}

// ---- body syntax (400) -----------------------------------------------------------------

TEST(UserInputTest, NotJsonIsBadRequestSayingWhere) {
  for (const char* body :
       {"", " ", "{", "{\"email\":", "{\"a\":1,}", "nul", "{'a':1}", "{\"a\":1} x", "{\"a\":1}{}",
        "{\"a\":\"\xFF\"}", "/*c*/{}", "{\"a\":\"\x01\"}"}) {
    SCOPED_TRACE(body);
    const auto create = ParseCreateUser(body);
    ASSERT_FALSE(create.has_value());
    EXPECT_EQ(create.error().code, ErrorCode::kBadRequest);
    EXPECT_THAT(create.error().detail, testing::HasSubstr("not valid JSON"));
    EXPECT_THAT(create.error().detail, testing::HasSubstr("at byte"));
    EXPECT_TRUE(create.error().errors.empty());
    const auto update = ParseUpdateUser(body);
    ASSERT_FALSE(update.has_value());
    EXPECT_EQ(update.error().code, ErrorCode::kBadRequest);
  }
  EXPECT_THAT(ParseCreateUser("{\"a\":1,}").error().detail, testing::HasSubstr("at byte 7"));
}

TEST(UserInputTest, JsonThatIsNotAnObjectIsBadRequest) {
  for (const char* body : {"[]", "[{}]", "\"x\"", "1", "true", "null", " [ ] "}) {
    SCOPED_TRACE(body);
    const auto r = ParseUpdateUser(body);
    ASSERT_FALSE(r.has_value());
    EXPECT_EQ(r.error().code, ErrorCode::kBadRequest);
    EXPECT_THAT(r.error().detail, testing::HasSubstr("JSON object"));
    EXPECT_EQ(ParseCreateUser(body).error().code, ErrorCode::kBadRequest);
  }
}

TEST(UserInputTest, NestingLimitIs32) {
  const auto nested = [](int depth) {
    return "{\"x\":" + std::string(depth - 1, '[') + std::string(depth - 1, ']') + "}";
  };
  // 32 levels: the outer object plus 31 arrays; an unknown field, but not too deep.
  EXPECT_EQ(UpdateErrors(nested(32)), Codes{"x:unknown_field"});
  const auto deep = ParseUpdateUser(nested(33));
  ASSERT_FALSE(deep.has_value());
  EXPECT_EQ(deep.error().code, ErrorCode::kBadRequest);
  EXPECT_THAT(deep.error().detail, testing::HasSubstr("32"));
  // Far deeper input must not exhaust the stack.
  EXPECT_EQ(ParseCreateUser(std::string(100000, '[')).error().code, ErrorCode::kBadRequest);
}

// ---- create ----------------------------------------------------------------------------

TEST(UserInputTest, CreateMinimal) {
  const auto r = ParseCreateUser(R"({"email":" Ada@Example.com ","name":"  Ada Lovelace \t"})");
  ASSERT_TRUE(r.has_value()) << r.error().detail;
  EXPECT_EQ(r->email, "ada@example.com");
  EXPECT_EQ(r->name, "Ada Lovelace");
  EXPECT_FALSE(r->password.has_value());
  EXPECT_EQ(r->role, Role::kUser);
  EXPECT_EQ(r->status, Status::kActive);
}

TEST(UserInputTest, CreateFull) {
  const auto r =
      ParseCreateUser(R"({"status":"disabled","role":"admin","password":"  secret pw  ",)"
                      R"("name":"Gr\u00e5 \"G\" \\o/","email":"g@example.org"})");
  ASSERT_TRUE(r.has_value()) << r.error().detail;
  EXPECT_EQ(r->email, "g@example.org");
  EXPECT_EQ(r->name, "Gr\xC3\xA5 \"G\" \\o/");
  EXPECT_EQ(r->password, "  secret pw  ");  // passwords are not trimmed
  EXPECT_EQ(r->role, Role::kAdmin);
  EXPECT_EQ(r->status, Status::kDisabled);
}

TEST(UserInputTest, CreateRequiresEmailAndName) {
  EXPECT_EQ(CreateErrors("{}"), (Codes{"email:required", "name:required"}));
  EXPECT_EQ(CreateErrors(R"({"name":"Ada"})"), Codes{"email:required"});
  EXPECT_EQ(CreateErrors(R"({"email":"a@example.com"})"), Codes{"name:required"});
  EXPECT_EQ(CreateErrors(R"({"password":"longenough"})"),
            (Codes{"email:required", "name:required"}));
}

TEST(UserInputTest, WrongTypesAndNull) {
  for (const char* field : {"email", "name", "password", "role", "status"}) {
    for (const char* value : {"null", "1", "1.5", "-3", "true", "false", "[]", "{}",
                              "[\"a@example.com\"]", "{\"x\":\"y\"}"}) {
      SCOPED_TRACE(std::string(field) + "=" + value);
      EXPECT_EQ(CreateErrors(CreateWith(field, value)),
                Codes{std::string(field) + ":invalid_type"});
      EXPECT_EQ(UpdateErrors("{\"" + std::string(field) + "\":" + value + "}"),
                Codes{std::string(field) + ":invalid_type"});
    }
  }
}

TEST(UserInputTest, EmailErrors) {
  EXPECT_EQ(CreateErrors(CreateWith("email", "\"nope\"")), Codes{"email:invalid"});
  EXPECT_EQ(CreateErrors(CreateWith("email", "\"\"")), Codes{"email:invalid"});
  EXPECT_EQ(CreateErrors(CreateWith("email", "\"a@b\"")), Codes{"email:invalid"});
  EXPECT_EQ(CreateErrors(CreateWith("email", "\"a\\u0000@example.com\"")), Codes{"email:invalid"});
  EXPECT_EQ(CreateErrors(CreateWith("email", "\"" + std::string(250, 'a') + "@example.com\"")),
            Codes{"email:too_long"});
  EXPECT_EQ(UpdateErrors(R"({"email":"x"})"), Codes{"email:invalid"});
}

TEST(UserInputTest, NameRules) {
  const auto name_of = [](const std::string& json_value) {
    const auto r = ParseCreateUser(CreateWith("name", json_value));
    return r.has_value() ? r->name : "<error>";
  };
  EXPECT_EQ(name_of("\"A\""), "A");
  EXPECT_EQ(name_of("\" \\t A B \\n\""), "A B");
  // 200 code points of 2, 3 and 4 bytes each are fine; 201 are not.
  for (const std::string cp : {"a", "\xC3\xA9", "\xE6\x97\xA5", "\xF0\x9F\x98\x80"}) {
    std::string name200;
    for (int i = 0; i < 200; ++i) name200 += cp;
    EXPECT_EQ(name_of("\"" + name200 + "\""), name200);
    EXPECT_EQ(CreateErrors(CreateWith("name", "\"" + name200 + cp + "\"")), Codes{"name:too_long"});
  }
  // Trimming happens before the length check.
  EXPECT_EQ(name_of("\"   " + std::string(200, 'x') + "   \""), std::string(200, 'x'));

  EXPECT_EQ(CreateErrors(CreateWith("name", "\"\"")), Codes{"name:too_short"});
  EXPECT_EQ(CreateErrors(CreateWith("name", "\" \\t\\r\\n \"")), Codes{"name:too_short"});
  for (const char* control : {"\\u0000", "\\u0001", "\\t", "\\n", "\\u001f", "\\u007f", "\\u0080",
                              "\\u0085", "\\u009f"}) {
    EXPECT_EQ(CreateErrors(CreateWith("name", std::string("\"a") + control + "b\"")),
              Codes{"name:invalid"})
        << control;
  }
  // U+00A0 and U+2028 are not control characters.
  EXPECT_EQ(name_of("\"a\\u00a0b\\u2028c\""),
            "a\xC2\xA0"
            "b\xE2\x80\xA8"
            "c");
}

TEST(UserInputTest, PasswordLengthInCodePoints) {
  const auto password_of = [](const std::string& password) -> std::string {
    const auto r = ParseCreateUser(CreateWith("password", "\"" + password + "\""));
    return r.has_value() ? r->password.value_or("<absent>") : "<error>";
  };
  EXPECT_EQ(password_of("12345678"), "12345678");
  EXPECT_EQ(CreateErrors(CreateWith("password", "\"1234567\"")), Codes{"password:too_short"});
  EXPECT_EQ(CreateErrors(CreateWith("password", "\"\"")), Codes{"password:too_short"});
  // Four 4-byte code points are 16 bytes but still too short.
  EXPECT_EQ(CreateErrors(CreateWith("password",
                                    "\"\xF0\x9F\x98\x80\xF0\x9F\x98\x80\xF0\x9F\x98"
                                    "\x80\xF0\x9F\x98\x80\"")),
            Codes{"password:too_short"});
  std::string pw128;
  for (int i = 0; i < 128; ++i) pw128 += "\xC3\xA9";
  EXPECT_EQ(password_of(pw128), pw128);
  EXPECT_EQ(CreateErrors(CreateWith("password", "\"" + pw128 + "e\"")), Codes{"password:too_long"});
  EXPECT_EQ(UpdateErrors("{\"password\":\"" + std::string(129, 'p') + "\"}"),
            Codes{"password:too_long"});
}

TEST(UserInputTest, RoleAndStatusValues) {
  EXPECT_EQ(CreateErrors(CreateWith("role", "\"root\"")), Codes{"role:unknown_value"});
  EXPECT_EQ(CreateErrors(CreateWith("role", "\"Admin\"")), Codes{"role:unknown_value"});
  EXPECT_EQ(CreateErrors(CreateWith("status", "\"enabled\"")), Codes{"status:unknown_value"});
  EXPECT_EQ(CreateErrors(CreateWith("status", "\"\"")), Codes{"status:unknown_value"});
  const auto r = ParseCreateUser(CreateWith("role", "\"user\""));
  ASSERT_TRUE(r.has_value());
  EXPECT_EQ(r->role, Role::kUser);
}

TEST(UserInputTest, UnknownFieldsAreReported) {
  EXPECT_EQ(CreateErrors(CreateWith("emial", "\"x\"")), Codes{"emial:unknown_field"});
  EXPECT_EQ(CreateErrors(CreateWith("id", "1")), Codes{"id:unknown_field"});
  EXPECT_EQ(CreateErrors(CreateWith("Email", "\"a@example.com\"")), Codes{"Email:unknown_field"});
  EXPECT_EQ(UpdateErrors(R"({"version":3})"), Codes{"version:unknown_field"});
  EXPECT_EQ(UpdateErrors(R"({"":1})"), Codes{":unknown_field"});
  // Nested keys are not fields of the user.
  EXPECT_EQ(UpdateErrors(R"({"x":{"email":"a@example.com","email":1}})"), Codes{"x:unknown_field"});
  // Escaped key spellings are decoded before comparing.
  const auto r = ParseUpdateUser(R"({"n\u0061me":"Bob"})");
  ASSERT_TRUE(r.has_value());
  EXPECT_EQ(r->name, "Bob");
}

TEST(UserInputTest, DuplicateFieldsAreReportedOnce) {
  EXPECT_EQ(CreateErrors(R"({"email":"a@example.com","name":"A","email":"b@example.com"})"),
            Codes{"email:duplicate_field"});
  EXPECT_EQ(UpdateErrors(R"({"name":"A","name":"A","name":"B"})"), Codes{"name:duplicate_field"});
  // A duplicate of an unknown key is one unknown_field.
  EXPECT_EQ(UpdateErrors(R"({"x":1,"x":2,"name":"A"})"), Codes{"x:unknown_field"});
  // Duplicates hide no other error: every bad field is listed, in body order.
  EXPECT_EQ(
      CreateErrors(R"({"role":"x","name":"","name":"A","zz":1})"),
      (Codes{"role:unknown_value", "name:duplicate_field", "zz:unknown_field", "email:required"}));
}

TEST(UserInputTest, ManyErrorsTogether) {
  const auto r = ParseCreateUser(
      R"({"email":5,"name":"\u0007","password":"short","role":"god","status":null,"x":0})");
  EXPECT_EQ(FieldErrors(r),
            (Codes{"email:invalid_type", "name:invalid", "password:too_short", "role:unknown_value",
                   "status:invalid_type", "x:unknown_field"}));
  EXPECT_EQ(r.error().detail, "The request has invalid fields.");
  // A single error's sentence doubles as the detail.
  const auto one = ParseCreateUser(R"({"name":"Ada"})");
  ASSERT_FALSE(one.has_value());
  EXPECT_EQ(one.error().detail, one.error().errors.at(0).message);
}

// ---- update ----------------------------------------------------------------------------

TEST(UserInputTest, UpdateOnlyPresentFields) {
  const auto r = ParseUpdateUser(R"({"name":" Bob "})");
  ASSERT_TRUE(r.has_value());
  EXPECT_FALSE(r->empty());
  EXPECT_EQ(r->name, "Bob");
  EXPECT_FALSE(r->email || r->password || r->role || r->status);

  const auto all = ParseUpdateUser(
      R"({"email":"B@Example.com","name":"B","password":"12345678","role":"admin","status":"disabled"})");
  ASSERT_TRUE(all.has_value());
  EXPECT_EQ(all->email, "b@example.com");
  EXPECT_EQ(all->password, "12345678");
  EXPECT_EQ(all->role, Role::kAdmin);
  EXPECT_EQ(all->status, Status::kDisabled);

  const auto status_only = ParseUpdateUser(R"({"status":"active"})");
  ASSERT_TRUE(status_only.has_value());
  EXPECT_EQ(status_only->status, Status::kActive);
}

TEST(UserInputTest, UpdateWithNoFieldsIsEmpty) {
  EXPECT_EQ(UpdateErrors("{}"), Codes{":empty"});
  EXPECT_EQ(UpdateErrors(" { } "), Codes{":empty"});
  // Unknown fields are reported as such, not as an empty update.
  EXPECT_EQ(UpdateErrors(R"({"nmae":"x"})"), Codes{"nmae:unknown_field"});
}

TEST(UserInputTest, UpdateDoesNotRequireFields) {
  EXPECT_EQ(UpdateErrors(R"({"name":""})"), Codes{"name:too_short"});
}

}  // namespace
}  // namespace myriad::users

#include "users/user.hpp"

#include <gtest/gtest.h>

#include <boost/json/parse.hpp>
#include <boost/json/value.hpp>
#include <cstdint>
#include <limits>
#include <string>
#include <vector>

namespace myriad::users {
namespace {

User SampleUser() {
  User u;
  u.id = 42;
  u.email = "ada@example.com";
  u.name = "Ada Lovelace";
  u.role = Role::kAdmin;
  u.status = Status::kDisabled;
  u.email_verified = true;
  u.created_at = "2026-11-29T08:01:23.123456Z";
  u.updated_at = "2026-11-29T09:00:00.000000Z";
  u.version = 7;
  return u;
}

TEST(UserTest, RoleAndStatusSpellingsRoundTrip) {
  EXPECT_EQ(ToString(Role::kUser), "user");
  EXPECT_EQ(ToString(Role::kAdmin), "admin");
  EXPECT_EQ(ToString(Status::kActive), "active");
  EXPECT_EQ(ToString(Status::kDisabled), "disabled");
  for (Role r : {Role::kUser, Role::kAdmin}) EXPECT_EQ(ParseRole(ToString(r)), r);
  for (Status s : {Status::kActive, Status::kDisabled}) EXPECT_EQ(ParseStatus(ToString(s)), s);
}

TEST(UserTest, ParseRejectsOtherSpellings) {
  for (const char* text : {"", "Admin", "USER", " user", "user ", "root", "active"}) {
    EXPECT_FALSE(ParseRole(text).has_value()) << text;
  }
  for (const char* text : {"", "Active", "DISABLED", "enabled", "user", "active\n"}) {
    EXPECT_FALSE(ParseStatus(text).has_value()) << text;
  }
}

TEST(UserTest, ToJsonHasEveryFieldInOrder) {
  EXPECT_EQ(
      ToJson(SampleUser()),
      R"({"id":42,"email":"ada@example.com","name":"Ada Lovelace","role":"admin",)"
      R"("status":"disabled","email_verified":true,"created_at":"2026-11-29T08:01:23.123456Z",)"
      R"("updated_at":"2026-11-29T09:00:00.000000Z","version":7})");
}

TEST(UserTest, PublicJsonShowsOnlyIdNameAndCreation) {
  User u = SampleUser();
  u.name = "Ada \"Q\"";
  EXPECT_EQ(ToPublicJson(u),
            R"({"id":42,"name":"Ada \"Q\"","created_at":"2026-11-29T08:01:23.123456Z"})");
}

TEST(UserTest, ToJsonExtremeNumbers) {
  User u = SampleUser();
  u.id = std::numeric_limits<std::int64_t>::max();
  u.version = std::numeric_limits<std::int32_t>::max();
  const boost::json::value v = boost::json::parse(ToJson(u));
  EXPECT_EQ(v.at("id").as_int64(), std::numeric_limits<std::int64_t>::max());
  EXPECT_EQ(v.at("version").as_int64(), std::numeric_limits<std::int32_t>::max());
}

TEST(UserTest, ToJsonEscapesNames) {
  std::string control;
  for (int c = 0; c < 0x20; ++c) control += static_cast<char>(c);
  control += '\x7f';
  const std::vector<std::string> names = {
      "quote \" inside",
      "back\\slash",
      "</script><script>",
      control,
      "caf\xC3\xA9 \xE6\x97\xA5\xE6\x9C\xAC \xF0\x9F\x98\x80",  // café 日本 😀
      "line\u2028sep",
      std::string("nul\0inside", 10),
      "",
  };
  for (const std::string& name : names) {
    SCOPED_TRACE(name);
    User u = SampleUser();
    u.name = name;
    u.email = name;
    const std::string json = ToJson(u);
    for (const char c : json) {
      EXPECT_GE(static_cast<unsigned char>(c), 0x20) << "raw control character in " << json;
    }
    boost::system::error_code ec;
    const boost::json::value v = boost::json::parse(json, ec);
    ASSERT_FALSE(ec) << json;
    EXPECT_EQ(v.at("name").as_string(), name);
    EXPECT_EQ(v.at("email").as_string(), name);
    EXPECT_EQ(v.as_object().size(), 9u);
  }
}

TEST(UserTest, AppendJsonAppends) {
  std::string out = "[";
  AppendJson(out, SampleUser());
  out += ',';
  AppendJson(out, SampleUser());
  out += ']';
  EXPECT_EQ(out, "[" + ToJson(SampleUser()) + "," + ToJson(SampleUser()) + "]");
  const boost::json::value v = boost::json::parse(out);
  EXPECT_EQ(v.as_array().size(), 2u);
}

TEST(UserTest, MakeETag) {
  EXPECT_EQ(MakeETag(1), "\"v1\"");
  EXPECT_EQ(MakeETag(7), "\"v7\"");
  EXPECT_EQ(MakeETag(2147483647), "\"v2147483647\"");
}

TEST(IfMatchTest, Star) {
  for (const char* header : {"*", " *", "*\t", "  *  "}) {
    const IfMatch m = ParseIfMatch(header);
    EXPECT_TRUE(m.any) << header;
    EXPECT_TRUE(m.Matches(1));
    EXPECT_TRUE(m.Matches(99));
  }
}

TEST(IfMatchTest, SingleStrongTag) {
  const IfMatch m = ParseIfMatch("\"v3\"");
  EXPECT_FALSE(m.any);
  EXPECT_EQ(m.versions, std::vector<std::int32_t>{3});
  EXPECT_TRUE(m.Matches(3));
  EXPECT_FALSE(m.Matches(4));
  EXPECT_FALSE(m.Matches(0));
}

TEST(IfMatchTest, ListWithWhitespaceAndEmptyElements) {
  const IfMatch m = ParseIfMatch(" \"v3\",\"v4\" ,\t\"v10\" , , \"xyz\",");
  EXPECT_FALSE(m.any);
  EXPECT_EQ(m.versions, (std::vector<std::int32_t>{3, 4, 10}));
  EXPECT_TRUE(m.Matches(3));
  EXPECT_TRUE(m.Matches(4));
  EXPECT_TRUE(m.Matches(10));
  EXPECT_FALSE(m.Matches(1));
}

TEST(IfMatchTest, MakeETagRoundTrips) {
  for (std::int32_t v : {1, 2, 9, 10, 12345, 2147483647}) {
    EXPECT_TRUE(ParseIfMatch(MakeETag(v)).Matches(v)) << v;
    EXPECT_FALSE(ParseIfMatch(MakeETag(v)).Matches(v - 1)) << v;
  }
}

TEST(IfMatchTest, WeakTagsNeverMatch) {
  EXPECT_FALSE(ParseIfMatch("W/\"v3\"").Matches(3));
  const IfMatch m = ParseIfMatch("W/\"v3\", \"v4\"");
  EXPECT_FALSE(m.Matches(3));
  EXPECT_TRUE(m.Matches(4));
}

TEST(IfMatchTest, ForeignTagsAreIgnored) {
  for (const char* header :
       {"\"v0\"", "\"v-1\"", "\"v+3\"", "\"v03\"", "\"V3\"", "\"3\"", "\"v\"", "\"\"", "\"v3 \"",
        "\"v2147483648\"", "\"v99999999999999999999\"", "\"v3a\"", "\"abc\""}) {
    const IfMatch m = ParseIfMatch(header);
    EXPECT_FALSE(m.any) << header;
    EXPECT_TRUE(m.versions.empty()) << header;
  }
}

TEST(IfMatchTest, GarbageMatchesNothing) {
  const std::vector<std::string> headers = {
      "",
      " ",
      ",",
      "v3",
      "\"v3",
      "v3\"",
      "\"v3\" \"v4\"",
      "\"v3\"x",
      "W/v3",
      "w/\"v3\"",
      "**",
      "*, \"v3\"",
      "\"v3\", *",
      "\"v\"3\"",
      "\"v3\";q=1",
      "\"v\x01\"",
      "\"v3\"\r\n",
      std::string("\"v3\"\0", 5),
      std::string(10000, '"'),
      std::string(10000, ','),
  };
  for (const std::string& header : headers) {
    const IfMatch m = ParseIfMatch(header);
    EXPECT_FALSE(m.any) << header;
    for (std::int32_t v : {0, 1, 3, 4}) EXPECT_FALSE(m.Matches(v)) << header;
  }
}

TEST(IfMatchTest, DefaultMatchesNothing) {
  const IfMatch m;
  EXPECT_FALSE(m.Matches(1));
}

}  // namespace
}  // namespace myriad::users

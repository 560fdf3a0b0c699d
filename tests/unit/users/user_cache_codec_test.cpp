#include <gtest/gtest.h>

#include <cstdint>
#include <limits>
#include <string>
#include <string_view>

#include "users/user.hpp"
#include "users/user_cache.hpp"

namespace myriad::users {
namespace {

User SampleUser() {
  User u;
  u.id = 42;
  u.email = "zoe@example.com";
  u.name = "Zo\xC3\xAB \xE6\x97\xA5\xE6\x9C\xAC \xF0\x9F\x98\x80 \"Q\"";  // Zoë 日本 😀 "Q"
  u.role = Role::kAdmin;
  u.status = Status::kDisabled;
  u.created_at = "2026-11-29T08:01:23.123456Z";
  u.updated_at = "2026-11-29T09:00:00.000000Z";
  u.version = 7;
  return u;
}

// The canonical JSON of SampleUser(), spelled out.
constexpr std::string_view kSampleJson =
    "{\"id\":42,\"email\":\"zoe@example.com\","
    "\"name\":\"Zo\xC3\xAB \xE6\x97\xA5\xE6\x9C\xAC \xF0\x9F\x98\x80 \\\"Q\\\"\","
    R"("role":"admin","status":"disabled","email_verified":false,"created_at":"2026-11-29T08:01:23.123456Z",)"
    R"("updated_at":"2026-11-29T09:00:00.000000Z","version":7})";

std::string Encoded(const User& u) { return EncodeCachedUser(MakeCachedUser(u).get()); }

// Replaces the one occurrence of `from` in `text` by `to`.
std::string Replaced(std::string text, std::string_view from, std::string_view to) {
  const auto at = text.find(from);
  EXPECT_NE(at, std::string::npos) << from << " not in " << text;
  if (at != std::string::npos) text.replace(at, from.size(), to);
  return text;
}

// Decodes for id 42, expecting kCorrupt and no user handed out.
void ExpectCorrupt(std::string_view value, std::int64_t id = 42) {
  CachedUserPtr user;
  EXPECT_EQ(DecodeCachedUser(value, id, user), Decoded::kCorrupt) << value;
  EXPECT_EQ(user, nullptr) << value;
}

TEST(UserCacheCodecTest, KeyFormat) {
  EXPECT_EQ(UserCacheKey(42), "myriad:user:v2:42");
  EXPECT_EQ(UserCacheKey(1), "myriad:user:v2:1");
  EXPECT_EQ(UserCacheKey(std::numeric_limits<std::int64_t>::max()),
            "myriad:user:v2:9223372036854775807");
}

TEST(UserCacheCodecTest, MakeCachedUserRendersJsonAndETagOnce) {
  const CachedUserPtr cached = MakeCachedUser(SampleUser());
  ASSERT_NE(cached, nullptr);
  EXPECT_EQ(cached->json, ToJson(SampleUser()));
  EXPECT_EQ(cached->etag, "\"v7\"");
  EXPECT_EQ(cached->user.name, SampleUser().name);
}

TEST(UserCacheCodecTest, EncodeIsPrefixAndCanonicalJson) {
  // Guards kSampleJson itself: if ToJson's spelling changed, the corrupt cases below would
  // be built from the wrong text.
  ASSERT_EQ(ToJson(SampleUser()), kSampleJson);
  EXPECT_EQ(Encoded(SampleUser()), "u2|" + std::string(kSampleJson));
}

TEST(UserCacheCodecTest, RoundTrip) {
  const User u = SampleUser();
  CachedUserPtr decoded;
  ASSERT_EQ(DecodeCachedUser(Encoded(u), 42, decoded), Decoded::kUser);
  ASSERT_NE(decoded, nullptr);
  EXPECT_EQ(decoded->user.id, 42);
  EXPECT_EQ(decoded->user.email, u.email);
  EXPECT_EQ(decoded->user.name, u.name);
  EXPECT_EQ(decoded->user.role, Role::kAdmin);
  EXPECT_EQ(decoded->user.status, Status::kDisabled);
  EXPECT_EQ(decoded->user.created_at, u.created_at);
  EXPECT_EQ(decoded->user.updated_at, u.updated_at);
  EXPECT_EQ(decoded->user.version, 7);
  EXPECT_EQ(decoded->json, kSampleJson);
  EXPECT_EQ(decoded->etag, "\"v7\"");
}

TEST(UserCacheCodecTest, RoundTripOfOtherValues) {
  User u = SampleUser();
  u.id = std::numeric_limits<std::int64_t>::max();
  u.role = Role::kUser;
  u.status = Status::kActive;
  u.version = std::numeric_limits<std::int32_t>::max();
  u.name = "";
  u.email_verified = true;
  CachedUserPtr decoded;
  ASSERT_EQ(DecodeCachedUser(Encoded(u), u.id, decoded), Decoded::kUser);
  EXPECT_TRUE(decoded->user.email_verified);
  EXPECT_EQ(decoded->public_json, ToPublicJson(u));
  EXPECT_EQ(decoded->user.id, u.id);
  EXPECT_EQ(decoded->user.role, Role::kUser);
  EXPECT_EQ(decoded->user.status, Status::kActive);
  EXPECT_EQ(decoded->user.version, std::numeric_limits<std::int32_t>::max());
  EXPECT_EQ(decoded->user.name, "");
}

TEST(UserCacheCodecTest, AbsentUser) {
  EXPECT_EQ(EncodeCachedUser(nullptr), "u2|-");
  CachedUserPtr user;
  EXPECT_EQ(DecodeCachedUser("u2|-", 42, user), Decoded::kAbsent);
  EXPECT_EQ(user, nullptr);
}

TEST(UserCacheCodecTest, Tombstone) {
  CachedUserPtr user;
  EXPECT_EQ(DecodeCachedUser("u2|~", 42, user), Decoded::kTombstone);
  EXPECT_EQ(user, nullptr);
}

TEST(UserCacheCodecTest, MarkersMustBeExact) {
  for (const char* value : {"u2|--", "u2|~~", "u2|- ", "u2|-~", "u2|", "u2|null", "u2|[]", "u2|42",
                            "u2|\"u\"", "u2|{}", "-", "~"}) {
    SCOPED_TRACE(value);
    ExpectCorrupt(value);
  }
}

TEST(UserCacheCodecTest, EmptyIsCorrupt) { ExpectCorrupt(""); }

TEST(UserCacheCodecTest, MissingOrForeignPrefixIsCorrupt) {
  ExpectCorrupt(kSampleJson);
  // Values of the previous format (before email_verified) and of a later one.
  ExpectCorrupt("u1|" + std::string(kSampleJson));
  ExpectCorrupt("u1|-");
  ExpectCorrupt("u1|~");
  ExpectCorrupt("u3|" + std::string(kSampleJson));
  ExpectCorrupt("U2|" + std::string(kSampleJson));
  ExpectCorrupt("u2" + std::string(kSampleJson));
  ExpectCorrupt(" u2|" + std::string(kSampleJson));
}

TEST(UserCacheCodecTest, UserWithAnotherIdIsCorrupt) {
  const std::string value = Encoded(SampleUser());
  ExpectCorrupt(value, 43);
  ExpectCorrupt(value, 0);
  ExpectCorrupt(value, -42);
  CachedUserPtr user;
  EXPECT_EQ(DecodeCachedUser(value, 42, user), Decoded::kUser);  // the same bytes, right id
}

TEST(UserCacheCodecTest, MissingFieldIsCorrupt) {
  const std::string value = Encoded(SampleUser());
  for (std::string_view field : {R"("email":"zoe@example.com",)", R"("role":"admin",)",
                                 R"("status":"disabled",)", R"("email_verified":false,)",
                                 R"("created_at":"2026-11-29T08:01:23.123456Z",)", R"("id":42,)"}) {
    SCOPED_TRACE(field);
    ExpectCorrupt(Replaced(value, field, ""));
  }
  ExpectCorrupt(Replaced(value, R"(,"version":7)", ""));
}

TEST(UserCacheCodecTest, ExtraFieldIsCorrupt) {
  const std::string value = Encoded(SampleUser());
  ExpectCorrupt(Replaced(value, R"("version":7})", R"("version":7,"password_hash":"x"})"));
  // A field repeated (a JSON parser may keep the last one) is not our encoding either.
  ExpectCorrupt(Replaced(value, R"("version":7})", R"("version":7,"version":7})"));
}

TEST(UserCacheCodecTest, WrongTypesAreCorrupt) {
  const std::string value = Encoded(SampleUser());
  ExpectCorrupt(Replaced(value, R"("id":42)", R"("id":"42")"));
  ExpectCorrupt(Replaced(value, R"("id":42)", R"("id":42.0)"));
  ExpectCorrupt(Replaced(value, R"("version":7)", R"("version":"7")"));
  ExpectCorrupt(Replaced(value, R"("version":7)", R"("version":7.5)"));
  ExpectCorrupt(Replaced(value, R"("email":"zoe@example.com")", R"("email":null)"));
  ExpectCorrupt(Replaced(value, R"("role":"admin")", R"("role":1)"));
  ExpectCorrupt(Replaced(value, R"("status":"disabled")", R"("status":true)"));
  ExpectCorrupt(Replaced(value, R"("email_verified":false)", R"("email_verified":0)"));
  ExpectCorrupt(Replaced(value, R"("email_verified":false)", R"("email_verified":"false")"));
  ExpectCorrupt(
      Replaced(value, R"("updated_at":"2026-11-29T09:00:00.000000Z")", R"("updated_at":[])"));
}

TEST(UserCacheCodecTest, OutOfRangeVersionIsCorrupt) {
  User zero = SampleUser();
  zero.version = 0;
  ExpectCorrupt(Encoded(zero));
  User negative = SampleUser();
  negative.version = -3;
  ExpectCorrupt(Encoded(negative));
  const std::string value = Encoded(SampleUser());
  ExpectCorrupt(Replaced(value, R"("version":7)", R"("version":2147483648)"));
}

TEST(UserCacheCodecTest, UnknownRoleOrStatusIsCorrupt) {
  const std::string value = Encoded(SampleUser());
  ExpectCorrupt(Replaced(value, R"("role":"admin")", R"("role":"root")"));
  ExpectCorrupt(Replaced(value, R"("role":"admin")", R"("role":"Admin")"));
  ExpectCorrupt(Replaced(value, R"("status":"disabled")", R"("status":"deleted")"));
}

TEST(UserCacheCodecTest, TruncatedJsonIsCorrupt) {
  const std::string value = Encoded(SampleUser());
  for (std::size_t cut : {value.size() - 1, value.size() - 2, value.size() / 2, std::size_t{4}}) {
    SCOPED_TRACE(cut);
    ExpectCorrupt(std::string_view(value).substr(0, cut));
  }
}

TEST(UserCacheCodecTest, TrailingBytesAreCorrupt) {
  const std::string value = Encoded(SampleUser());
  ExpectCorrupt(value + " ");
  ExpectCorrupt(value + "\n");
  ExpectCorrupt(value + "{}");
}

// Our encoding is canonical (DecodeCachedUser re-renders and compares), so JSON that means
// the same but is spelled differently is not ours.
TEST(UserCacheCodecTest, NonCanonicalSpellingsAreCorrupt) {
  const std::string value = Encoded(SampleUser());
  // Fields reordered.
  ExpectCorrupt(Replaced(value, R"({"id":42,"email":"zoe@example.com",)",
                         R"({"email":"zoe@example.com","id":42,)"));
  // Whitespace.
  ExpectCorrupt(Replaced(value, R"({"id":42,)", R"({ "id": 42,)"));
  // The same name with a needlessly escaped letter.
  ExpectCorrupt(Replaced(value, R"("name":"Zo)", R"("name":"\u005ao)"));
  // A character escaped that ToJson passes through as UTF-8.
  ExpectCorrupt(Replaced(value, "Zo\xC3\xAB", R"(Zo\u00eb)"));
  // An escape spelled differently: "\u0022" for "\"".
  ExpectCorrupt(Replaced(value, R"(\"Q\")", R"(\u0022Q\")"));
}

}  // namespace
}  // namespace myriad::users

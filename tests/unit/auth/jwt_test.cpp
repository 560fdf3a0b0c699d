#include "auth/jwt.hpp"

#include <gtest/gtest.h>
#include <sodium.h>

#include <array>
#include <boost/json/parse.hpp>
#include <string>
#include <utility>
#include <vector>

#include "auth/base64url.hpp"
#include "support/test_keys.hpp"

namespace myriad::auth {
namespace {

constexpr std::int64_t kNow = 1'800'000'000;
constexpr std::string_view kIssuer = "https://myriad.example";
constexpr std::string_view kAudience = "myriad-api";

using myriad::testing::MakeTestKey;

KeySet MakeSet(std::vector<std::pair<std::string, std::uint8_t>> specs) {
  std::vector<SigningKey> keys;
  keys.reserve(specs.size());
  for (const auto& [kid, fill] : specs) {
    keys.push_back(MakeTestKey(kid, fill));
  }
  auto set = KeySet::Create(std::move(keys));
  EXPECT_TRUE(set.has_value());
  return std::move(set).value();
}

TokenClaims Claims() {
  TokenClaims c;
  c.subject = "12345";
  c.role = "admin";
  c.issuer = std::string(kIssuer);
  c.audience = std::string(kAudience);
  c.issued_at = kNow;
  c.expires_at = kNow + 900;
  return c;
}

std::vector<std::string> Segments(const std::string& token) {
  std::vector<std::string> out;
  std::size_t start = 0;
  for (std::size_t dot = token.find('.'); dot != std::string::npos; dot = token.find('.', start)) {
    out.push_back(token.substr(start, dot - start));
    start = dot + 1;
  }
  out.push_back(token.substr(start));
  return out;
}

// A token with this exact header and payload JSON, correctly signed by `key`: what a
// holder of our key could produce, to reach the checks behind the signature.
std::string Sign(const std::string& header, const std::string& payload, const SigningKey& key) {
  std::string input = Base64UrlEncode(header) + "." + Base64UrlEncode(payload);
  const auto signature = key.Sign(input);
  return input + "." + Base64UrlEncode(signature);
}

std::string Header(const std::string& kid) {
  return R"({"alg":"EdDSA","typ":"JWT","kid":")" + kid + R"("})";
}

std::string Payload(const std::string& extra = "") {
  return R"({"sub":"12345","role":"admin","iat":1800000000,"exp":1800000900,)"
         R"("jti":"AAAAAAAAAAAAAAAAAAAAAA","iss":"https://myriad.example","aud":"myriad-api")" +
         extra + "}";
}

class JwtTest : public ::testing::Test {
 protected:
  TokenError Rejection(const std::string& token, std::int64_t now = kNow) const {
    auto result = Verify(token, now, kIssuer, kAudience, keys_);
    if (result.has_value()) {
      ADD_FAILURE() << "accepted " << token;
      return TokenError::kMalformed;
    }
    return result.error();
  }

  KeySet keys_ = MakeSet({{"k1", 1}});
};

TEST_F(JwtTest, RoundTrip) {
  const std::string token = Issue(Claims(), keys_);
  auto verified = Verify(token, kNow, kIssuer, kAudience, keys_);
  ASSERT_TRUE(verified.has_value()) << ToString(verified.error());
  EXPECT_EQ(verified->subject, "12345");
  EXPECT_EQ(verified->role, "admin");
  EXPECT_EQ(verified->issued_at, kNow);
  EXPECT_EQ(verified->expires_at, kNow + 900);
  EXPECT_EQ(verified->key_id, "k1");
  EXPECT_EQ(verified->token_id.size(), 22U);
  EXPECT_TRUE(Base64UrlDecode(verified->token_id).has_value());
}

TEST_F(JwtTest, IssuedHeaderAndClaimsAreWhatTheContractSays) {
  const auto parts = Segments(Issue(Claims(), keys_));
  ASSERT_EQ(parts.size(), 3U);
  EXPECT_EQ(Base64UrlDecode(parts[0]), std::string(R"({"alg":"EdDSA","typ":"JWT","kid":"k1"})"));
  const auto payload = boost::json::parse(Base64UrlDecode(parts[1]).value()).as_object();
  EXPECT_EQ(payload.at("sub").as_string(), "12345");
  EXPECT_EQ(payload.at("role").as_string(), "admin");
  EXPECT_EQ(payload.at("iat").as_int64(), kNow);
  EXPECT_EQ(payload.at("exp").as_int64(), kNow + 900);
  EXPECT_EQ(payload.at("iss").as_string(), kIssuer);
  EXPECT_EQ(payload.at("aud").as_string(), kAudience);
  EXPECT_EQ(payload.at("jti").as_string().size(), 22U);
  EXPECT_EQ(Base64UrlDecode(parts[2])->size(), 64U);
}

TEST_F(JwtTest, EveryTokenGetsItsOwnJti) {
  const auto a = Verify(Issue(Claims(), keys_), kNow, kIssuer, kAudience, keys_);
  const auto b = Verify(Issue(Claims(), keys_), kNow, kIssuer, kAudience, keys_);
  ASSERT_TRUE(a.has_value());
  ASSERT_TRUE(b.has_value());
  EXPECT_NE(a->token_id, b->token_id);
}

TEST_F(JwtTest, HandBuiltTokenVerifies) {
  // Guards the helpers below: without this, every rejection test could pass vacuously.
  auto verified =
      Verify(Sign(Header("k1"), Payload(), *keys_.Find("k1")), kNow, kIssuer, kAudience, keys_);
  ASSERT_TRUE(verified.has_value()) << ToString(verified.error());
  EXPECT_EQ(verified->token_id, "AAAAAAAAAAAAAAAAAAAAAA");
}

TEST_F(JwtTest, TamperedPayloadFailsTheSignature) {
  auto parts = Segments(Issue(Claims(), keys_));
  std::string payload = Base64UrlDecode(parts[1]).value();
  payload.replace(payload.find("admin"), 5, "owner");
  EXPECT_EQ(Rejection(parts[0] + "." + Base64UrlEncode(payload) + "." + parts[2]),
            TokenError::kBadSignature);
}

TEST_F(JwtTest, TamperedSignatureFails) {
  auto parts = Segments(Issue(Claims(), keys_));
  std::string signature = Base64UrlDecode(parts[2]).value();
  signature[10] = static_cast<char>(signature[10] ^ 0x01);
  EXPECT_EQ(Rejection(parts[0] + "." + parts[1] + "." + Base64UrlEncode(signature)),
            TokenError::kBadSignature);
  EXPECT_EQ(Rejection(parts[0] + "." + parts[1] + "." + parts[2].substr(0, 40)),
            TokenError::kBadSignature);
  EXPECT_EQ(Rejection(parts[0] + "." + parts[1] + "." + parts[2] + "AAAA"),
            TokenError::kBadSignature);
}

TEST_F(JwtTest, TamperedHeaderFailsTheSignature) {
  auto parts = Segments(Issue(Claims(), keys_));
  // Same meaning, other bytes: the signature covers the bytes, not the meaning.
  const std::string header = R"({"typ":"JWT","alg":"EdDSA","kid":"k1"})";
  EXPECT_EQ(Rejection(Base64UrlEncode(header) + "." + parts[1] + "." + parts[2]),
            TokenError::kBadSignature);
}

TEST_F(JwtTest, AlgNoneIsRefused) {
  const auto parts = Segments(Issue(Claims(), keys_));
  const std::string none = Base64UrlEncode(std::string(R"({"alg":"none","typ":"JWT","kid":"k1"})"));
  EXPECT_EQ(Rejection(none + "." + parts[1] + "."), TokenError::kUnsupportedAlg);
  EXPECT_EQ(Rejection(none + "." + parts[1] + "." + parts[2]), TokenError::kUnsupportedAlg);
  const std::string none_no_kid = Base64UrlEncode(std::string(R"({"alg":"none"})"));
  EXPECT_EQ(Rejection(none_no_kid + "." + parts[1] + "."), TokenError::kUnsupportedAlg);
}

TEST_F(JwtTest, OtherAlgorithmsAreRefused) {
  const auto parts = Segments(Issue(Claims(), keys_));
  for (const char* alg : {"HS256", "RS256", "ES256", "Ed25519", "eddsa", "EdDSA ", "None"}) {
    const std::string header =
        Base64UrlEncode(R"({"alg":")" + std::string(alg) + R"(","typ":"JWT","kid":"k1"})");
    EXPECT_EQ(Rejection(header + "." + parts[1] + "." + parts[2]), TokenError::kUnsupportedAlg)
        << alg;
  }
}

TEST_F(JwtTest, Hs256SignedWithThePublicKeyIsRefused) {
  // The classic confusion attack: an HMAC keyed with the (public) verification key.
  const SigningKey& key = *keys_.Find("k1");
  const std::string input =
      Base64UrlEncode(std::string(R"({"alg":"HS256","typ":"JWT","kid":"k1"})")) + "." +
      Base64UrlEncode(Payload());
  std::array<std::uint8_t, 32> mac{};
  crypto_auth_hmacsha256(mac.data(), reinterpret_cast<const unsigned char*>(input.data()),
                         input.size(), key.public_key().data());
  EXPECT_EQ(Rejection(input + "." + Base64UrlEncode(mac)), TokenError::kUnsupportedAlg);
}

TEST_F(JwtTest, HeaderRules) {
  const SigningKey& key = *keys_.Find("k1");
  EXPECT_EQ(Rejection(Sign(R"({"typ":"JWT","kid":"k1"})", Payload(), key)), TokenError::kBadHeader);
  EXPECT_EQ(Rejection(Sign(R"({"alg":7,"kid":"k1"})", Payload(), key)), TokenError::kBadHeader);
  EXPECT_EQ(Rejection(Sign(R"({"alg":"EdDSA"})", Payload(), key)), TokenError::kBadHeader);
  EXPECT_EQ(Rejection(Sign(R"({"alg":"EdDSA","kid":1})", Payload(), key)), TokenError::kBadHeader);
  EXPECT_EQ(Rejection(Sign(R"({"alg":"EdDSA","typ":"jwt","kid":"k1"})", Payload(), key)),
            TokenError::kBadHeader);
  EXPECT_EQ(Rejection(Sign(R"({"alg":"EdDSA","typ":null,"kid":"k1"})", Payload(), key)),
            TokenError::kBadHeader);
  EXPECT_EQ(Rejection(Sign(R"({"alg":"EdDSA","kid":"k1","crit":["exp"]})", Payload(), key)),
            TokenError::kBadHeader);
  EXPECT_EQ(Rejection(Sign(R"({"alg":"EdDSA","kid":"k1","jku":"https://evil"})", Payload(), key)),
            TokenError::kBadHeader);
  EXPECT_EQ(Rejection(Sign(R"(["alg","EdDSA"])", Payload(), key)), TokenError::kBadHeader);
  EXPECT_EQ(Rejection(Sign(R"({"alg":"EdDSA","kid":"k1"} x)", Payload(), key)),
            TokenError::kBadHeader);
  EXPECT_EQ(Rejection(Sign("not json", Payload(), key)), TokenError::kBadHeader);
  // typ is optional.
  EXPECT_TRUE(
      Verify(Sign(R"({"alg":"EdDSA","kid":"k1"})", Payload(), key), kNow, kIssuer, kAudience, keys_)
          .has_value());
}

TEST_F(JwtTest, UnknownKid) {
  const KeySet other = MakeSet({{"k2", 2}});
  EXPECT_EQ(Rejection(Issue(Claims(), other)), TokenError::kUnknownKid);
  // A known kid on a token signed by another key is a bad signature, not a lookup miss.
  EXPECT_EQ(Rejection(Sign(Header("k1"), Payload(), *other.Find("k2"))), TokenError::kBadSignature);
}

TEST_F(JwtTest, WrongIssuerAndAudience) {
  const std::string token = Issue(Claims(), keys_);
  EXPECT_EQ(Verify(token, kNow, "https://other.example", kAudience, keys_).error(),
            TokenError::kWrongIssuer);
  EXPECT_EQ(Verify(token, kNow, kIssuer, "other-api", keys_).error(), TokenError::kWrongAudience);

  const SigningKey& key = *keys_.Find("k1");
  const std::string no_iss =
      R"({"sub":"1","role":"user","iat":1800000000,"exp":1800000900,"jti":"x","aud":"myriad-api"})";
  EXPECT_EQ(Rejection(Sign(Header("k1"), no_iss, key)), TokenError::kWrongIssuer);
  const std::string no_aud =
      R"({"sub":"1","role":"user","iat":1800000000,"exp":1800000900,"jti":"x","iss":"https://myriad.example"})";
  EXPECT_EQ(Rejection(Sign(Header("k1"), no_aud, key)), TokenError::kWrongAudience);
}

TEST_F(JwtTest, AudienceMayBeAnArray) {
  const SigningKey& key = *keys_.Find("k1");
  const std::string in_list =
      R"({"sub":"1","role":"user","iat":1800000000,"exp":1800000900,"jti":"x",)"
      R"("iss":"https://myriad.example","aud":["other","myriad-api"]})";
  EXPECT_TRUE(
      Verify(Sign(Header("k1"), in_list, key), kNow, kIssuer, kAudience, keys_).has_value());
  const std::string not_in_list =
      R"({"sub":"1","role":"user","iat":1800000000,"exp":1800000900,"jti":"x",)"
      R"("iss":"https://myriad.example","aud":["other",7]})";
  EXPECT_EQ(Rejection(Sign(Header("k1"), not_in_list, key)), TokenError::kWrongAudience);
}

TEST_F(JwtTest, ExpiresExactlyAtExp) {
  const std::string token = Issue(Claims(), keys_);
  EXPECT_TRUE(Verify(token, kNow + 899, kIssuer, kAudience, keys_).has_value());
  EXPECT_EQ(Rejection(token, kNow + 900), TokenError::kExpired);
  EXPECT_EQ(Rejection(token, kNow + 901), TokenError::kExpired);
}

TEST_F(JwtTest, IssuedInTheFutureBeyondTheLeeway) {
  const std::string token = Issue(Claims(), keys_);
  EXPECT_TRUE(Verify(token, kNow - kClockLeeway, kIssuer, kAudience, keys_).has_value());
  EXPECT_EQ(Rejection(token, kNow - kClockLeeway - 1), TokenError::kNotYetValid);

  const SigningKey& key = *keys_.Find("k1");
  EXPECT_EQ(Rejection(Sign(Header("k1"), Payload(R"(,"nbf":1800000100)"), key)),
            TokenError::kNotYetValid);
  EXPECT_TRUE(Verify(Sign(Header("k1"), Payload(R"(,"nbf":1800000060)"), key), kNow, kIssuer,
                     kAudience, keys_)
                  .has_value());
  const std::string far_future =
      R"({"sub":"1","role":"user","iat":9223372036854775807,"exp":9223372036854775807,"jti":"x",)"
      R"("iss":"https://myriad.example","aud":"myriad-api"})";
  EXPECT_EQ(Rejection(Sign(Header("k1"), far_future, key)), TokenError::kNotYetValid);
}

TEST_F(JwtTest, MissingOrMistypedClaims) {
  const SigningKey& key = *keys_.Find("k1");
  const std::string base = R"("iss":"https://myriad.example","aud":"myriad-api")";
  const std::vector<std::string> bad = {
      // no exp
      R"({"sub":"1","role":"user","iat":1800000000,"jti":"x",)" + base + "}",
      // exp as a string, a float, a huge unsigned
      R"({"sub":"1","role":"user","iat":1800000000,"exp":"1800000900","jti":"x",)" + base + "}",
      R"({"sub":"1","role":"user","iat":1800000000,"exp":1.8e9,"jti":"x",)" + base + "}",
      R"({"sub":"1","role":"user","iat":1800000000,"exp":18446744073709551615,"jti":"x",)" + base +
          "}",
      // no iat, no sub, empty sub, numeric sub, no role, no jti, bad nbf
      R"({"sub":"1","role":"user","exp":1800000900,"jti":"x",)" + base + "}",
      R"({"role":"user","iat":1800000000,"exp":1800000900,"jti":"x",)" + base + "}",
      R"({"sub":"","role":"user","iat":1800000000,"exp":1800000900,"jti":"x",)" + base + "}",
      R"({"sub":1,"role":"user","iat":1800000000,"exp":1800000900,"jti":"x",)" + base + "}",
      R"({"sub":"1","iat":1800000000,"exp":1800000900,"jti":"x",)" + base + "}",
      R"({"sub":"1","role":"user","iat":1800000000,"exp":1800000900,)" + base + "}",
      R"({"sub":"1","role":"user","iat":1800000000,"exp":1800000900,"jti":"x","nbf":"0",)" + base +
          "}",
      // not an object, not JSON
      R"(["sub"])",
      "exp",
  };
  for (const std::string& payload : bad) {
    EXPECT_EQ(Rejection(Sign(Header("k1"), payload, key)), TokenError::kBadClaims) << payload;
  }
}

TEST_F(JwtTest, WrongNumberOfSegments) {
  const std::string token = Issue(Claims(), keys_);
  const auto parts = Segments(token);
  EXPECT_EQ(Rejection(token + "." + parts[2]), TokenError::kMalformed);
  EXPECT_EQ(Rejection(token + "."), TokenError::kMalformed);
  EXPECT_EQ(Rejection(parts[0] + "." + parts[1]), TokenError::kMalformed);
  EXPECT_EQ(Rejection(parts[0]), TokenError::kMalformed);
  EXPECT_EQ(Rejection(""), TokenError::kMalformed);
  EXPECT_EQ(Rejection(".."), TokenError::kMalformed);
}

TEST_F(JwtTest, SegmentsMustBeCanonicalBase64Url) {
  const auto parts = Segments(Issue(Claims(), keys_));
  EXPECT_EQ(Rejection(parts[0] + "=." + parts[1] + "." + parts[2]), TokenError::kMalformed);
  EXPECT_EQ(Rejection("+" + parts[0] + "." + parts[1] + "." + parts[2]), TokenError::kMalformed);
  EXPECT_EQ(Rejection(parts[0] + "." + parts[1] + "." + parts[2] + "="), TokenError::kBadSignature);
}

TEST_F(JwtTest, OversizeTokensAreRejectedBeforeParsing) {
  const SigningKey& key = *keys_.Find("k1");
  // A correctly signed token just over the limit: only the size check can reject it.
  std::string padding(3000, 'p');
  std::string token = Sign(Header("k1"), Payload(R"(,"pad":")" + padding + "\""), key);
  ASSERT_GT(token.size(), kMaxTokenBytes);
  EXPECT_EQ(Rejection(token), TokenError::kMalformed);
  // ...and one just under it is fine.
  padding.resize(padding.size() - (token.size() - kMaxTokenBytes) * 3 / 4 - 8);
  token = Sign(Header("k1"), Payload(R"(,"pad":")" + padding + "\""), key);
  ASSERT_LE(token.size(), kMaxTokenBytes);
  EXPECT_TRUE(Verify(token, kNow, kIssuer, kAudience, keys_).has_value());
  EXPECT_EQ(Rejection(std::string(kMaxTokenBytes + 1, 'A')), TokenError::kMalformed);
}

TEST_F(JwtTest, RotationKeepsOldTokensUntilTheOldKeyIsRemoved) {
  const KeySet before = MakeSet({{"old", 1}});
  const std::string old_token = Issue(Claims(), before);

  const KeySet rotated = MakeSet({{"new", 2}, {"old", 1}});
  const std::string new_token = Issue(Claims(), rotated);
  EXPECT_EQ(Segments(new_token)[0], Base64UrlEncode(Header("new")));
  auto old_verified = Verify(old_token, kNow, kIssuer, kAudience, rotated);
  ASSERT_TRUE(old_verified.has_value()) << ToString(old_verified.error());
  EXPECT_EQ(old_verified->key_id, "old");
  EXPECT_TRUE(Verify(new_token, kNow, kIssuer, kAudience, rotated).has_value());
  EXPECT_EQ(Verify(new_token, kNow, kIssuer, kAudience, before).error(), TokenError::kUnknownKid);

  const KeySet retired = MakeSet({{"new", 2}});
  EXPECT_EQ(Verify(old_token, kNow, kIssuer, kAudience, retired).error(), TokenError::kUnknownKid);
  EXPECT_TRUE(Verify(new_token, kNow, kIssuer, kAudience, retired).has_value());
}

TEST(TokenErrorTest, NamesAreStable) {
  EXPECT_EQ(ToString(TokenError::kMalformed), "malformed");
  EXPECT_EQ(ToString(TokenError::kUnsupportedAlg), "unsupported_alg");
  EXPECT_EQ(ToString(TokenError::kNotYetValid), "not_yet_valid");
  EXPECT_EQ(ToString(TokenError::kBadClaims), "bad_claims");
}

}  // namespace
}  // namespace myriad::auth

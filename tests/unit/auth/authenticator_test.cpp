#include "auth/authenticator.hpp"

#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "support/test_keys.hpp"

namespace myriad::auth {
namespace {

using myriad::testing::MakeTestKey;

constexpr std::int64_t kNow = 1'800'000'000;

Authenticator Make(std::vector<SigningKey> keys, std::size_t workers = 2) {
  auto set = KeySet::Create(std::move(keys));
  EXPECT_TRUE(set.has_value());
  Authenticator::Options options;
  options.access_ttl = std::chrono::seconds(900);
  return Authenticator(std::move(*set), options, workers);
}

std::vector<SigningKey> OneKey(const std::string& kid = "k1", std::uint8_t fill = 7) {
  std::vector<SigningKey> keys;
  keys.push_back(MakeTestKey(kid, fill));
  return keys;
}

TEST(AuthenticatorTest, IssuedTokensAuthenticateOnEveryThreadUntilTheyExpire) {
  auto authn = Make(OneKey());
  const std::string token = authn.Issue(42, true, kNow);
  for (std::size_t worker : {0U, 1U, 0U}) {
    auto principal = authn.Authenticate(worker, "Bearer " + token, kNow + 10);
    ASSERT_TRUE(principal.has_value());
    EXPECT_EQ(principal->user_id, 42);
    EXPECT_TRUE(principal->admin);
    EXPECT_FALSE(principal->token_id.empty());
  }
  // Cached or not, the expiry holds.
  auto expired = authn.Authenticate(0, "Bearer " + token, kNow + 900);
  ASSERT_FALSE(expired.has_value());
  EXPECT_EQ(expired.error().failure, AuthFailure::kInvalid);
  EXPECT_EQ(expired.error().token_error, TokenError::kExpired);
  EXPECT_FALSE(authn.Authenticate(1, "Bearer " + authn.Issue(7, false, kNow), kNow)->admin);
}

TEST(AuthenticatorTest, TheHeaderMustBeBearerAndOneToken) {
  auto authn = Make(OneKey());
  const std::string token = authn.Issue(1, false, kNow);
  EXPECT_EQ(authn.Authenticate(0, "", kNow).error().failure, AuthFailure::kMissing);
  for (const std::string& header :
       std::vector<std::string>{"Basic dXNlcjpwYXNz", "Bearer", "Bearer ", "Bearer" + token,
                                "Bearer " + token + " x", "Token " + token}) {
    auto result = authn.Authenticate(0, header, kNow);
    ASSERT_FALSE(result.has_value()) << header;
    EXPECT_EQ(result.error().failure, AuthFailure::kMalformed) << header;
  }
  EXPECT_TRUE(authn.Authenticate(0, "bearer  " + token, kNow).has_value())
      << "the scheme is case-insensitive and more spaces are allowed";
}

TEST(AuthenticatorTest, TokensOfAnotherKeyIssuerOrAudienceAreRefused) {
  auto ours = Make(OneKey("k1", 7));
  auto theirs = Make(OneKey("k1", 9));  // same kid, another secret
  const std::string forged = theirs.Issue(1, true, kNow);
  auto result = ours.Authenticate(0, "Bearer " + forged, kNow);
  ASSERT_FALSE(result.has_value());
  EXPECT_EQ(result.error().token_error, TokenError::kBadSignature);

  auto set = KeySet::Create(OneKey("k1", 7));
  ASSERT_TRUE(set.has_value());
  Authenticator::Options other;
  other.audience = "another-api";
  Authenticator elsewhere(std::move(*set), other, 1);
  auto wrong_audience = ours.Authenticate(0, "Bearer " + elsewhere.Issue(1, false, kNow), kNow);
  ASSERT_FALSE(wrong_audience.has_value());
  EXPECT_EQ(wrong_audience.error().token_error, TokenError::kWrongAudience);
}

}  // namespace
}  // namespace myriad::auth

#include "auth/opaque_token.hpp"

#include <gtest/gtest.h>

#include <set>
#include <string>

namespace myriad::auth {
namespace {

TEST(OpaqueTokenTest, FreshTokensAre43Base64UrlCharactersAndDiffer) {
  std::set<std::string> seen;
  for (int i = 0; i < 200; ++i) {
    const std::string token = NewOpaqueToken();
    EXPECT_TRUE(LooksLikeOpaqueToken(token)) << token;
    seen.insert(token);
  }
  EXPECT_EQ(seen.size(), 200U);
}

TEST(OpaqueTokenTest, TheHashIsSha256) {
  // SHA-256("abc"), FIPS 180-2's first example.
  const std::string digest = HashOpaqueToken("abc");
  ASSERT_EQ(digest.size(), 32U);
  EXPECT_EQ(static_cast<unsigned char>(digest[0]), 0xbaU);
  EXPECT_EQ(static_cast<unsigned char>(digest[31]), 0xadU);
  EXPECT_NE(HashOpaqueToken("abd"), digest);
}

TEST(OpaqueTokenTest, AnythingElseDoesNotLookLikeAToken) {
  const std::string good = NewOpaqueToken();
  EXPECT_FALSE(LooksLikeOpaqueToken(""));
  EXPECT_FALSE(LooksLikeOpaqueToken(good.substr(1)));
  EXPECT_FALSE(LooksLikeOpaqueToken(good + "A"));
  EXPECT_FALSE(LooksLikeOpaqueToken(good.substr(1) + "="));
  EXPECT_FALSE(LooksLikeOpaqueToken(good.substr(1) + "+"));
  EXPECT_FALSE(LooksLikeOpaqueToken(std::string(43, '\0')));
}

}  // namespace
}  // namespace myriad::auth

#include "auth/jwks.hpp"

#include <gtest/gtest.h>

#include <boost/json/parse.hpp>
#include <string>
#include <utility>
#include <vector>

#include "auth/base64url.hpp"
#include "support/test_keys.hpp"

namespace myriad::auth {
namespace {

using myriad::testing::MakeTestKey;

TEST(JwksTest, ListsEveryKeyAsAnRfc8037PublicKeyActiveFirst) {
  std::vector<SigningKey> keys;
  keys.push_back(MakeTestKey("new", 1));
  keys.push_back(MakeTestKey("old", 2));
  auto set = KeySet::Create(std::move(keys));
  ASSERT_TRUE(set.has_value());

  const boost::json::value doc = boost::json::parse(RenderJwks(*set));
  const auto& list = doc.as_object().at("keys").as_array();
  ASSERT_EQ(list.size(), 2U);
  const std::vector<std::string> kids = {"new", "old"};
  for (std::size_t i = 0; i < list.size(); ++i) {
    const auto& jwk = list[i].as_object();
    EXPECT_EQ(jwk.size(), 6U);
    EXPECT_EQ(jwk.at("kty").as_string(), "OKP");
    EXPECT_EQ(jwk.at("crv").as_string(), "Ed25519");
    EXPECT_EQ(jwk.at("alg").as_string(), "EdDSA");
    EXPECT_EQ(jwk.at("use").as_string(), "sig");
    EXPECT_EQ(jwk.at("kid").as_string(), kids[i]);
    const std::string x(jwk.at("x").as_string().c_str());
    EXPECT_EQ(x.size(), 43U);
    EXPECT_EQ(x, Base64UrlEncode(set->Find(kids[i])->public_key()));
  }
}

TEST(JwksTest, Rfc8037ExampleKey) {
  // RFC 8037 appendix A.1/A.2: this seed has this public "x".
  SigningKey::Seed seed{};
  ASSERT_TRUE(Base64UrlDecodeExact("nWGxne_9WmC6hEr0kuwsxERJxWl7MmkZcDusAxyuf2A", seed));
  auto key = SigningKey::FromSeed("rfc8037", seed);
  ASSERT_TRUE(key.has_value());
  std::vector<SigningKey> keys;
  keys.push_back(std::move(key).value());
  auto set = KeySet::Create(std::move(keys));
  ASSERT_TRUE(set.has_value());
  EXPECT_EQ(
      RenderJwks(*set),
      R"({"keys":[{"kty":"OKP","crv":"Ed25519","x":"11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo",)"
      R"("kid":"rfc8037","alg":"EdDSA","use":"sig"}]})");
}

TEST(JwksTest, NeverContainsTheSecret) {
  SigningKey::Seed seed{};
  seed.fill(0x5a);
  auto key = SigningKey::FromSeed("k", seed);
  ASSERT_TRUE(key.has_value());
  std::vector<SigningKey> keys;
  keys.push_back(std::move(key).value());
  auto set = KeySet::Create(std::move(keys));
  ASSERT_TRUE(set.has_value());
  const std::string jwks = RenderJwks(*set);
  EXPECT_EQ(jwks.find(Base64UrlEncode(seed).substr(0, 20)), std::string::npos);
  EXPECT_EQ(jwks.find("\"d\""), std::string::npos);
}

}  // namespace
}  // namespace myriad::auth

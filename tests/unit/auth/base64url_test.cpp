#include "auth/base64url.hpp"

#include <gtest/gtest.h>

#include <array>
#include <cstdint>
#include <optional>
#include <string>

namespace myriad::auth {
namespace {

TEST(Base64UrlTest, EncodesRfc4648VectorsWithoutPadding) {
  EXPECT_EQ(Base64UrlEncode(std::string_view("")), "");
  EXPECT_EQ(Base64UrlEncode(std::string_view("f")), "Zg");
  EXPECT_EQ(Base64UrlEncode(std::string_view("fo")), "Zm8");
  EXPECT_EQ(Base64UrlEncode(std::string_view("foo")), "Zm9v");
  EXPECT_EQ(Base64UrlEncode(std::string_view("foob")), "Zm9vYg");
  EXPECT_EQ(Base64UrlEncode(std::string_view("fooba")), "Zm9vYmE");
  EXPECT_EQ(Base64UrlEncode(std::string_view("foobar")), "Zm9vYmFy");
}

TEST(Base64UrlTest, UsesTheUrlAlphabet) {
  const std::array<std::uint8_t, 3> bytes{0xfb, 0xff, 0xbf};
  EXPECT_EQ(Base64UrlEncode(bytes), "-_-_");
  EXPECT_EQ(Base64UrlDecode("-_-_"), std::string("\xfb\xff\xbf"));
}

TEST(Base64UrlTest, RoundTripsEveryLength) {
  std::string bytes;
  for (int n = 0; n < 70; ++n) {
    const std::string encoded = Base64UrlEncode(bytes);
    EXPECT_EQ(encoded.find('='), std::string::npos);
    EXPECT_EQ(Base64UrlDecode(encoded), bytes) << "length " << n;
    bytes.push_back(static_cast<char>(n * 37 + 11));
  }
}

TEST(Base64UrlTest, DecodeRejectsPadding) {
  EXPECT_EQ(Base64UrlDecode("Zg=="), std::nullopt);
  EXPECT_EQ(Base64UrlDecode("Zm8="), std::nullopt);
  EXPECT_EQ(Base64UrlDecode("Zm9v="), std::nullopt);
}

TEST(Base64UrlTest, DecodeRejectsCharactersOutsideTheUrlAlphabet) {
  EXPECT_EQ(Base64UrlDecode("Zm9v+A"), std::nullopt);  // standard alphabet
  EXPECT_EQ(Base64UrlDecode("Zm9v/A"), std::nullopt);
  EXPECT_EQ(Base64UrlDecode("Zm9v YmFy"), std::nullopt);
  EXPECT_EQ(Base64UrlDecode("Zm9v\nYmFy"), std::nullopt);
  EXPECT_EQ(Base64UrlDecode("Zm9v."), std::nullopt);
  EXPECT_EQ(Base64UrlDecode(std::string_view("Zm\0v", 4)), std::nullopt);
}

TEST(Base64UrlTest, DecodeRejectsNonCanonicalTrailingBits) {
  // "Zg" is canonical for "f"; "Zh".."Zv" carry the same byte with non-zero spare bits.
  EXPECT_EQ(Base64UrlDecode("Zg"), std::string("f"));
  EXPECT_EQ(Base64UrlDecode("Zh"), std::nullopt);
  EXPECT_EQ(Base64UrlDecode("Zm8"), std::string("fo"));
  EXPECT_EQ(Base64UrlDecode("Zm9"), std::nullopt);
}

TEST(Base64UrlTest, DecodeRejectsADanglingCharacter) {
  EXPECT_EQ(Base64UrlDecode("Z"), std::nullopt);
  EXPECT_EQ(Base64UrlDecode("Zm9vY"), std::nullopt);
}

TEST(Base64UrlTest, DecodeExactWantsTheExactSize) {
  std::array<std::uint8_t, 3> out{};
  EXPECT_TRUE(Base64UrlDecodeExact("Zm9v", out));
  EXPECT_EQ(out, (std::array<std::uint8_t, 3>{'f', 'o', 'o'}));
  EXPECT_FALSE(Base64UrlDecodeExact("Zm8", out));
  EXPECT_EQ(out, (std::array<std::uint8_t, 3>{}));  // zeroed on failure
  EXPECT_FALSE(Base64UrlDecodeExact("Zm9vYg", out));
  EXPECT_FALSE(Base64UrlDecodeExact("Zm9=", out));

  std::array<std::uint8_t, 32> key{};
  const std::string encoded = Base64UrlEncode(std::string(32, 'k'));
  ASSERT_EQ(encoded.size(), 43U);
  EXPECT_TRUE(Base64UrlDecodeExact(encoded, key));
  EXPECT_EQ(key[31], 'k');
  // 32 bytes leave 2 spare bits in the last character: 's' (101100) is canonical, 't'
  // (101101) carries the same byte with a spare bit set.
  ASSERT_EQ(encoded.back(), 's');
  EXPECT_FALSE(Base64UrlDecodeExact(encoded.substr(0, 42) + "t", key));
}

}  // namespace
}  // namespace myriad::auth

#include "auth/signing_keys.hpp"

#include <gtest/gtest.h>
#include <sys/stat.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>
#include <utility>
#include <vector>

#include "auth/base64url.hpp"
#include "support/test_keys.hpp"

namespace myriad::auth {
namespace {

namespace fs = std::filesystem;

class KeyFileTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string pattern = (fs::temp_directory_path() / "myriad-keys-XXXXXX").string();
    ASSERT_NE(::mkdtemp(pattern.data()), nullptr);
    dir_ = pattern;
  }
  void TearDown() override {
    std::error_code ec;
    fs::remove_all(dir_, ec);
  }
  std::string PathOf(const std::string& name) const { return (dir_ / name).string(); }
  std::string Write(const std::string& name, const std::string& contents) const {
    std::string path = PathOf(name);
    std::ofstream(path, std::ios::binary) << contents;
    return path;
  }

  fs::path dir_;
};

SigningKey::Seed SeedOf(std::uint8_t fill) {
  SigningKey::Seed seed{};
  seed.fill(fill);
  return seed;
}

using myriad::testing::MakeTestKey;

TEST(SigningKeyTest, KidRules) {
  EXPECT_TRUE(IsValidKid("a"));
  EXPECT_TRUE(IsValidKid("2026-11.key_1"));
  EXPECT_TRUE(IsValidKid(std::string(64, 'k')));
  EXPECT_FALSE(IsValidKid(""));
  EXPECT_FALSE(IsValidKid(std::string(65, 'k')));
  EXPECT_FALSE(IsValidKid("a b"));
  EXPECT_FALSE(IsValidKid("a/b"));
  EXPECT_FALSE(IsValidKid("k\xc3\xa9"));
  EXPECT_FALSE(SigningKey::FromSeed("bad kid", SeedOf(1)).has_value());
}

TEST(SigningKeyTest, FromSeedIsDeterministicAndSignsVerifiably) {
  const SigningKey a = MakeTestKey("k1", 1);
  const SigningKey b = MakeTestKey("k1", 1);
  const SigningKey c = MakeTestKey("k2", 2);
  EXPECT_EQ(a.public_key(), b.public_key());
  EXPECT_NE(a.public_key(), c.public_key());
  const auto signature = a.Sign("message");
  EXPECT_TRUE(b.Verify("message", signature));
  EXPECT_FALSE(b.Verify("messagE", signature));
  EXPECT_FALSE(c.Verify("message", signature));
}

TEST(SigningKeyTest, Rfc8032TestVector1) {
  // RFC 8032 section 7.1, TEST 1: the secret key is the seed.
  SigningKey::Seed seed{};
  ASSERT_TRUE(Base64UrlDecodeExact("nWGxne_9WmC6hEr0kuwsxERJxWl7MmkZcDusAxyuf2A", seed));
  auto key = SigningKey::FromSeed("rfc", seed);
  ASSERT_TRUE(key.has_value());
  EXPECT_EQ(Base64UrlEncode(key->public_key()), "11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo");
  EXPECT_EQ(
      Base64UrlEncode(key->Sign("")),
      "5VZDAMNgrHKQhuLMgG6CioSHfx645dl02HPgZSJJAVVfuIIVkKM7rMYeOXAc-bRr0lv18FlbviRlUUFDjnoQCw");
}

TEST_F(KeyFileTest, GenerateThenLoadGivesTheSameKey) {
  const std::string path = PathOf("signing.key");
  auto generated = GenerateKeyFile(path, "2026-11");
  ASSERT_TRUE(generated.has_value()) << generated.error();
  auto loaded = LoadKeyFile(path);
  ASSERT_TRUE(loaded.has_value()) << loaded.error();
  EXPECT_EQ(loaded->kid(), "2026-11");
  EXPECT_EQ(loaded->public_key(), generated->public_key());
  EXPECT_TRUE(loaded->Verify("x", generated->Sign("x")));
}

TEST_F(KeyFileTest, GenerateWritesMode0600AndTheDocumentedFormat) {
  const std::string path = PathOf("signing.key");
  ASSERT_TRUE(GenerateKeyFile(path, "k1").has_value());
  struct stat info {};
  ASSERT_EQ(::stat(path.c_str(), &info), 0);
  EXPECT_EQ(info.st_mode & 0777, 0600U);
  std::ifstream in(path);
  std::string tag;
  std::string kid;
  std::string seed;
  in >> tag >> kid >> seed;
  EXPECT_EQ(tag, "myriad-ed25519-v1");
  EXPECT_EQ(kid, "k1");
  EXPECT_EQ(seed.size(), 43U);
}

TEST_F(KeyFileTest, GenerateRefusesToOverwrite) {
  const std::string path = Write("existing.key", "precious");
  auto result = GenerateKeyFile(path, "k1");
  ASSERT_FALSE(result.has_value());
  EXPECT_NE(result.error().find("already exists"), std::string::npos) << result.error();
  std::ifstream in(path);
  std::string contents;
  in >> contents;
  EXPECT_EQ(contents, "precious");
}

TEST_F(KeyFileTest, GenerateRejectsABadKid) {
  const std::string path = PathOf("k.key");
  EXPECT_FALSE(GenerateKeyFile(path, "has space").has_value());
  EXPECT_FALSE(fs::exists(path));
}

TEST_F(KeyFileTest, LoadAcceptsAFileWithoutTheFinalNewline) {
  const std::string seed = Base64UrlEncode(SeedOf(9));
  auto key = LoadKeyFile(Write("k.key", "myriad-ed25519-v1 k9 " + seed));
  ASSERT_TRUE(key.has_value()) << key.error();
  EXPECT_EQ(key->public_key(), MakeTestKey("k9", 9).public_key());
}

TEST_F(KeyFileTest, LoadErrorsNameThePathButNeverTheContents) {
  const std::string seed = Base64UrlEncode(SeedOf(9));  // "CQkJ..." marks the secret
  const std::vector<std::pair<std::string, std::string>> cases = {
      {"missing_tag", seed + "\n"},
      {"wrong_tag", "myriad-ed25519-v2 k1 " + seed + "\n"},
      {"no_kid", "myriad-ed25519-v1 " + seed + "\n"},
      {"bad_kid", "myriad-ed25519-v1 k/1 " + seed + "\n"},
      {"short_seed", "myriad-ed25519-v1 k1 " + seed.substr(0, 42) + "\n"},
      {"padded_seed", "myriad-ed25519-v1 k1 " + seed + "=\n"},
      {"extra_field", "myriad-ed25519-v1 k1 " + seed + " more\n"},
      {"crlf", "myriad-ed25519-v1 k1 " + seed + "\r\n"},
      {"two_spaces", "myriad-ed25519-v1  k1 " + seed + "\n"},
      {"two_lines", "myriad-ed25519-v1 k1 " + seed + "\n\n"},
      {"empty", ""},
      {"huge", std::string(1000, 'a') + seed},
  };
  for (const auto& [name, contents] : cases) {
    const std::string path = Write(name, contents);
    auto key = LoadKeyFile(path);
    ASSERT_FALSE(key.has_value()) << name;
    EXPECT_NE(key.error().find(path), std::string::npos) << name << ": " << key.error();
    EXPECT_EQ(key.error().find(seed.substr(0, 12)), std::string::npos)
        << name << ": " << key.error();
  }
}

TEST_F(KeyFileTest, LoadReportsAMissingFileAndADirectory) {
  auto missing = LoadKeyFile(PathOf("nope.key"));
  ASSERT_FALSE(missing.has_value());
  EXPECT_NE(missing.error().find("cannot open"), std::string::npos) << missing.error();
  auto dir = LoadKeyFile(dir_.string());
  ASSERT_FALSE(dir.has_value());
  EXPECT_NE(dir.error().find("not a regular file"), std::string::npos) << dir.error();
}

TEST(KeySetTest, FirstKeyIsActiveAndFindLooksUpByKid) {
  std::vector<SigningKey> keys;
  keys.push_back(MakeTestKey("new", 1));
  keys.push_back(MakeTestKey("old", 2));
  auto set = KeySet::Create(std::move(keys));
  ASSERT_TRUE(set.has_value()) << set.error();
  EXPECT_EQ(set->active().kid(), "new");
  ASSERT_NE(set->Find("old"), nullptr);
  EXPECT_EQ(set->Find("old")->public_key(), MakeTestKey("x", 2).public_key());
  EXPECT_EQ(set->Find("missing"), nullptr);
  EXPECT_EQ(set->Find(""), nullptr);
  EXPECT_EQ(set->keys().size(), 2U);
}

TEST(KeySetTest, RejectsAnEmptySetAndDuplicateKids) {
  EXPECT_FALSE(KeySet::Create({}).has_value());
  std::vector<SigningKey> keys;
  keys.push_back(MakeTestKey("same", 1));
  keys.push_back(MakeTestKey("same", 2));
  EXPECT_FALSE(KeySet::Create(std::move(keys)).has_value());
}

}  // namespace
}  // namespace myriad::auth

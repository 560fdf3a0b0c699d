#include "http/request_id.hpp"

#include <gtest/gtest.h>

#include <string>
#include <unordered_set>

namespace myriad::http {
namespace {

TEST(RequestIdTest, AcceptsTypicalIds) {
  EXPECT_TRUE(IsAcceptableRequestId("a"));
  EXPECT_TRUE(IsAcceptableRequestId("0123456789abcdef0123456789abcdef"));
  EXPECT_TRUE(IsAcceptableRequestId("550e8400-e29b-41d4-a716-446655440000"));
  EXPECT_TRUE(IsAcceptableRequestId("Root=1-67891233-abcdef012345678912345678"));
  EXPECT_TRUE(IsAcceptableRequestId("svc.name_1:2/3+4=5@host-6"));
}

TEST(RequestIdTest, LengthLimitIs128) {
  EXPECT_TRUE(IsAcceptableRequestId(std::string(kMaxRequestIdLength, 'a')));
  EXPECT_TRUE(IsAcceptableRequestId(std::string(128, 'Z')));
  EXPECT_FALSE(IsAcceptableRequestId(std::string(129, 'a')));
  EXPECT_FALSE(IsAcceptableRequestId(std::string(4096, 'a')));
}

TEST(RequestIdTest, RejectsEmpty) { EXPECT_FALSE(IsAcceptableRequestId("")); }

TEST(RequestIdTest, RejectsCharactersThatCouldInjectOrBreakLines) {
  for (const char* id : {"a\rb", "a\nb", "a\r\nX-Evil: 1", "a b", "a\tb", "a\"b", "a'b", "a\\b",
                         "a,b", "a;b", "a<b>", "a{b}", "a%20b", "a#b", "a?b", "a*b", "a|b"}) {
    EXPECT_FALSE(IsAcceptableRequestId(id)) << id;
  }
  EXPECT_FALSE(IsAcceptableRequestId(std::string("a\0b", 3)));
  EXPECT_FALSE(IsAcceptableRequestId("caf\xc3\xa9"));
  EXPECT_FALSE(IsAcceptableRequestId("\x7f"));
}

TEST(RequestIdTest, EveryAllowedPunctuationCharacterAloneIsAccepted) {
  for (char c : std::string("._:/+=@-")) {
    EXPECT_TRUE(IsAcceptableRequestId(std::string(1, c))) << c;
  }
}

TEST(RequestIdTest, ExactlyTheDocumentedCharacterSetIsAccepted) {
  for (int i = 0; i < 256; ++i) {
    const char c = static_cast<char>(i);
    const bool expected = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
                          (c >= '0' && c <= '9') ||
                          std::string_view("._:/+=@-").find(c) != std::string_view::npos;
    EXPECT_EQ(IsAcceptableRequestId(std::string(1, c)), expected) << "byte " << i;
  }
}

bool IsLowerHex32(const std::string& id) {
  if (id.size() != 32) return false;
  for (char c : id) {
    if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) return false;
  }
  return true;
}

TEST(RequestIdTest, GeneratedIdsAre32LowercaseHexAndAcceptable) {
  RequestIdGenerator generator;
  std::string id = "previous contents that are longer than thirty-two characters";
  for (int i = 0; i < 1000; ++i) {
    generator.Next(id);
    ASSERT_TRUE(IsLowerHex32(id)) << id;
    ASSERT_TRUE(IsAcceptableRequestId(id)) << id;
  }
}

TEST(RequestIdTest, GeneratedIdsAreUniqueOver100k) {
  RequestIdGenerator generator;
  std::unordered_set<std::string> seen;
  seen.reserve(100'000);
  std::string id;
  for (int i = 0; i < 100'000; ++i) {
    generator.Next(id);
    ASSERT_TRUE(seen.insert(id).second) << "duplicate id " << id << " after " << i;
  }
}

TEST(RequestIdTest, GeneratorsOnDifferentThreadsDoNotCollide) {
  // One generator per io thread: their ids must differ even though counters start equal.
  RequestIdGenerator a;
  RequestIdGenerator b;
  std::unordered_set<std::string> seen;
  std::string id;
  for (int i = 0; i < 1000; ++i) {
    a.Next(id);
    ASSERT_TRUE(seen.insert(id).second) << id;
    b.Next(id);
    ASSERT_TRUE(seen.insert(id).second) << id;
  }
}

}  // namespace
}  // namespace myriad::http

// The pure part of the seeder: row generation and COPY text escaping.
#include "db/user_seeder.hpp"

#include <gtest/gtest.h>

#include <cstdint>
#include <string>
#include <unordered_set>

namespace myriad::db {
namespace {

constexpr std::int64_t kNow = 1'800'000'000;

TEST(UserRowGenerator, EmailsAreUniqueLowerCaseAndWithinTheChecks) {
  constexpr std::int64_t kRows = 100'000;
  const UserRowGenerator generator(1, kRows, kNow, "hash");
  std::unordered_set<std::string> emails;
  std::int64_t previous_created = 0;
  for (std::int64_t i = 0; i < kRows; ++i) {
    const auto row = generator.Make(i);
    EXPECT_TRUE(emails.insert(row.email).second) << row.email;
    ASSERT_GE(row.email.size(), 3U);
    ASSERT_LE(row.email.size(), 254U);
    for (char c : row.email) ASSERT_FALSE(c >= 'A' && c <= 'Z') << row.email;
    ASSERT_GE(row.name.size(), 1U);
    ASSERT_LE(row.name.size(), 200U);
    ASSERT_GE(row.created_at_unix, previous_created);
    ASSERT_LE(row.created_at_unix, kNow);
    previous_created = row.created_at_unix;
  }
  EXPECT_GT(generator.Make(0).created_at_unix, kNow - 4 * 365 * 24 * 3600);
}

TEST(UserRowGenerator, IsDeterministicPerSeed) {
  const UserRowGenerator a(1, 100, kNow, "h");
  const UserRowGenerator b(1, 100, kNow, "h");
  const UserRowGenerator c(2, 100, kNow, "h");
  int differing = 0;
  for (int i = 0; i < 100; ++i) {
    EXPECT_EQ(a.Make(i).email, b.Make(i).email);
    if (a.Make(i).name != c.Make(i).name) ++differing;
  }
  EXPECT_GT(differing, 50);
}

TEST(UserRowGenerator, CopyLineHasSevenEscapedColumns) {
  const UserRowGenerator generator(1, 10, kNow, "$argon2id$a\tb\\c");
  std::string line;
  generator.AppendCopyLine(line, 0);
  ASSERT_EQ(line.back(), '\n');
  int tabs = 0;
  for (char c : line) tabs += c == '\t' ? 1 : 0;
  EXPECT_EQ(tabs, 6);
  EXPECT_NE(line.find("$argon2id$a\\tb\\\\c"), std::string::npos) << line;
}

TEST(AppendCopyText, EscapesTabNewlineCarriageReturnAndBackslash) {
  std::string out;
  AppendCopyText(out, "a\tb\nc\rd\\e");
  EXPECT_EQ(out, "a\\tb\\nc\\rd\\\\e");
}

TEST(FormatUtcTimestamp, FormatsKnownInstants) {
  EXPECT_EQ(FormatUtcTimestamp(0), "1970-01-01 00:00:00+00");
  EXPECT_EQ(FormatUtcTimestamp(951'782'400), "2000-02-29 00:00:00+00");
  EXPECT_EQ(FormatUtcTimestamp(1'700'000'000), "2023-11-14 22:13:20+00");
}

}  // namespace
}  // namespace myriad::db

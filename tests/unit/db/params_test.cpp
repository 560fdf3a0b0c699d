#include "db/params.hpp"

#include <gtest/gtest.h>

#include <cstdint>
#include <limits>
#include <optional>
#include <string>

namespace myriad::db {
namespace {

TEST(ParamsTest, KeepsValuesInOrderAsText) {
  std::string owned = "copied";
  Params p;
  p.Add("a").Add(owned).Add(std::int64_t{-42}).Add(true).Add(false).Add(std::int32_t{7});
  owned = "changed after Add";
  ASSERT_EQ(p.size(), 6);
  EXPECT_EQ(p.text(0), "a");
  EXPECT_EQ(p.text(1), "copied");
  EXPECT_EQ(p.text(2), "-42");
  EXPECT_EQ(p.text(3), "t");
  EXPECT_EQ(p.text(4), "f");
  EXPECT_EQ(p.text(5), "7");
  EXPECT_EQ(p.bad_index(), -1);
}

TEST(ParamsTest, Int64ExtremesAreExact) {
  auto p = Params::Of(std::numeric_limits<std::int64_t>::min(),
                      std::numeric_limits<std::int64_t>::max());
  EXPECT_EQ(p.text(0), "-9223372036854775808");
  EXPECT_EQ(p.text(1), "9223372036854775807");
}

TEST(ParamsTest, NullsAreNullPointers) {
  Params p;
  p.Add("x")
      .AddNull()
      .Add(std::nullopt)
      .Add(std::optional<std::int64_t>{})
      .Add(std::optional<std::string>{"y"});
  ASSERT_EQ(p.size(), 5);
  auto values = p.Values();
  ASSERT_EQ(values.size(), 5U);
  EXPECT_STREQ(values[0], "x");
  EXPECT_EQ(values[1], nullptr);
  EXPECT_EQ(values[2], nullptr);
  EXPECT_EQ(values[3], nullptr);
  EXPECT_STREQ(values[4], "y");
  EXPECT_TRUE(p.is_null(1));
  EXPECT_FALSE(p.is_null(4));
  EXPECT_EQ(p.text(1), "");
}

TEST(ParamsTest, EmptyStringIsNotNull) {
  Params p;
  p.Add("").AddNull().Add("");
  auto values = p.Values();
  ASSERT_NE(values[0], nullptr);
  EXPECT_STREQ(values[0], "");
  EXPECT_EQ(values[1], nullptr);
  ASSERT_NE(values[2], nullptr);
  EXPECT_EQ(p.text(2), "");
}

TEST(ParamsTest, InjectionTextIsKeptVerbatim) {
  const std::string evil = "'); DROP TABLE users; -- \\ \" $1";
  auto p = Params::Of(evil);
  EXPECT_EQ(p.text(0), evil);
  EXPECT_STREQ(p.Values()[0], evil.c_str());
}

TEST(ParamsTest, NulByteMarksTheParameterBad) {
  using namespace std::string_view_literals;
  Params p;
  p.Add("fine").Add("bad\0tail"sv).Add("also\0bad"sv);
  EXPECT_EQ(p.bad_index(), 1);
  EXPECT_EQ(p.text(1), "bad\0tail"sv);
}

TEST(ParamsTest, EmptyParams) {
  Params p;
  EXPECT_TRUE(p.empty());
  EXPECT_EQ(p.size(), 0);
  EXPECT_TRUE(p.Values().empty());
}

}  // namespace
}  // namespace myriad::db

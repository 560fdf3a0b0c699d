#include "loadgen/units.hpp"

#include <gtest/gtest.h>

#include <chrono>
#include <string>

namespace myriad::load {
namespace {

using std::chrono::microseconds;

microseconds Us(std::int64_t n) { return microseconds(n); }

TEST(UnitsTest, ParsesEveryUnit) {
  EXPECT_EQ(ParseDuration("250us").value(), Us(250));
  EXPECT_EQ(ParseDuration("500ms").value(), Us(500'000));
  EXPECT_EQ(ParseDuration("10s").value(), Us(10'000'000));
  EXPECT_EQ(ParseDuration("2m").value(), Us(120'000'000));
  EXPECT_EQ(ParseDuration("1h").value(), Us(3'600'000'000));
}

TEST(UnitsTest, BareNumbersAreSeconds) {
  EXPECT_EQ(ParseDuration("30").value(), Us(30'000'000));
  EXPECT_EQ(ParseDuration("0.5").value(), Us(500'000));
  EXPECT_EQ(ParseDuration("0").value(), Us(0));
}

TEST(UnitsTest, ParsesFractionsAndCompounds) {
  EXPECT_EQ(ParseDuration("1.5s").value(), Us(1'500'000));
  EXPECT_EQ(ParseDuration("0.1s").value(), Us(100'000));
  EXPECT_EQ(ParseDuration("1.25ms").value(), Us(1'250));
  EXPECT_EQ(ParseDuration("2m30s").value(), Us(150'000'000));
  EXPECT_EQ(ParseDuration("1h1m1s").value(), Us(3'661'000'000));
}

TEST(UnitsTest, RejectsBadTextNamingIt) {
  for (const char* text : {"", "-1s", "abc", "10x", "10 s", "1s2", "s", ".", "1e3s", "inf", "nan",
                           "1..2s", "10sms", "99999999999999h"}) {
    const auto parsed = ParseDuration(text);
    ASSERT_FALSE(parsed) << text;
    EXPECT_NE(parsed.error().find('"' + std::string(text) + '"'), std::string::npos)
        << parsed.error();
  }
}

TEST(UnitsTest, FormatsShortestForm) {
  EXPECT_EQ(FormatDuration(Us(0)), "0s");
  EXPECT_EQ(FormatDuration(Us(250)), "250us");
  EXPECT_EQ(FormatDuration(Us(250'000)), "250ms");
  EXPECT_EQ(FormatDuration(Us(1'500)), "1.5ms");
  EXPECT_EQ(FormatDuration(Us(10'000'000)), "10s");
  EXPECT_EQ(FormatDuration(Us(1'500'000)), "1.5s");
  EXPECT_EQ(FormatDuration(Us(150'000'000)), "2m30s");
  EXPECT_EQ(FormatDuration(Us(3'600'000'000)), "1h");
  EXPECT_EQ(FormatDuration(Us(3'661'000'000)), "1h1m1s");
  EXPECT_EQ(FormatDuration(Us(-2'000'000)), "-2s");
}

TEST(UnitsTest, FormatThenParseRoundTrips) {
  for (const std::int64_t us : {1LL, 999LL, 1'000LL, 1'001LL, 123'456LL, 1'000'001LL, 59'999'999LL,
                                60'000'000LL, 90'500'000LL, 7'200'000'123LL}) {
    const std::string text = FormatDuration(Us(us));
    const auto back = ParseDuration(text);
    ASSERT_TRUE(back) << text;
    EXPECT_EQ(back->count(), us) << text;
  }
}

}  // namespace
}  // namespace myriad::load

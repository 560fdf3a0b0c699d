#include "loadgen/rate.hpp"

#include <gtest/gtest.h>

#include <chrono>
#include <cstdint>
#include <string>

namespace myriad::load {
namespace {

using std::chrono::milliseconds;
using std::chrono::nanoseconds;
using std::chrono::seconds;

RateSchedule Schedule(std::string_view text) {
  auto parsed = RateSchedule::Parse(text);
  EXPECT_TRUE(parsed) << text << ": " << (parsed ? "" : parsed.error());
  return parsed ? std::move(*parsed) : RateSchedule();
}

// The two directions agree: ArrivalsBy(t) counts exactly the k with ArrivalTime(k) <= t, and
// arrival times never go backwards.
void ExpectConsistent(const RateSchedule& s, std::int64_t count) {
  nanoseconds previous(0);
  for (std::int64_t k = 0; k < count; ++k) {
    const nanoseconds t = s.ArrivalTime(k);
    ASSERT_GE(t, previous) << "k=" << k;
    previous = t;
    // Arrivals k+1 is due after t (or at t): k+1 arrivals are due by t, unless k+1 shares t.
    const std::int64_t by = s.ArrivalsBy(t);
    ASSERT_GE(by, k + 1) << "k=" << k;
    ASSERT_GT(s.ArrivalTime(by), t) << "k=" << k;
    ASSERT_LE(s.ArrivalTime(by - 1), t) << "k=" << k;
    if (t.count() > 0) {
      ASSERT_LE(s.ArrivalsBy(t - nanoseconds(1)), k) << "k=" << k;
    }
  }
}

TEST(RateScheduleTest, ConstantRateIsEvenlySpaced) {
  const RateSchedule s = Schedule("1000/s");
  EXPECT_EQ(s.ArrivalTime(0), nanoseconds(0));
  EXPECT_EQ(s.ArrivalTime(1), milliseconds(1));
  EXPECT_EQ(s.ArrivalTime(3), milliseconds(3));
  EXPECT_EQ(s.ArrivalTime(1000), seconds(1));
  EXPECT_EQ(s.ArrivalTime(123'456'789), milliseconds(123'456'789));
  EXPECT_EQ(s.ArrivalsBy(nanoseconds(0)), 1);
  EXPECT_EQ(s.ArrivalsBy(nanoseconds(-1)), 0);
  EXPECT_EQ(s.ArrivalsBy(milliseconds(1) - nanoseconds(1)), 1);
  EXPECT_EQ(s.ArrivalsBy(milliseconds(1)), 2);
  EXPECT_EQ(s.ArrivalsBy(seconds(10)), 10'001);
  EXPECT_DOUBLE_EQ(s.RateAt(seconds(5)), 1000);
  EXPECT_DOUBLE_EQ(s.PeakRate(), 1000);
  EXPECT_EQ(s.Describe(), "1000/s");
}

TEST(RateScheduleTest, UnitsAndBareNumbers) {
  EXPECT_EQ(Schedule("600/m").ArrivalTime(1), milliseconds(100));
  EXPECT_EQ(Schedule("10000").ArrivalTime(1), nanoseconds(100'000));
  EXPECT_EQ(Schedule("0.5/s").ArrivalTime(1), seconds(2));
  EXPECT_EQ(Schedule("3/s").ArrivalTime(1), nanoseconds(333'333'333));
  EXPECT_EQ(Schedule("3/s").ArrivalTime(2), nanoseconds(666'666'667));
  EXPECT_EQ(Schedule("600/m").Describe(), "10/s");
  EXPECT_EQ(Schedule("1/m").Describe(), "1/m");
}

TEST(RateScheduleTest, StepsFollowEachOther) {
  // 10 arrivals in the first second (0, 100ms, ..., 900ms), then 100/s.
  const RateSchedule s = Schedule("10/s:1s,100/s");
  EXPECT_EQ(s.ArrivalTime(9), milliseconds(900));
  EXPECT_EQ(s.ArrivalTime(10), seconds(1));
  EXPECT_EQ(s.ArrivalTime(11), milliseconds(1010));
  EXPECT_EQ(s.ArrivalTime(110), seconds(2));
  EXPECT_EQ(s.ArrivalsBy(milliseconds(999)), 10);
  EXPECT_EQ(s.ArrivalsBy(seconds(1)), 11);
  EXPECT_EQ(s.ArrivalsBy(seconds(2)), 111);
  EXPECT_DOUBLE_EQ(s.RateAt(milliseconds(500)), 10);
  EXPECT_DOUBLE_EQ(s.RateAt(seconds(3)), 100);
  EXPECT_DOUBLE_EQ(s.PeakRate(), 100);
  EXPECT_EQ(s.Describe(), "10/s:1s,100/s");
}

TEST(RateScheduleTest, LastStepWithLengthContinuesAtItsRate) {
  const RateSchedule s = Schedule("10/s:1s,20/s:1s");
  EXPECT_EQ(s.ArrivalTime(30), seconds(2));
  EXPECT_EQ(s.ArrivalTime(31), milliseconds(2050));
  EXPECT_DOUBLE_EQ(s.RateAt(seconds(5)), 20);
}

TEST(RateScheduleTest, StepBoundaryInsideAnInterval) {
  // 1.5 arrivals in the first half second: arrival 1 at 333.33ms, arrival 2 half an
  // interval of the next step after 500ms.
  const RateSchedule s = Schedule("3/s:500ms,1/s");
  EXPECT_EQ(s.ArrivalTime(1), nanoseconds(333'333'333));
  EXPECT_EQ(s.ArrivalTime(2), milliseconds(1000));
  EXPECT_EQ(s.ArrivalTime(3), milliseconds(2000));
  ExpectConsistent(s, 50);
}

TEST(RateScheduleTest, RampIntegratesTheRate) {
  // From 0 to 10s the rate grows 100/s -> 300/s: N(t) = 100t + 10t^2, so 2000 arrivals in
  // the ramp, N(5) = 750.
  const RateSchedule s = Schedule("100/s..300/s:10s");
  EXPECT_EQ(s.ArrivalTime(750), seconds(5));
  EXPECT_EQ(s.ArrivalTime(2000), seconds(10));
  EXPECT_EQ(s.ArrivalTime(2300), seconds(11));  // then 300/s
  EXPECT_EQ(s.ArrivalTime(110), seconds(1));    // N(1) = 110
  EXPECT_EQ(s.ArrivalsBy(seconds(5)), 751);
  EXPECT_EQ(s.ArrivalsBy(seconds(10)), 2001);
  EXPECT_DOUBLE_EQ(s.RateAt(seconds(5)), 200);
  EXPECT_DOUBLE_EQ(s.RateAt(seconds(20)), 300);
  EXPECT_DOUBLE_EQ(s.PeakRate(), 300);
  EXPECT_EQ(s.Describe(), "100/s..300/s:10s");
}

TEST(RateScheduleTest, DownwardRamp) {
  // 300/s -> 100/s over 10s: N(t) = 300t - 10t^2; N(5) = 1250, N(10) = 2000.
  const RateSchedule s = Schedule("300/s..100/s:10s,50/s");
  EXPECT_EQ(s.ArrivalTime(1250), seconds(5));
  EXPECT_EQ(s.ArrivalTime(2000), seconds(10));
  EXPECT_EQ(s.ArrivalTime(2050), seconds(11));
  EXPECT_DOUBLE_EQ(s.RateAt(milliseconds(2500)), 250);
}

TEST(RateScheduleTest, ArrivalsByInvertsArrivalTime) {
  for (const char* text :
       {"1000/s", "3/s", "7/m", "9999.5/s", "10/s:1s,100/s", "3/s:500ms,1/s:333ms,17/s",
        "100/s..300/s:10s", "1/s..5000/s:3s,5000/s..1/s:2s,7/s", "123/s..45/s:7s", "10000000/s"}) {
    SCOPED_TRACE(text);
    ExpectConsistent(Schedule(text), 20'000);
  }
}

TEST(RateScheduleTest, ArrivalsByAtArbitraryTimes) {
  const RateSchedule s = Schedule("1/s..5000/s:3s,5000/s..1/s:2s,7/s");
  for (std::int64_t ns = 0; ns < 8'000'000'000; ns += 999'983) {
    const nanoseconds t(ns);
    const std::int64_t by = s.ArrivalsBy(t);
    ASSERT_GE(by, 1);
    ASSERT_LE(s.ArrivalTime(by - 1), t);
    ASSERT_GT(s.ArrivalTime(by), t);
  }
}

TEST(RateScheduleTest, HugeIndicesStayMonotonic) {
  const RateSchedule s = Schedule("1000/s:1s,1/m");
  EXPECT_LT(s.ArrivalTime(1'000'000), s.ArrivalTime(1'000'001));
  EXPECT_LE(s.ArrivalTime(INT64_MAX - 1), s.ArrivalTime(INT64_MAX));
}

TEST(RateScheduleTest, RejectsBadTextNamingIt) {
  for (const char* text : {"",
                           "0/s",
                           "0",
                           "-5/s",
                           "abc",
                           "10/h",
                           "10/s:",
                           "10/s:0s",
                           "10/s,20/s",
                           "10/s:1s,",
                           "1e3/s",
                           "inf/s",
                           "nan",
                           "100/s..200/s",
                           "100/s..0/s:10s",
                           "100/s..:5s",
                           ",10/s",
                           "10/s:-1s",
                           "10/s:5x",
                           "20000000/s",
                           " 10/s",
                           "10/s..20/s..30/s:1s"}) {
    const auto parsed = RateSchedule::Parse(text);
    ASSERT_FALSE(parsed) << text;
    if (*text != '\0') {
      EXPECT_NE(parsed.error().find(text), std::string::npos) << parsed.error();
    }
  }
}

}  // namespace
}  // namespace myriad::load

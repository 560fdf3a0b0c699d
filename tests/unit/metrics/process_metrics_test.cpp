#include "metrics/process_metrics.hpp"

#include <gtest/gtest.h>
#include <prometheus/collectable.h>
#include <prometheus/metric_family.h>

#include <set>
#include <string>

namespace myriad::metrics {
namespace {

// A real line from proc(5) layout, with a command name that holds ") (" and spaces.
constexpr std::string_view kStat =
    "4242 (my) (odd prog) S 1 4242 4242 0 -1 4194560 1200 0 3 0 250 75 0 0 20 0 4 0 "
    "987654 123457536 2049 18446744073709551615 1 1 0 0 0 0 0 4096 16387 0 0 0 17 1 0 0 "
    "0 0 0\n";

TEST(ParseProcStatTest, ReadsFieldsAfterTheLastParenthesis) {
  const auto stat = ParseProcStat(kStat);
  ASSERT_TRUE(stat.has_value());
  EXPECT_EQ(stat->user_ticks, 250U);
  EXPECT_EQ(stat->system_ticks, 75U);
  EXPECT_EQ(stat->start_ticks, 987654U);
  EXPECT_EQ(stat->virtual_bytes, 123457536U);
  EXPECT_EQ(stat->resident_pages, 2049U);
}

TEST(ParseProcStatTest, RejectsMalformedText) {
  EXPECT_FALSE(ParseProcStat(""));
  EXPECT_FALSE(ParseProcStat("4242 no parenthesis S 1 2 3"));
  EXPECT_FALSE(ParseProcStat("4242 (short) S 1 4242 4242 0 -1 4194560 1200 0 3 0 250 75"));
  EXPECT_FALSE(ParseProcStat(
      "4242 (x) S 1 4242 4242 0 -1 4194560 1200 0 3 0 2x0 75 0 0 20 0 4 0 987654 1 2\n"));
}

TEST(ParseBootTimeTest, FindsTheBtimeLine) {
  EXPECT_EQ(ParseBootTime("cpu  1 2 3\nintr 5 6 7\nctxt 99\nbtime 1700000000\nprocesses 5\n"),
            1700000000U);
  EXPECT_EQ(ParseBootTime("btime 12"), 12U);
  EXPECT_FALSE(ParseBootTime("cpu 1 2 3\nprocesses 5\n"));
  EXPECT_FALSE(ParseBootTime("xbtime 5\n"));
  EXPECT_FALSE(ParseBootTime("btime abc\n"));
}

TEST(ProcessMetricsTest, ReportsEveryFamilyOnLinux) {
  const auto families = MakeProcessMetrics()->Collect();
  std::set<std::string> names;
  for (const auto& family : families) {
    EXPECT_EQ(family.metric.size(), 1U) << family.name;
    names.insert(family.name);
  }
  EXPECT_EQ(names, (std::set<std::string>{
                       "process_cpu_seconds_total", "process_resident_memory_bytes",
                       "process_virtual_memory_bytes", "process_open_fds", "process_max_fds",
                       "process_start_time_seconds", "myriad_build_info"}));
}

}  // namespace
}  // namespace myriad::metrics

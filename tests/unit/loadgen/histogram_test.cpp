#include "loadgen/histogram.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <random>
#include <vector>

namespace myriad::load {
namespace {

// The exact percentile of `sorted`: the smallest sample with at least `percentile`% of all
// samples at or below it.
std::int64_t ExactPercentile(const std::vector<std::int64_t>& sorted, double percentile) {
  const auto n = static_cast<double>(sorted.size());
  auto rank = static_cast<std::int64_t>(std::ceil(percentile / 100.0 * n - 1e-9));
  rank = std::clamp<std::int64_t>(rank, 1, static_cast<std::int64_t>(sorted.size()));
  return sorted[static_cast<std::size_t>(rank - 1)];
}

// Within 3 significant digits (0.1%) of the exact value, and never below it (HdrHistogram
// reports the highest value equivalent to the exact one).
void ExpectPercentiles(const Histogram& h, std::vector<std::int64_t> samples) {
  std::sort(samples.begin(), samples.end());
  for (const double p : {1.0, 10.0, 25.0, 50.0, 75.0, 90.0, 95.0, 99.0, 99.5, 99.9, 99.99, 100.0}) {
    const std::int64_t exact = ExactPercentile(samples, p);
    const std::int64_t got = h.ValueAtPercentile(p);
    EXPECT_GE(got, exact) << "p" << p;
    EXPECT_LE(static_cast<double>(got - exact), static_cast<double>(exact) * 0.001) << "p" << p;
  }
}

Histogram RecordAll(const std::vector<std::int64_t>& samples) {
  Histogram h;
  for (const std::int64_t v : samples) h.Record(v);
  return h;
}

TEST(HistogramTest, EmptyIsAllZero) {
  const Histogram h;
  EXPECT_EQ(h.Count(), 0);
  EXPECT_EQ(h.Min(), 0);
  EXPECT_EQ(h.Max(), 0);
  EXPECT_EQ(h.Mean(), 0.0);
  EXPECT_EQ(h.Clamped(), 0);
  EXPECT_EQ(h.ValueAtPercentile(50), 0);
  EXPECT_EQ(h.ValueAtPercentile(100), 0);
  EXPECT_TRUE(h.Buckets().empty());
}

TEST(HistogramTest, UniformOneToHundredThousand) {
  std::vector<std::int64_t> samples;
  for (std::int64_t v = 1; v <= 100'000; ++v) samples.push_back(v);
  const Histogram h = RecordAll(samples);
  EXPECT_EQ(h.Count(), 100'000);
  EXPECT_EQ(h.Min(), 1);
  EXPECT_EQ(h.Max(), 100'000);
  EXPECT_DOUBLE_EQ(h.Mean(), 50'000.5);
  ExpectPercentiles(h, samples);
  // Exact below 2048, where every value has its own counter.
  EXPECT_EQ(h.ValueAtPercentile(1), 1000);
  EXPECT_EQ(h.ValueAtPercentile(2), 2000);
  // 50,000 lies in a bucket of width 32: [49984, 50015].
  EXPECT_EQ(h.ValueAtPercentile(50), 50'015);
  EXPECT_EQ(h.ValueAtPercentile(100), 100'000);
}

TEST(HistogramTest, Bimodal) {
  std::vector<std::int64_t> samples;
  std::mt19937_64 rng(42);
  std::normal_distribution<double> fast(800, 50);
  std::normal_distribution<double> slow(250'000, 20'000);
  samples.reserve(10'000);
  for (int i = 0; i < 9'000; ++i)
    samples.push_back(std::max<std::int64_t>(1, std::llround(fast(rng))));
  for (int i = 0; i < 1'000; ++i)
    samples.push_back(std::max<std::int64_t>(1, std::llround(slow(rng))));
  const Histogram h = RecordAll(samples);
  ExpectPercentiles(h, samples);
  EXPECT_LT(h.ValueAtPercentile(90), 2'000);
  EXPECT_GT(h.ValueAtPercentile(90.01), 100'000);
}

TEST(HistogramTest, LogUniformOverTheWholeRange) {
  std::vector<std::int64_t> samples;
  std::mt19937_64 rng(7);
  std::uniform_real_distribution<double> exponent(0, std::log10(3.6e9));
  samples.reserve(50'000);
  for (int i = 0; i < 50'000; ++i) samples.push_back(std::llround(std::pow(10.0, exponent(rng))));
  const Histogram h = RecordAll(samples);
  EXPECT_EQ(h.Clamped(), 0);
  ExpectPercentiles(h, samples);
}

TEST(HistogramTest, SingleValue) {
  Histogram h;
  h.Record(123'456);
  EXPECT_EQ(h.Count(), 1);
  EXPECT_EQ(h.Min(), 123'456);
  EXPECT_EQ(h.Max(), 123'456);
  EXPECT_DOUBLE_EQ(h.Mean(), 123'456.0);
  // The bucket's highest equivalent value is above it; Max() caps it.
  for (const double p : {0.0, 0.001, 50.0, 99.999, 100.0}) {
    EXPECT_EQ(h.ValueAtPercentile(p), 123'456) << p;
  }
}

TEST(HistogramTest, BucketBoundaries) {
  const std::vector<std::int64_t> values{1,    2,    1023, 1024, 2046, 2047, 2048, 2049,
                                         2050, 4094, 4095, 4096, 4097, 8191, 8192, 1'000'000};
  for (const std::int64_t v : values) {
    Histogram h;
    h.Record(v);
    h.Record(Histogram::kHighest);
    const std::vector<Histogram::Bucket> buckets = h.Buckets();
    ASSERT_EQ(buckets.size(), 2U) << v;
    EXPECT_LE(buckets[0].low, v);
    EXPECT_GE(buckets[0].high, v);
    // Three significant digits: the bucket is at most 1/1024 of its value wide.
    EXPECT_LE(static_cast<double>(buckets[0].high - buckets[0].low),
              static_cast<double>(buckets[0].low) / 1024.0)
        << v;
    EXPECT_EQ(h.ValueAtPercentile(50), buckets[0].high) << v;
  }
  Histogram h;
  h.Record(2047);
  h.Record(2048);
  h.Record(2049);
  // Below 2048 one counter per value; 2048 and 2049 share one of width 2.
  const std::vector<Histogram::Bucket> buckets = h.Buckets();
  ASSERT_EQ(buckets.size(), 2U);
  EXPECT_EQ(buckets[0].low, 2047);
  EXPECT_EQ(buckets[0].high, 2047);
  EXPECT_EQ(buckets[1].low, 2048);
  EXPECT_EQ(buckets[1].high, 2049);
  EXPECT_EQ(buckets[1].count, 2);
  EXPECT_EQ(h.ValueAtPercentile(33), 2047);
  EXPECT_EQ(h.ValueAtPercentile(34), 2049);
}

TEST(HistogramTest, HugeValuesAreClamped) {
  Histogram h;
  h.Record(10);
  h.Record(Histogram::kHighest);
  h.RecordN(Histogram::kHighest + 1, 3);
  h.Record(std::int64_t{1} << 62);
  EXPECT_EQ(h.Count(), 6);
  EXPECT_EQ(h.Clamped(), 4);
  EXPECT_EQ(h.Max(), Histogram::kHighest);
  EXPECT_EQ(h.ValueAtPercentile(100), Histogram::kHighest);
  EXPECT_EQ(h.ValueAtPercentile(50), Histogram::kHighest);
  EXPECT_EQ(h.ValueAtPercentile(10), 10);
}

TEST(HistogramTest, ValuesBelowOneCountAsOne) {
  Histogram h;
  h.Record(0);
  h.Record(-5);
  EXPECT_EQ(h.Count(), 2);
  EXPECT_EQ(h.Min(), 1);
  EXPECT_EQ(h.Max(), 1);
  EXPECT_EQ(h.ValueAtPercentile(100), 1);
}

TEST(HistogramTest, RecordNWeights) {
  Histogram h;
  h.RecordN(100, 99);
  h.RecordN(5'000, 1);
  h.RecordN(7, 0);
  EXPECT_EQ(h.Count(), 100);
  EXPECT_EQ(h.Min(), 100);
  EXPECT_EQ(h.ValueAtPercentile(99), 100);
  EXPECT_EQ(h.ValueAtPercentile(99.5), 5'000);
  EXPECT_DOUBLE_EQ(h.Mean(), (99 * 100 + 5'000) / 100.0);
}

TEST(HistogramTest, PercentileArgumentIsClamped) {
  Histogram h;
  for (std::int64_t v = 1; v <= 10; ++v) h.Record(v * 100);
  EXPECT_EQ(h.ValueAtPercentile(0), 100);
  EXPECT_EQ(h.ValueAtPercentile(-3), 100);
  EXPECT_EQ(h.ValueAtPercentile(250), 1000);
  EXPECT_EQ(h.ValueAtPercentile(10), 100);
  EXPECT_EQ(h.ValueAtPercentile(10.0001), 200);
  EXPECT_EQ(h.ValueAtPercentile(std::nan("")), 100);
}

TEST(HistogramTest, MinMaxMeanAreExact) {
  Histogram h;
  h.Record(1'000'003);
  h.Record(2'000'001);
  h.Record(3'000'005);
  EXPECT_EQ(h.Min(), 1'000'003);
  EXPECT_EQ(h.Max(), 3'000'005);
  EXPECT_DOUBLE_EQ(h.Mean(), 2'000'003.0);
  EXPECT_EQ(h.ValueAtPercentile(0), 1'000'003);
  EXPECT_EQ(h.ValueAtPercentile(100), 3'000'005);
}

TEST(HistogramTest, MergeEqualsRecordingEverythingInOne) {
  std::mt19937_64 rng(1);
  std::lognormal_distribution<double> latency(8, 1.5);
  Histogram a;
  Histogram b;
  Histogram all;
  for (int i = 0; i < 20'000; ++i) {
    const std::int64_t v = std::llround(latency(rng));
    (i % 3 == 0 ? a : b).Record(v);
    all.Record(v);
  }
  b.Record(Histogram::kHighest * 2);
  all.Record(Histogram::kHighest * 2);
  Histogram merged;
  merged.Merge(a);
  merged.Merge(b);
  merged.Merge(Histogram());
  EXPECT_EQ(merged.Count(), all.Count());
  EXPECT_EQ(merged.Min(), all.Min());
  EXPECT_EQ(merged.Max(), all.Max());
  EXPECT_EQ(merged.Clamped(), 1);
  EXPECT_NEAR(merged.Mean(), all.Mean(), all.Mean() * 1e-12);
  for (const double p : {0.0, 50.0, 90.0, 99.0, 99.9, 100.0}) {
    EXPECT_EQ(merged.ValueAtPercentile(p), all.ValueAtPercentile(p)) << p;
  }
  const auto mb = merged.Buckets();
  const auto ab = all.Buckets();
  ASSERT_EQ(mb.size(), ab.size());
  for (std::size_t i = 0; i < mb.size(); ++i) {
    EXPECT_EQ(mb[i].low, ab[i].low);
    EXPECT_EQ(mb[i].count, ab[i].count);
  }
}

TEST(HistogramTest, MergeIntoEmptyKeepsMin) {
  Histogram a;
  a.Record(500);
  Histogram empty;
  empty.Merge(a);
  EXPECT_EQ(empty.Min(), 500);
  EXPECT_EQ(empty.Max(), 500);
}

TEST(HistogramTest, ResetForgetsEverything) {
  Histogram h;
  h.Record(5);
  h.Record(Histogram::kHighest + 1);
  h.Reset();
  EXPECT_EQ(h.Count(), 0);
  EXPECT_EQ(h.Min(), 0);
  EXPECT_EQ(h.Max(), 0);
  EXPECT_EQ(h.Mean(), 0.0);
  EXPECT_EQ(h.Clamped(), 0);
  EXPECT_TRUE(h.Buckets().empty());
  h.Record(700);
  EXPECT_EQ(h.Min(), 700);
  EXPECT_EQ(h.ValueAtPercentile(50), 700);
}

TEST(HistogramTest, BucketsSumToCountInOrder) {
  Histogram h;
  std::mt19937_64 rng(3);
  std::uniform_int_distribution<std::int64_t> value(1, 10'000'000);
  for (int i = 0; i < 30'000; ++i) h.Record(value(rng));
  std::int64_t sum = 0;
  std::int64_t previous_high = 0;
  for (const Histogram::Bucket& b : h.Buckets()) {
    EXPECT_GT(b.count, 0);
    EXPECT_LE(b.low, b.high);
    EXPECT_GT(b.low, previous_high);
    previous_high = b.high;
    sum += b.count;
  }
  EXPECT_EQ(sum, h.Count());
}

// The highest bucket of the layout still holds kHighest, to 3 significant digits.
TEST(HistogramTest, HighestValueFits) {
  Histogram h;
  h.Record(Histogram::kHighest);
  const std::vector<Histogram::Bucket> buckets = h.Buckets();
  ASSERT_EQ(buckets.size(), 1U);
  EXPECT_LE(buckets[0].low, Histogram::kHighest);
  EXPECT_GE(buckets[0].high, Histogram::kHighest);
  EXPECT_LE(static_cast<double>(buckets[0].high - buckets[0].low),
            static_cast<double>(Histogram::kHighest) * 0.001);
}

}  // namespace
}  // namespace myriad::load

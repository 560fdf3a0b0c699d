// The HdrHistogram layout (Gil Tene's HdrHistogram, the C port's hdr_histogram.c), written by
// hand because Debian 12 packages no C or C++ HdrHistogram. Fixed parameters: 3 significant
// digits, unit magnitude 0 (one microsecond), highest trackable value one hour.
//
// Values are kept in buckets of 2048 sub-buckets; bucket b (b >= 1) covers
// [1024 << b, 2048 << b) with a resolution of 1 << b, so every value keeps 3 significant
// digits. Only the upper half of each bucket above the first is stored (the lower half
// overlaps the previous bucket), which is where (bucket_count + 1) * 1024 counters come from.
#include "loadgen/histogram.hpp"

#include <algorithm>
#include <bit>
#include <cassert>
#include <cmath>
#include <cstddef>
#include <cstdint>

namespace myriad::load {
namespace {

constexpr int kSubBucketCountMagnitude = 11;  // ceil(log2(2 * 10^3))
constexpr std::int64_t kSubBucketCount = std::int64_t{1} << kSubBucketCountMagnitude;  // 2048
constexpr int kSubBucketHalfCountMagnitude = kSubBucketCountMagnitude - 1;
constexpr std::int64_t kSubBucketHalfCount = kSubBucketCount / 2;  // 1024
constexpr std::uint64_t kSubBucketMask = kSubBucketCount - 1;
// 64 - unit magnitude (0) - sub-bucket half count magnitude - 1.
constexpr int kLeadingZeroCountBase = 64 - kSubBucketHalfCountMagnitude - 1;

constexpr int BucketsNeeded(std::int64_t highest) {
  std::int64_t smallest_untrackable = kSubBucketCount;
  int buckets = 1;
  while (smallest_untrackable <= highest) {
    smallest_untrackable <<= 1;
    ++buckets;
  }
  return buckets;
}

constexpr int kBucketCount = BucketsNeeded(Histogram::kHighest);  // 22
constexpr std::size_t kCountsLength =
    static_cast<std::size_t>(kBucketCount + 1) * static_cast<std::size_t>(kSubBucketHalfCount);

// Which power-of-two bucket `value` falls into: one count-leading-zeros, no loop. Or-ing the
// mask puts every value below 2048 into bucket 0.
int BucketIndex(std::int64_t value) {
  const auto bits = static_cast<std::uint64_t>(value) | kSubBucketMask;
  return kLeadingZeroCountBase - std::countl_zero(bits);
}

std::size_t CountsIndex(std::int64_t value) {
  const int bucket = BucketIndex(value);
  const std::int64_t sub_bucket = value >> bucket;
  const std::int64_t bucket_base = static_cast<std::int64_t>(bucket + 1)
                                   << kSubBucketHalfCountMagnitude;
  return static_cast<std::size_t>(bucket_base + (sub_bucket - kSubBucketHalfCount));
}

struct Position {
  int bucket;
  std::int64_t sub_bucket;
};

Position PositionOf(std::size_t index) {
  const auto i = static_cast<std::int64_t>(index);
  int bucket = static_cast<int>(i >> kSubBucketHalfCountMagnitude) - 1;
  std::int64_t sub_bucket = (i & (kSubBucketHalfCount - 1)) + kSubBucketHalfCount;
  if (bucket < 0) {
    sub_bucket -= kSubBucketHalfCount;
    bucket = 0;
  }
  return {bucket, sub_bucket};
}

std::int64_t LowestEquivalent(std::size_t index) {
  const Position p = PositionOf(index);
  return p.sub_bucket << p.bucket;
}

std::int64_t HighestEquivalent(std::size_t index) {
  const Position p = PositionOf(index);
  return LowestEquivalent(index) + (std::int64_t{1} << p.bucket) - 1;
}

}  // namespace

Histogram::Histogram() : counts_(kCountsLength, 0) {}

void Histogram::RecordN(std::int64_t value_us, std::int64_t count) {
  if (count <= 0) return;
  std::int64_t value = std::max(value_us, kLowest);
  if (value > kHighest) {
    value = kHighest;
    clamped_ += count;
  }
  counts_[CountsIndex(value)] += count;
  if (total_ == 0) {
    min_ = value;
    max_ = value;
  } else {
    min_ = std::min(min_, value);
    max_ = std::max(max_, value);
  }
  total_ += count;
  sum_ += static_cast<double>(value) * static_cast<double>(count);
}

void Histogram::Merge(const Histogram& other) {
  if (other.total_ == 0) return;
  for (std::size_t i = 0; i < counts_.size(); ++i) counts_[i] += other.counts_[i];
  if (total_ == 0) {
    min_ = other.min_;
    max_ = other.max_;
  } else {
    min_ = std::min(min_, other.min_);
    max_ = std::max(max_, other.max_);
  }
  total_ += other.total_;
  clamped_ += other.clamped_;
  sum_ += other.sum_;
}

void Histogram::Reset() {
  std::fill(counts_.begin(), counts_.end(), 0);
  total_ = 0;
  min_ = 0;
  max_ = 0;
  clamped_ = 0;
  sum_ = 0;
}

std::int64_t Histogram::Min() const { return min_; }

std::int64_t Histogram::Max() const { return max_; }

double Histogram::Mean() const { return total_ == 0 ? 0.0 : sum_ / static_cast<double>(total_); }

std::int64_t Histogram::ValueAtPercentile(double percentile) const {
  if (total_ == 0) return 0;
  // NaN compares false everywhere: treat it as 0 rather than walking with a NaN rank.
  const double requested = std::isnan(percentile) ? 0.0 : std::clamp(percentile, 0.0, 100.0);
  if (requested == 0.0) return min_;
  // As HdrHistogram's Java getValueAtPercentile: take one ulp off before rounding up, so that
  // 99.9% of 1000 values is rank 999 and not 1000 through (0.999 * 1000 = 999.0000000000001).
  const double rank =
      std::ceil(std::nextafter(requested, 0.0) / 100.0 * static_cast<double>(total_));
  const std::int64_t wanted = std::clamp(static_cast<std::int64_t>(rank), std::int64_t{1}, total_);
  std::int64_t seen = 0;
  for (std::size_t i = CountsIndex(min_); i < counts_.size(); ++i) {
    seen += counts_[i];
    if (seen >= wanted) return std::min(HighestEquivalent(i), max_);
  }
  assert(false && "the counts add up to total_");
  return max_;
}

std::vector<Histogram::Bucket> Histogram::Buckets() const {
  std::vector<Bucket> out;
  if (total_ == 0) return out;
  for (std::size_t i = CountsIndex(min_); i < counts_.size(); ++i) {
    if (counts_[i] != 0) out.push_back({LowestEquivalent(i), HighestEquivalent(i), counts_[i]});
  }
  return out;
}

}  // namespace myriad::load

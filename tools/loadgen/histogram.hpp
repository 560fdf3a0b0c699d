#pragma once

#include <cstdint>
#include <vector>

namespace myriad::load {

/// A latency histogram in the HdrHistogram layout: values (microseconds) from 1 us to one
/// hour kept to 3 significant digits in fixed memory (about 190 KiB, allocated once).
/// Values above the range are recorded as the highest trackable value and counted in
/// Clamped(); values below 1 are recorded as 1. Not thread-safe: one per thread, merged.
///
/// Written here because Debian 12 packages no C or C++ HdrHistogram.
class Histogram {
 public:
  static constexpr std::int64_t kLowest = 1;
  static constexpr std::int64_t kHighest = 3'600'000'000;  // one hour in microseconds

  Histogram();

  void Record(std::int64_t value_us) { RecordN(value_us, 1); }
  void RecordN(std::int64_t value_us, std::int64_t count);
  /// Adds every count of `other` (same layout: any Histogram).
  void Merge(const Histogram& other);
  void Reset();

  std::int64_t Count() const { return total_; }
  /// 0 when empty. Min and Max are exact (kept aside from the buckets).
  std::int64_t Min() const;
  std::int64_t Max() const;
  double Mean() const;
  /// Values recorded above kHighest (kept as kHighest).
  std::int64_t Clamped() const { return clamped_; }

  /// The smallest recorded value v such that at least `percentile`% of all recorded values
  /// are <= v, reported as the highest value equivalent to v's bucket (like HdrHistogram),
  /// but never above Max(). `percentile` is clamped to [0, 100]; 0 when empty.
  std::int64_t ValueAtPercentile(double percentile) const;

  /// One non-empty bucket: every value in [low, high] counts as the same value.
  struct Bucket {
    std::int64_t low;
    std::int64_t high;
    std::int64_t count;
  };
  /// Non-empty buckets in increasing order of value.
  std::vector<Bucket> Buckets() const;

 private:
  std::vector<std::int64_t> counts_;
  std::int64_t total_ = 0;
  std::int64_t min_ = 0;
  std::int64_t max_ = 0;
  std::int64_t clamped_ = 0;
  double sum_ = 0;
};

}  // namespace myriad::load

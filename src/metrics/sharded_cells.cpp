#include "metrics/sharded_cells.hpp"

#include <prometheus/client_metric.h>

#include <algorithm>
#include <cmath>
#include <limits>

namespace myriad::metrics {
namespace {

// Nothing takes a year; the cap keeps the double -> integer conversion defined.
constexpr double kMaxObservedSeconds = 365.0 * 24 * 3600;

}  // namespace

ShardedCells::ShardedCells(std::size_t shards, std::size_t cells_per_shard)
    : shards_(std::max<std::size_t>(shards, 1)),
      blocks_per_shard_((cells_per_shard + Block::kCells - 1) / Block::kCells),
      blocks_(shards_ * blocks_per_shard_) {}

std::uint64_t ShardedCells::Sum(std::size_t cell) const {
  std::uint64_t total = 0;
  for (std::size_t s = 0; s < shards_; ++s) total += Get(s, cell);
  return total;
}

std::size_t HistogramCells::Bucket(double value) const {
  return static_cast<std::size_t>(std::lower_bound(bounds.begin(), bounds.end(), value) -
                                  bounds.begin());
}

void HistogramCells::Observe(ShardedCells& cells, std::size_t shard, std::size_t first,
                             double seconds) const {
  // `!(x > 0)` also catches NaN, which would otherwise land in the first bucket.
  if (!(seconds > 0)) seconds = 0;
  seconds = std::min(seconds, kMaxObservedSeconds);
  cells.Add(shard, first + Bucket(seconds), 1);
  cells.Add(shard, first + bounds.size() + 1,
            static_cast<std::uint64_t>(std::llround(seconds * 1e9)));
}

bool HistogramCells::Collect(const ShardedCells& cells, std::size_t first,
                             prometheus::ClientMetric& metric) const {
  const std::size_t buckets = bounds.size() + 1;
  std::vector<std::uint64_t> counts(buckets);
  std::uint64_t count = 0;
  for (std::size_t b = 0; b < buckets; ++b) {
    counts[b] = cells.Sum(first + b);
    count += counts[b];
  }
  if (count == 0) return false;
  metric.histogram.sample_count = count;
  // Read after the buckets: it may include a few observations more than they do.
  metric.histogram.sample_sum = static_cast<double>(cells.Sum(first + buckets)) / 1e9;
  metric.histogram.bucket.clear();
  metric.histogram.bucket.reserve(buckets);
  std::uint64_t cumulative = 0;
  for (std::size_t b = 0; b < buckets; ++b) {
    cumulative += counts[b];
    metric.histogram.bucket.push_back(
        {cumulative, b < bounds.size() ? bounds[b] : std::numeric_limits<double>::infinity()});
  }
  return true;
}

}  // namespace myriad::metrics

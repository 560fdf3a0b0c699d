#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <utility>
#include <vector>

#include "metrics/sharded_cells.hpp"

namespace prometheus {
class Collectable;
}

namespace myriad::metrics {

using Labels = std::vector<std::pair<std::string, std::string>>;

/// A fixed set of labelled counters, gauges and histograms kept in ShardedCells (one shard
/// per io thread: lock-free writes, merged at scrape time). Series are declared at start-up,
/// then Seal() allocates the cells; after that the set is only written and collected.
///
///   SeriesSet set(threads);
///   auto hits = set.Counter("myriad_cache_requests_total", "...", {{"outcome", "hit"}});
///   set.Seal();
///   set.Add(shard, hits);
class SeriesSet {
 public:
  using Id = std::size_t;
  enum class Kind : std::uint8_t { kCounter, kGauge, kHistogram };

  explicit SeriesSet(std::size_t shards);
  ~SeriesSet();
  SeriesSet(const SeriesSet&) = delete;
  SeriesSet& operator=(const SeriesSet&) = delete;

  // Declaring (before Seal). A family's help and kind come from its first series.
  Id Counter(const std::string& family, const std::string& help, Labels labels = {});
  Id Gauge(const std::string& family, const std::string& help, Labels labels = {});
  /// `bounds` must outlive the set (a static array).
  Id Histogram(const std::string& family, const std::string& help, Labels labels,
               std::span<const double> bounds);
  void Seal();

  // Writing: only from the thread that owns `shard`.
  void Add(std::size_t shard, Id id, std::uint64_t by = 1) { cells_->Add(shard, base_[id], by); }
  /// A gauge's per-shard value; the exposition sums the shards.
  void Set(std::size_t shard, Id id, std::uint64_t value) { cells_->Set(shard, base_[id], value); }
  void Observe(std::size_t shard, Id id, double seconds);

  std::uint64_t Sum(Id id) const { return cells_->Sum(base_[id]); }
  std::size_t shards() const { return shards_; }

  /// For metrics::Registry::Add; valid after Seal.
  std::shared_ptr<prometheus::Collectable> Collectable() const;

 private:
  struct Series {
    std::string family;
    std::string help;
    Kind kind;
    Labels labels;
    std::span<const double> bounds;
  };
  Id Declare(Series series);
  class Collector;

  std::size_t shards_;
  std::vector<Series> series_;
  std::vector<std::size_t> base_;  // first cell of each series
  std::shared_ptr<ShardedCells> cells_;
  std::shared_ptr<Collector> collector_;
};

}  // namespace myriad::metrics

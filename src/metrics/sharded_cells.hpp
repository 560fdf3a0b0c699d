#pragma once

#include <array>
#include <atomic>
#include <cstddef>
#include <cstdint>
#include <span>
#include <vector>

namespace prometheus {
struct ClientMetric;
}

namespace myriad::metrics {

/// Counters kept per io thread so that the hot path takes no lock, makes no allocation and
/// shares no cache line (nor adjacent-line pair) with another thread. Each shard has one
/// writer (its thread), which uses Add/Set; a scraper on any thread reads with Sum/Get.
class ShardedCells {
 public:
  using Cell = std::atomic<std::uint64_t>;
  static_assert(Cell::is_always_lock_free);

  /// `shards` is clamped to at least 1.
  ShardedCells(std::size_t shards, std::size_t cells_per_shard);

  std::size_t shards() const { return shards_; }

  /// Single writer per cell, so a relaxed load + store is enough and compiles to plain
  /// moves (no lock prefix); the atomic only makes the scraper's concurrent read defined.
  void Add(std::size_t shard, std::size_t cell, std::uint64_t by) {
    Cell& c = At(shard, cell);
    c.store(c.load(std::memory_order_relaxed) + by, std::memory_order_relaxed);
  }
  void Set(std::size_t shard, std::size_t cell, std::uint64_t value) {
    At(shard, cell).store(value, std::memory_order_relaxed);
  }
  std::uint64_t Get(std::size_t shard, std::size_t cell) const {
    return At(shard, cell).load(std::memory_order_relaxed);
  }
  /// The cell summed over every shard.
  std::uint64_t Sum(std::size_t cell) const;

 private:
  // Two 64-byte lines: x86's adjacent-line prefetcher moves lines in pairs, so shards of
  // different threads must not share a 128-byte block either.
  static constexpr std::size_t kFalseSharingRange = 128;
  struct alignas(kFalseSharingRange) Block {
    static constexpr std::size_t kCells = kFalseSharingRange / sizeof(Cell);
    std::array<Cell, kCells> cells{};
  };
  Cell& At(std::size_t shard, std::size_t cell) const {
    return blocks_[shard * blocks_per_shard_ + cell / Block::kCells].cells[cell % Block::kCells];
  }

  std::size_t shards_;
  std::size_t blocks_per_shard_;
  // mutable: the const readers and the writers share the same cells.
  mutable std::vector<Block> blocks_;
};

/// A histogram kept as `bounds.size() + 1` non-cumulative bucket cells (the last is +Inf)
/// followed by one cell with the sum in nanoseconds (or whatever unit `scale` converts).
struct HistogramCells {
  std::span<const double> bounds;
  std::size_t cells() const { return bounds.size() + 2; }
  /// The bucket cell offset for `value` (already clamped to be >= 0 and finite).
  std::size_t Bucket(double value) const;
  /// Records `seconds` (negative or NaN counts as 0, capped at a year) into the histogram
  /// that starts at `first` in `shard`.
  void Observe(ShardedCells& cells, std::size_t shard, std::size_t first, double seconds) const;
  /// Fills `metric.histogram` from the summed shards; false when it has no samples. Each
  /// bucket is read once, so cumulative counts stay monotonic while writers go on.
  bool Collect(const ShardedCells& cells, std::size_t first,
               prometheus::ClientMetric& metric) const;
};

}  // namespace myriad::metrics

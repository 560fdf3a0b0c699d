#pragma once

#include <array>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <deque>
#include <mutex>
#include <optional>
#include <unordered_map>

namespace myriad::cache {

/// A small in-process cache (the L1 in front of Redis), shared by every io thread:
/// 64 shards, each a mutex-guarded hash map, so two threads rarely meet on one lock.
/// Bounded: a full shard drops its oldest entry (insertion order; with short TTLs that is
/// close to LRU at a fraction of the bookkeeping). Keys are 64-bit ids.
///
/// Besides values an entry can be a *tombstone*: "this key was just written; do not
/// fill it". Fill() only adds where there is no live entry, so a reader that fetched a
/// value before a write cannot put it back after the write's Invalidate(): that is what
/// keeps read-your-write across the cache-aside race.
template <class V>
class LocalCache {
 public:
  using Clock = std::chrono::steady_clock;
  enum class Found : std::uint8_t { kMiss, kValue, kTombstone };

  /// `capacity` 0 disables the cache (every call is a cheap no-op miss).
  explicit LocalCache(std::size_t capacity)
      : per_shard_(capacity == 0 ? 0 : (capacity + kShards - 1) / kShards) {}

  bool enabled() const { return per_shard_ != 0; }

  /// The live entry for `key`; `value` is set for kValue.
  Found Get(std::int64_t key, Clock::time_point now, V& value) {
    if (!enabled()) return Found::kMiss;
    Shard& s = ShardOf(key);
    std::lock_guard lock(s.mutex);
    const auto it = s.map.find(key);
    if (it == s.map.end() || it->second.expires <= now) return Found::kMiss;
    if (it->second.tombstone) return Found::kTombstone;
    value = it->second.value;
    return Found::kValue;
  }

  /// Adds `value` unless a live entry (value or tombstone) exists. True when added.
  bool Fill(std::int64_t key, V value, Clock::time_point expires, Clock::time_point now) {
    if (!enabled()) return false;
    Shard& s = ShardOf(key);
    std::lock_guard lock(s.mutex);
    auto it = s.map.find(key);
    if (it != s.map.end()) {
      if (it->second.expires > now) return false;
      it->second = Entry{std::move(value), expires, false, ++s.sequence};
    } else {
      it = s.map.emplace(key, Entry{std::move(value), expires, false, ++s.sequence}).first;
    }
    Remember(s, key, it->second.sequence);
    return true;
  }

  /// Replaces whatever is there with a tombstone until `expires`.
  void Invalidate(std::int64_t key, Clock::time_point expires) {
    if (!enabled()) return;
    Shard& s = ShardOf(key);
    std::lock_guard lock(s.mutex);
    Entry& e = s.map[key];
    e = Entry{V{}, expires, true, ++s.sequence};
    Remember(s, key, e.sequence);
  }

  /// Shortens every value's life to end by `deadline` at the latest (tombstones keep
  /// theirs). For when the entries can no longer be trusted for long, e.g. the feed that
  /// invalidates them was lost. O(entries), under one shard lock at a time.
  void CapExpiry(Clock::time_point deadline) {
    for (Shard& s : shards_) {
      std::lock_guard lock(s.mutex);
      for (auto& [key, entry] : s.map) {
        if (!entry.tombstone && entry.expires > deadline) entry.expires = deadline;
      }
    }
  }

  /// The same for one key.
  void CapExpiry(std::int64_t key, Clock::time_point deadline) {
    if (!enabled()) return;
    Shard& s = ShardOf(key);
    std::lock_guard lock(s.mutex);
    const auto it = s.map.find(key);
    if (it != s.map.end() && !it->second.tombstone && it->second.expires > deadline) {
      it->second.expires = deadline;
    }
  }

  /// Entries held (live or expired but not yet dropped); for a gauge.
  std::size_t size() const {
    std::size_t n = 0;
    for (const Shard& s : shards_) {
      std::lock_guard lock(s.mutex);
      n += s.map.size();
    }
    return n;
  }

 private:
  static constexpr std::size_t kShards = 64;
  struct Entry {
    V value{};
    Clock::time_point expires;
    bool tombstone = false;
    std::uint64_t sequence = 0;  // matches the newest order_ record for this key
  };
  struct Order {
    std::int64_t key;
    std::uint64_t sequence;
  };
  struct Shard {
    mutable std::mutex mutex;
    std::unordered_map<std::int64_t, Entry> map;
    std::deque<Order> order;  // insertion order, with stale records skipped on eviction
    std::uint64_t sequence = 0;
  };

  Shard& ShardOf(std::int64_t key) {
    // Fibonacci hashing spreads sequential ids over the shards.
    const auto h = static_cast<std::uint64_t>(key) * 0x9E3779B97F4A7C15ULL;
    return shards_[h >> 58];  // top 6 bits: 64 shards
  }

  bool Current(const Shard& s, const Order& o) const {
    const auto it = s.map.find(o.key);
    return it != s.map.end() && it->second.sequence == o.sequence;
  }

  void Remember(Shard& s, std::int64_t key, std::uint64_t sequence) {
    s.order.push_back({key, sequence});
    while (s.map.size() > per_shard_) {
      const Order oldest = s.order.front();
      s.order.pop_front();
      if (Current(s, oldest)) s.map.erase(oldest.key);
    }
    // Rewrites of one key leave stale records behind; drop them (not live entries) once
    // they outnumber the live ones, which keeps this amortised O(1).
    if (s.order.size() > 2 * s.map.size() + 8) {
      std::erase_if(s.order, [&](const Order& o) { return !Current(s, o); });
    }
  }

  std::size_t per_shard_;
  std::array<Shard, kShards> shards_;
};

}  // namespace myriad::cache

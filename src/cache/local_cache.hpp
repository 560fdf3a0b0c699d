#pragma once

#include <algorithm>
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
/// fill it with anything older than version F" (its floor; kNoFill: nothing at all). Values
/// carry a version too (0 when the caller has none), and Fill() only adds where there is no
/// live entry, or where the live one is older (a value of a lower version, a tombstone
/// whose floor the new version reaches). So a reader that fetched a value before a write
/// cannot put it back after the write's Invalidate() or its newer Fill(): that is what keeps
/// read-your-write across the cache-aside race.
template <class V>
class LocalCache {
 public:
  using Clock = std::chrono::steady_clock;
  enum class Found : std::uint8_t { kMiss, kValue, kTombstone };
  /// A tombstone's floor that no version reaches.
  static constexpr std::int64_t kNoFill = INT64_MAX;

  /// `capacity` 0 disables the cache (every call is a cheap no-op miss).
  explicit LocalCache(std::size_t capacity)
      : per_shard_(capacity == 0 ? 0 : (capacity + kShards - 1) / kShards) {}

  bool enabled() const { return per_shard_ != 0; }

  /// The live entry for `key`; `value` is set for kValue, `floor` (when given) for
  /// kTombstone.
  Found Get(std::int64_t key, Clock::time_point now, V& value, std::int64_t* floor = nullptr) {
    if (!enabled()) return Found::kMiss;
    Shard& s = ShardOf(key);
    std::lock_guard lock(s.mutex);
    const auto it = s.map.find(key);
    if (it == s.map.end() || it->second.expires <= now) return Found::kMiss;
    if (it->second.tombstone) {
      if (floor != nullptr) *floor = it->second.version;
      return Found::kTombstone;
    }
    value = it->second.value;
    return Found::kValue;
  }

  /// Adds `value` of `version` unless a live entry at least as new exists: a value of the
  /// same or a higher version, or a tombstone whose floor is above `version`. True when
  /// added.
  bool Fill(std::int64_t key, V value, Clock::time_point expires, Clock::time_point now,
            std::int64_t version = 0) {
    if (!enabled()) return false;
    Shard& s = ShardOf(key);
    std::lock_guard lock(s.mutex);
    auto it = s.map.find(key);
    if (it != s.map.end()) {
      const Entry& live = it->second;
      if (live.expires > now &&
          (live.tombstone ? version < live.version : version <= live.version)) {
        return false;
      }
      it->second = Entry{std::move(value), expires, false, version, ++s.sequence};
    } else {
      it = s.map.emplace(key, Entry{std::move(value), expires, false, version, ++s.sequence}).first;
    }
    Remember(s, key, it->second.sequence);
    return true;
  }

  /// Replaces what is there with a tombstone until `expires` that refuses fills below
  /// version `floor`; a live value already at `floor` or above stays (it is that write or
  /// a later one), and a live tombstone keeps the higher of the two floors.
  void Invalidate(std::int64_t key, Clock::time_point expires, std::int64_t floor = kNoFill,
                  Clock::time_point now = Clock::now()) {
    if (!enabled()) return;
    Shard& s = ShardOf(key);
    std::lock_guard lock(s.mutex);
    Entry& e = s.map[key];
    if (e.expires > now) {
      if (!e.tombstone && floor != kNoFill && e.version >= floor) return;
      if (e.tombstone) floor = std::max(floor, e.version);
    }
    e = Entry{V{}, expires, true, floor, ++s.sequence};
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
    std::int64_t version = 0;    // a value's; a tombstone's floor
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

#pragma once

#include <boost/asio/any_io_executor.hpp>
#include <chrono>
#include <cstdint>
#include <memory>
#include <string_view>

#include "db/pg_pool.hpp"

namespace prometheus {
class Collectable;
}

namespace myriad::users {

/// Moves the users search index's pending list (migrations/0005) into the index proper and
/// returns how many pending-list pages that emptied (0 when there was nothing to move, the
/// index lacks a pending list, or the schema has no such index yet): one row, one bigint.
std::string_view FlushSearchIndexSql();

struct SearchIndexFlusherOptions {
  /// Time between the end of one flush and the start of the next; 0 turns the flusher off.
  /// A flush costs a fixed ~120 ms of PostgreSQL CPU plus ~0.05 ms per changed row, in one
  /// burst of one backend: under bench/scale's 5% writes, 30 s of renames took 0.4-0.9 s,
  /// long enough to stall a 2-core machine running flat out (p99 196 ms in one of three
  /// runs), and 10 s of them 0.17-0.3 s (p99 23-35 ms in three of three). 3 s was worse
  /// again: the fixed cost, paid ten times as often.
  std::chrono::milliseconds interval{10'000};
  /// The longest one flush may run before it is cancelled on the server.
  std::chrono::milliseconds timeout{60'000};
};

/// Metrics of the flusher (one writer: the io thread that runs it):
///   myriad_search_index_flushes_total{outcome="ok"|"error"}  counter
///   myriad_search_index_flushed_pages_total  counter: pending-list pages moved
///   myriad_search_index_flush_seconds         histogram: one flush, send to result
class SearchIndexMetrics {
 public:
  SearchIndexMetrics();
  ~SearchIndexMetrics();
  SearchIndexMetrics(const SearchIndexMetrics&) = delete;
  SearchIndexMetrics& operator=(const SearchIndexMetrics&) = delete;

  void Flushed(std::int64_t pages, double seconds);
  void Failed(double seconds);

  std::uint64_t flushes() const;
  std::uint64_t failures() const;
  std::uint64_t pages() const;

  /// For metrics::Registry::Add.
  std::shared_ptr<prometheus::Collectable> Collectable() const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

/// Flushes the search index's pending list every `interval`, on a database connection of
/// its own: a flush takes a few hundred milliseconds, and on a request pool's pipelined
/// connection every query queued behind it would wait as long. PostgreSQL lets only the
/// index's owner flush it (the role that ran the migrations); another role's flushes fail
/// like any other. A flush that fails is logged (once until one succeeds again), counted,
/// and retried at the next interval; the pool reconnects with backoff. Create, use and
/// destroy it on `executor`'s thread; destroying it stops the flushes (a flush in flight is
/// abandoned: its connection closes).
class SearchIndexFlusher {
 public:
  SearchIndexFlusher(const boost::asio::any_io_executor& executor, db::PoolOptions pool,
                     SearchIndexFlusherOptions options,
                     std::shared_ptr<SearchIndexMetrics> metrics);
  ~SearchIndexFlusher();
  SearchIndexFlusher(const SearchIndexFlusher&) = delete;
  SearchIndexFlusher& operator=(const SearchIndexFlusher&) = delete;

  struct State;  // defined in search_index.cpp

 private:
  std::shared_ptr<State> state_;
  db::PgPool pool_;  // after state_: destroyed first, failing a flush in flight
};

}  // namespace myriad::users

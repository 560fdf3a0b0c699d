#pragma once

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string_view>

#include "db/db_metrics.hpp"
#include "db/pg_connection.hpp"

namespace myriad::db {

struct PoolOptions {
  ConnectOptions connect;
  /// Connections kept open once opened.
  std::size_t size = 4;
  /// Extra connections opened when every connection's pipeline is full; each is closed
  /// as soon as it has nothing in flight and nobody waits.
  std::size_t max_overflow = 0;
  /// Queries pipelined on one connection before the pool prefers another one.
  std::size_t max_pipeline_depth = 32;
  /// Waiting longer than this for room on a connection gives kPoolExhausted.
  std::chrono::milliseconds acquire_timeout{5'000};
  std::chrono::milliseconds connect_timeout{5'000};
  /// A connection idle for longer than this runs `SELECT 1` before it is used again.
  std::chrono::milliseconds pre_ping_after{30'000};
  /// After a failed connect no new attempt is made for min(max, min * 2^failures), with
  /// up to half of it added at random so that many processes do not retry in step.
  std::chrono::milliseconds reconnect_min{100};
  std::chrono::milliseconds reconnect_max{5'000};
  /// Where this pool reports (optional): its shard of a process-wide DbMetrics.
  std::shared_ptr<DbMetrics> metrics;
  std::size_t metrics_shard = 0;
  /// Connections of their own for statements that write (Statement::writes) and for
  /// transactions (Begin), with as many again as overflow. A commit waits for its WAL to
  /// reach the disk, and on a shared connection every query pipelined behind it waits too:
  /// one slow fsync would stall every read of the io thread. 0: writes share the pipelines.
  std::size_t write_connections = 0;
  std::size_t write_metrics_shard = 0;  // the write connections' shard of `metrics`
};

class PgTransaction;

/// Connections of one io thread: create, use and destroy it on the thread that runs
/// `executor` (no locks). Query() picks the open connection with the fewest queries in
/// flight and pipelines onto it; it opens a connection when all are full (up to size +
/// max_overflow), waits up to acquire_timeout for room otherwise, and drops connections
/// that were lost or poisoned by a timeout, opening new ones with backoff and jitter.
/// Errors: those of PgConnection::Query, plus kPoolExhausted, plus kConnection at once
/// (no wait) while the server cannot be reached. With write_connections, writing statements
/// and transactions go to a second pool of that size instead.
class PgPool {
 public:
  using Clock = PgConnection::Clock;

  PgPool(boost::asio::any_io_executor executor, PoolOptions options);
  ~PgPool();
  PgPool(const PgPool&) = delete;
  PgPool& operator=(const PgPool&) = delete;

  /// As PgConnection::Query: `sql` / `statement` must outlive the returned awaitable.
  boost::asio::awaitable<DbResult<PgResult>> Query(std::string_view sql, Params params,
                                                   Clock::time_point deadline);
  boost::asio::awaitable<DbResult<PgResult>> Query(const Statement& statement, Params params,
                                                   Clock::time_point deadline);

  /// Sends BEGIN on an idle connection that the transaction then has to itself (no other
  /// query is pipelined onto it) until Commit, Rollback or destruction. Waits for one as
  /// Query waits for room, with the same errors.
  boost::asio::awaitable<DbResult<PgTransaction>> Begin(Clock::time_point deadline);

  struct Stats {
    std::size_t open = 0;        // usable connections
    std::size_t connecting = 0;  // connects in progress
    std::size_t in_use = 0;      // open connections with a query in flight
    std::size_t overflow = 0;    // open connections beyond `size`
    std::size_t waiters = 0;     // queries waiting for room
    std::uint64_t connects = 0;  // successful connects, the first ones included
    std::uint64_t connect_failures = 0;
    std::uint64_t pre_pings = 0;  // SELECT 1 sent before reusing an idle connection
    std::uint64_t pre_ping_failures = 0;
    std::uint64_t reconnects = 0;  // connects that replaced a lost connection
  };
  /// On the pool's thread only; other threads read the metrics instead. The read
  /// connections only; writes() has its own.
  Stats stats() const;
  /// The write connections' pool (PoolOptions::write_connections), or null.
  PgPool* writes() { return writes_.get(); }

  struct Impl;  // defined in pg_pool.cpp

 private:
  std::shared_ptr<Impl> impl_;
  std::unique_ptr<PgPool> writes_;
};

/// A transaction holding one pooled connection (PgPool::Begin). Queries inside it may be
/// awaited concurrently (they pipeline, in order). After a failed query the server has
/// aborted the transaction: Commit then rolls back and returns that kQuery error. Use it
/// on the pool's thread. Destroyed while open, it closes its connection, which makes the
/// server roll back (a destructor cannot wait for a ROLLBACK round trip).
class PgTransaction {
 public:
  using Clock = PgConnection::Clock;

  PgTransaction(PgTransaction&& other) noexcept;
  PgTransaction& operator=(PgTransaction&& other) noexcept;
  PgTransaction(const PgTransaction&) = delete;
  PgTransaction& operator=(const PgTransaction&) = delete;
  ~PgTransaction();

  /// As PgPool::Query; kConnection once the transaction has ended.
  boost::asio::awaitable<DbResult<PgResult>> Query(std::string_view sql, Params params,
                                                   Clock::time_point deadline);
  boost::asio::awaitable<DbResult<PgResult>> Query(const Statement& statement, Params params,
                                                   Clock::time_point deadline);
  /// COMMIT and give the connection back. An error means nothing was committed.
  boost::asio::awaitable<DbResult<void>> Commit(Clock::time_point deadline);
  /// ROLLBACK and give the connection back.
  boost::asio::awaitable<DbResult<void>> Rollback(Clock::time_point deadline);
  /// Not yet committed or rolled back.
  bool open() const;

  struct State;  // defined in pg_pool.cpp

 private:
  friend class PgPool;
  explicit PgTransaction(std::unique_ptr<State> state);
  std::unique_ptr<State> state_;
};

}  // namespace myriad::db

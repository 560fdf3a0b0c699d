#pragma once

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>

#include "db/error.hpp"
#include "db/params.hpp"
#include "db/pg_result.hpp"

namespace myriad::db {

struct ConnectOptions {
  /// A libpq connection string or URL (postgresql://user@host:port/db?...).
  std::string conninfo;
  /// Named prepared statements (PQsendPrepare once per connection). Off: every Statement
  /// goes out as an unnamed statement, which PgBouncer's transaction pooling can route.
  bool prepared = true;
};

/// A statement that is prepared once per connection under `name` (when prepared statements
/// are on). Names must be unique per SQL text across the process.
struct Statement {
  std::string name;
  std::string sql;
  /// It changes data (and so commits): a pool with write connections runs it there.
  bool writes = false;
};
/// Statement{name, sql, kWrites}: reads better than a bare `true`.
inline constexpr bool kWrites = true;

/// One PostgreSQL connection in libpq pipeline mode, living on one io thread: create it,
/// query it and destroy it on the thread that runs `executor`'s io_context (the contexts
/// use BOOST_ASIO_CONCURRENCY_HINT_UNSAFE_IO, so nothing here locks). No call blocks.
///
/// Any number of coroutines on that thread may await Query() at once: each query is sent
/// at once with its own Sync, so they share round trips, get their results in the order
/// sent, and a failing query does not spoil its neighbours.
///
/// A query whose deadline passes (or whose awaiting coroutine is cancelled) returns
/// kTimeout (kCancelled) at once; a cancel request goes to the server from a separate
/// thread, and the connection stops taking new queries (usable() turns false), lets the
/// queries already sent finish, then closes: a late cancel request can never hit a later
/// query. A lost connection fails every pending query with kConnection.
class PgConnection {
 public:
  using Clock = std::chrono::steady_clock;

  /// Connects without blocking (PQconnectStartParams/PQconnectPoll on the Asio loop) and
  /// enters pipeline mode. kConnection when the server refuses or the handshake fails,
  /// kTimeout when `deadline` passes first.
  static boost::asio::awaitable<DbResult<PgConnection>> Connect(
      boost::asio::any_io_executor executor, const ConnectOptions& options,
      Clock::time_point deadline);

  PgConnection(PgConnection&&) noexcept = default;
  PgConnection& operator=(PgConnection&& other) noexcept;
  PgConnection(const PgConnection&) = delete;
  PgConnection& operator=(const PgConnection&) = delete;
  /// Closes the connection; pending queries get kConnection.
  ~PgConnection();

  /// Runs `sql` as an unnamed statement with `params` ($1...). The returned awaitable is
  /// lazy: `sql` (and `statement` below) must outlive it; a string literal does. Errors:
  /// kConnection (not usable, or lost), kQuery (server error, sqlstate set), kTimeout, kCancelled,
  /// kBadParameter.
  boost::asio::awaitable<DbResult<PgResult>> Query(std::string_view sql, Params params,
                                                   Clock::time_point deadline);
  /// Runs a named statement, preparing it first on this connection when needed (or as an
  /// unnamed statement when ConnectOptions::prepared is off). Same errors as above.
  boost::asio::awaitable<DbResult<PgResult>> Query(const Statement& statement, Params params,
                                                   Clock::time_point deadline);

  /// Fills `chunk` (cleared by the caller) with the next piece of COPY data; false when
  /// there is no more (an empty chunk with true is allowed and skipped).
  using CopySource = std::function<bool(std::string& chunk)>;

  /// Runs `sql`, a `COPY ... FROM STDIN`, streaming what `source` produces, and returns the
  /// number of rows the server copied. libpq forbids COPY in pipeline mode, so this is only
  /// allowed while no query is in flight (else kConnection "busy"); the connection leaves
  /// pipeline mode for the duration and takes no other query meanwhile (they get
  /// kConnection "busy with COPY"). Sends without blocking: PQputCopyData/PQflush with Asio
  /// write waits. A server error (bad data, missing table) is kQuery with its sqlstate and
  /// leaves the connection usable; a deadline that passes closes the connection (kTimeout).
  /// `sql` must outlive the awaitable.
  boost::asio::awaitable<DbResult<std::int64_t>> CopyIn(std::string_view sql, CopySource source,
                                                        Clock::time_point deadline);

  /// Connected and taking new queries (not draining after a timeout, not lost/closed).
  bool usable() const;
  /// Queries sent and not yet answered (abandoned ones included).
  std::size_t in_flight() const;
  /// The server process id of this session (for pg_stat_activity), 0 if closed.
  int backend_pid() const;
  /// Closes now; pending queries get kConnection. Idempotent.
  void Close();

  struct Impl;  // defined in pg_connection.cpp

 private:
  explicit PgConnection(std::shared_ptr<Impl> impl) : impl_(std::move(impl)) {}
  static boost::asio::awaitable<DbResult<PgConnection>> ConnectImpl(std::shared_ptr<Impl> impl,
                                                                    Clock::time_point deadline);
  std::shared_ptr<Impl> impl_;
};

}  // namespace myriad::db

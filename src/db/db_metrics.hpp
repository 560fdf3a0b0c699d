#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "db/error.hpp"

namespace prometheus {
class Collectable;
}

namespace myriad::db {

/// Database metrics, one shard per io thread (each thread's PgPool writes only its own
/// shard, without locks; the scraper merges shards from any thread).
///
///   myriad_db_pool_connections{state="idle"|"in_use"|"connecting"}  gauge
///   myriad_db_pool_overflow_in_use        gauge: open connections beyond the pool size
///   myriad_db_pool_waiters                gauge: queries waiting for room on a connection
///   myriad_db_pool_size                   gauge: the configured size (all threads)
///   myriad_db_pool_acquire_seconds        histogram: wait for room on a connection
///   myriad_db_query_duration_seconds{statement}  histogram: send to result, by statement
///                                         name ("other" for unnamed SQL)
///   myriad_db_errors_total{kind,sqlstate_class}  counter: failed queries; sqlstate_class
///                                         is the SQLSTATE's first two characters for
///                                         server errors, "" otherwise
///   myriad_db_connects_total, myriad_db_connect_failures_total, myriad_db_reconnects_total
///                                         (connects that replaced a lost connection),
///   myriad_db_pre_pings_total, myriad_db_pre_ping_failures_total
class DbMetrics {
 public:
  /// `statements`: the statement names to keep apart; any other name counts as "other".
  DbMetrics(std::size_t shards, std::vector<std::string> statements, std::size_t pool_size);
  ~DbMetrics();
  DbMetrics(const DbMetrics&) = delete;
  DbMetrics& operator=(const DbMetrics&) = delete;

  /// The slot for a statement name (a hash lookup), for ObserveQuery.
  std::size_t StatementSlot(std::string_view name) const;
  std::size_t OtherStatementSlot() const;

  struct PoolState {
    std::size_t idle = 0;
    std::size_t in_use = 0;
    std::size_t connecting = 0;
    std::size_t overflow = 0;
    std::size_t waiters = 0;
  };
  enum class Event : std::uint8_t {
    kConnect,
    kConnectFailure,
    kReconnect,
    kPrePing,
    kPrePingFailure,
  };

  // Writers: only from the thread that owns `shard`.
  void SetPool(std::size_t shard, const PoolState& state);
  void ObserveAcquire(std::size_t shard, double seconds);
  void ObserveQuery(std::size_t shard, std::size_t statement_slot, double seconds);
  void CountError(std::size_t shard, const DbError& error);
  void Count(std::size_t shard, Event event);

  /// For metrics::Registry::Add. Shares ownership of the cells.
  std::shared_ptr<prometheus::Collectable> Collectable();

 private:
  class Impl;
  std::shared_ptr<Impl> impl_;
};

}  // namespace myriad::db

#include "db/pg_pool.hpp"

#include <algorithm>
#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <deque>
#include <optional>
#include <random>
#include <string>
#include <utility>
#include <vector>

namespace myriad::db {
namespace asio = boost::asio;
using Clock = PgPool::Clock;

namespace {

struct Slot {
  std::optional<PgConnection> conn;  // empty while connecting
  Clock::time_point last_used{};
  bool overflow = false;
  bool retired = false;  // closed on purpose (idle overflow), not lost
  bool pinned = false;   // a transaction (or a pre-ping) owns it: nothing else goes on it
};

double Seconds(Clock::duration d) { return std::chrono::duration<double>(d).count(); }

}  // namespace

struct PgPool::Impl : std::enable_shared_from_this<PgPool::Impl> {
  Impl(asio::any_io_executor executor, PoolOptions opts)
      : ex(std::move(executor)), options(std::move(opts)), rng(std::random_device{}()) {}

  static asio::awaitable<DbResult<PgResult>> Run(std::shared_ptr<Impl> self,
                                                 const Statement* statement, std::string_view sql,
                                                 Params params, Clock::time_point deadline);
  // A connection with room (shared, pipelined) or, when `exclusive`, an idle one that is
  // then pinned: no other query goes onto it until Release.
  static asio::awaitable<DbResult<std::shared_ptr<Slot>>> Acquire(std::shared_ptr<Impl> self,
                                                                  Clock::time_point deadline,
                                                                  bool exclusive);
  static asio::awaitable<DbResult<PgResult>> Send(std::shared_ptr<Impl> self,
                                                  std::shared_ptr<Slot> slot,
                                                  const Statement* statement, std::string_view sql,
                                                  Params params, Clock::time_point deadline);
  void Release(const std::shared_ptr<Slot>& slot);
  // Room for one more connection (regular, or overflow once the regular ones are open).
  bool MayOpen() const;
  void GrowInBackground();
  // SELECT 1 first when the connection sat idle past pre_ping_after; false when it failed
  // (the connection is closed) or the connection is no longer usable.
  static asio::awaitable<bool> PrePing(std::shared_ptr<Impl> self, std::shared_ptr<Slot> slot,
                                       Clock::time_point deadline);
  // Opens one connection into the pool; on failure starts the backoff.
  static asio::awaitable<DbResult<void>> Open(std::shared_ptr<Impl> self,
                                              Clock::time_point deadline);
  void Prune();
  std::shared_ptr<Slot> PickOpen() const;
  std::shared_ptr<Slot> PickIdle() const;
  // Connections that count against size + max_overflow: open and usable, or connecting.
  // One draining after a timeout does not: its replacement opens at once.
  std::size_t Counted() const {
    return static_cast<std::size_t>(std::count_if(slots.begin(), slots.end(), [](const auto& s) {
      return !s->conn.has_value() || s->conn->usable();
    }));
  }
  void WakeOne();
  void WakeAll();
  Clock::duration Backoff();
  // Pushes the gauges to the metrics shard; cheap (a few slots), called on every change.
  void Publish() const;
  void Count(DbMetrics::Event event) const {
    if (options.metrics) options.metrics->Count(options.metrics_shard, event);
  }
  DbError Failed(DbError error) const {
    if (options.metrics) options.metrics->CountError(options.metrics_shard, error);
    return error;
  }

  asio::any_io_executor ex;
  PoolOptions options;
  std::vector<std::shared_ptr<Slot>> slots;  // open and connecting
  std::deque<std::shared_ptr<asio::steady_timer>> waiters;
  Clock::time_point next_connect{};
  unsigned failures = 0;
  std::uint64_t connects = 0;
  std::uint64_t connect_failures = 0;
  std::uint64_t pre_pings = 0;
  std::uint64_t pre_ping_failures = 0;
  std::uint64_t reconnects = 0;
  // Connections lost since the last successful connect: the next connects replace them.
  std::size_t lost = 0;
  std::size_t exclusive_waiters = 0;
  std::minstd_rand rng;
  bool closed = false;
};

void PgPool::Impl::Prune() {
  // A connection that is lost, or draining after a timeout, leaves the pool once its last
  // query is answered; one that is still draining keeps its place until then.
  std::erase_if(slots, [this](const std::shared_ptr<Slot>& s) {
    const bool gone = s->conn.has_value() && !s->conn->usable() && s->conn->in_flight() == 0;
    if (gone && !s->retired && !closed) ++lost;
    return gone;
  });
}

void PgPool::Impl::Publish() const {
  if (!options.metrics) return;
  DbMetrics::PoolState state;
  for (const auto& s : slots) {
    if (!s->conn) {
      ++state.connecting;
      continue;
    }
    if (!s->conn->usable()) continue;
    if (s->conn->in_flight() > 0 || s->pinned) {
      ++state.in_use;
    } else {
      ++state.idle;
    }
    if (s->overflow) ++state.overflow;
  }
  state.waiters = waiters.size();
  options.metrics->SetPool(options.metrics_shard, state);
}

std::shared_ptr<Slot> PgPool::Impl::PickOpen() const {
  std::shared_ptr<Slot> best;
  for (const auto& s : slots) {
    if (!s->conn || !s->conn->usable() || s->pinned) continue;
    if (s->conn->in_flight() >= options.max_pipeline_depth) continue;
    if (!best || s->conn->in_flight() < best->conn->in_flight()) best = s;
  }
  return best;
}

std::shared_ptr<Slot> PgPool::Impl::PickIdle() const {
  for (const auto& s : slots) {
    if (s->conn && s->conn->usable() && !s->pinned && s->conn->in_flight() == 0) return s;
  }
  return nullptr;
}

void PgPool::Impl::WakeOne() {
  if (waiters.empty()) return;
  waiters.front()->cancel();
  waiters.pop_front();
}

void PgPool::Impl::WakeAll() {
  while (!waiters.empty()) WakeOne();
}

Clock::duration PgPool::Impl::Backoff() {
  auto base = options.reconnect_min * (1LL << std::min(failures, 16U));
  auto capped = std::min<Clock::duration>(base, options.reconnect_max);
  auto jitter_range = std::max<Clock::rep>(capped.count() / 2, 1);
  std::uniform_int_distribution<Clock::rep> jitter(0, jitter_range);
  return capped + Clock::duration(jitter(rng));
}

asio::awaitable<DbResult<std::shared_ptr<Slot>>> PgPool::Impl::Acquire(std::shared_ptr<Impl> self,
                                                                       Clock::time_point deadline,
                                                                       bool exclusive) {
  const auto started = Clock::now();
  const auto wait_until = std::min(deadline, started + self->options.acquire_timeout);
  const auto& metrics = self->options.metrics;
  while (!self->closed) {
    self->Prune();
    if (auto slot = exclusive ? self->PickIdle() : self->PickOpen()) {
      if (!exclusive && slot->conn->in_flight() > 0) self->GrowInBackground();
      if (!co_await PrePing(self, slot, deadline)) continue;
      slot->last_used = Clock::now();
      if (exclusive) slot->pinned = true;
      if (metrics) {
        metrics->ObserveAcquire(self->options.metrics_shard, Seconds(slot->last_used - started));
      }
      co_return slot;
    }
    if (self->MayOpen()) {
      if (Clock::now() >= self->next_connect) {
        auto opened = co_await Open(self, deadline);
        if (!opened) co_return core::Unexpected<DbError>{std::move(opened).error()};
        continue;
      }
      if (self->slots.empty()) {
        co_return core::Unexpected<DbError>{self->Failed(DbError{
            DbErrorKind::kConnection, {}, "database unreachable; waiting before reconnecting"})};
      }
    }

    // Full: wait for room, a finished connect, or a slot that leaves the pool.
    if (Clock::now() >= wait_until) break;
    auto timer = std::make_shared<asio::steady_timer>(self->ex, wait_until);
    self->waiters.push_back(timer);
    self->Publish();
    if (exclusive) ++self->exclusive_waiters;
    auto [ec] = co_await timer->async_wait(asio::as_tuple(asio::use_awaitable));
    if (exclusive) --self->exclusive_waiters;
    bool woken =
        std::find(self->waiters.begin(), self->waiters.end(), timer) == self->waiters.end();
    std::erase(self->waiters, timer);
    self->Publish();
    if (!ec) break;
    if (!woken) {
      co_return core::Unexpected<DbError>{
          self->Failed(DbError{DbErrorKind::kCancelled, {}, "cancelled waiting for a connection"})};
    }
  }
  if (self->closed) co_return MakeDbError(DbErrorKind::kConnection, "pool closed");
  if (Clock::now() >= deadline) {
    co_return core::Unexpected<DbError>{self->Failed(
        DbError{DbErrorKind::kTimeout, {}, "deadline passed waiting for a connection"})};
  }
  co_return core::Unexpected<DbError>{self->Failed(
      DbError{DbErrorKind::kPoolExhausted, {}, "no connection free within the pool timeout"})};
}

void PgPool::Impl::GrowInBackground() {
  // Every open connection is busy but the pool is below `size`: open one more without
  // making this query wait for it, so concurrent queries spread over `size` pipelines
  // (a slow query then holds up fewer others behind it on the same connection).
  if (Counted() >= options.size || Clock::now() < next_connect) return;
  const bool any_connecting =
      std::any_of(slots.begin(), slots.end(), [](const auto& s) { return !s->conn.has_value(); });
  if (any_connecting) return;
  auto self = shared_from_this();
  asio::co_spawn(
      ex,
      [self]() -> asio::awaitable<void> {
        (void)co_await Open(self, Clock::now() + self->options.connect_timeout);
      },
      asio::detached);
}

bool PgPool::Impl::MayOpen() const {
  const bool any_connecting =
      std::any_of(slots.begin(), slots.end(), [](const auto& s) { return !s->conn.has_value(); });
  // Overflow connections only once every regular one is open and full, not while the
  // first connects are still under way.
  return Counted() < options.size ||
         (Counted() < options.size + options.max_overflow && !any_connecting);
}

asio::awaitable<bool> PgPool::Impl::PrePing(std::shared_ptr<Impl> self, std::shared_ptr<Slot> slot,
                                            Clock::time_point deadline) {
  const auto now = Clock::now();
  if (slot->conn->in_flight() > 0 || now - slot->last_used <= self->options.pre_ping_after) {
    co_return true;
  }
  // Pinned while it pings, so no other query piles onto a connection that may be dead.
  slot->pinned = true;
  Params none;
  auto ping = co_await slot->conn->Query("SELECT 1", std::move(none),
                                         std::min(deadline, now + self->options.connect_timeout));
  slot->pinned = false;
  ++self->pre_pings;
  self->Count(DbMetrics::Event::kPrePing);
  if (!ping) {
    ++self->pre_ping_failures;
    self->Count(DbMetrics::Event::kPrePingFailure);
    if (slot->conn) slot->conn->Close();
    co_return false;
  }
  slot->last_used = Clock::now();
  co_return slot->conn && slot->conn->usable();
}

asio::awaitable<DbResult<void>> PgPool::Impl::Open(std::shared_ptr<Impl> self,
                                                   Clock::time_point deadline) {
  auto slot = std::make_shared<Slot>();
  slot->overflow = self->Counted() >= self->options.size;
  self->slots.push_back(slot);
  self->Publish();
  auto connect_deadline = std::min(deadline, Clock::now() + self->options.connect_timeout);
  const ConnectOptions& connect = self->options.connect;
  auto conn = co_await PgConnection::Connect(self->ex, connect, connect_deadline);
  if (!conn) {
    std::erase(self->slots, slot);
    ++self->connect_failures;
    self->Count(DbMetrics::Event::kConnectFailure);
    self->next_connect = Clock::now() + self->Backoff();
    ++self->failures;
    self->WakeAll();
    self->Publish();
    co_return core::Unexpected<DbError>{self->Failed(std::move(conn).error())};
  }
  if (self->closed) {
    conn->Close();
    co_return MakeDbError(DbErrorKind::kConnection, "pool closed");
  }
  self->failures = 0;
  ++self->connects;
  self->Count(DbMetrics::Event::kConnect);
  if (self->lost > 0) {
    --self->lost;
    ++self->reconnects;
    self->Count(DbMetrics::Event::kReconnect);
  }
  slot->conn.emplace(std::move(*conn));
  slot->last_used = Clock::now();
  self->WakeAll();
  self->Publish();
  co_return DbResult<void>{};
}

void PgPool::Impl::Release(const std::shared_ptr<Slot>& slot) {
  slot->pinned = false;
  slot->last_used = Clock::now();
  if (slot->overflow && slot->conn && slot->conn->in_flight() == 0 && waiters.empty()) {
    slot->retired = true;
    slot->conn->Close();
  }
  Prune();
  // A waiter for an idle connection may be anywhere in the queue; waking just the first
  // could wake a shared waiter while the exclusive one sleeps on.
  if (exclusive_waiters > 0) {
    WakeAll();
  } else {
    WakeOne();
  }
  Publish();
}

asio::awaitable<DbResult<PgResult>> PgPool::Impl::Send(std::shared_ptr<Impl> self,
                                                       std::shared_ptr<Slot> slot,
                                                       const Statement* statement,
                                                       std::string_view sql, Params params,
                                                       Clock::time_point deadline) {
  const auto sent = Clock::now();
  std::optional<DbResult<PgResult>> result;
  if (!slot->conn) {
    result.emplace(MakeDbError(DbErrorKind::kConnection, "connection closed"));
  } else if (statement != nullptr) {
    result.emplace(co_await slot->conn->Query(*statement, std::move(params), deadline));
  } else {
    result.emplace(co_await slot->conn->Query(sql, std::move(params), deadline));
  }
  if (const auto& metrics = self->options.metrics) {
    const std::size_t which = statement != nullptr ? metrics->StatementSlot(statement->name)
                                                   : metrics->OtherStatementSlot();
    metrics->ObserveQuery(self->options.metrics_shard, which, Seconds(Clock::now() - sent));
    if (!*result) metrics->CountError(self->options.metrics_shard, result->error());
  }
  co_return std::move(*result);
}

asio::awaitable<DbResult<PgResult>> PgPool::Impl::Run(std::shared_ptr<Impl> self,
                                                      const Statement* statement,
                                                      std::string_view sql, Params params,
                                                      Clock::time_point deadline) {
  auto slot = co_await Acquire(self, deadline, false);
  if (!slot) co_return core::Unexpected<DbError>{std::move(slot).error()};
  auto result = co_await Send(self, *slot, statement, sql, std::move(params), deadline);
  self->Release(*slot);
  co_return result;
}

namespace {

PoolOptions WriteOptions(const PoolOptions& options) {
  PoolOptions writes = options;
  writes.size = options.write_connections;
  writes.max_overflow = options.write_connections;
  writes.metrics_shard = options.write_metrics_shard;
  writes.write_connections = 0;
  return writes;
}

}  // namespace

PgPool::PgPool(asio::any_io_executor executor, PoolOptions options)
    : writes_(options.write_connections > 0
                  ? std::make_unique<PgPool>(executor, WriteOptions(options))
                  : nullptr) {
  impl_ = std::make_shared<Impl>(std::move(executor), std::move(options));
}

PgPool::~PgPool() {
  impl_->closed = true;
  impl_->WakeAll();
  for (auto& s : impl_->slots) {
    if (s->conn) s->conn->Close();
  }
  impl_->slots.clear();
  impl_->Publish();
}

asio::awaitable<DbResult<PgResult>> PgPool::Query(std::string_view sql, Params params,
                                                  Clock::time_point deadline) {
  return Impl::Run(impl_, nullptr, sql, std::move(params), deadline);
}

asio::awaitable<DbResult<PgResult>> PgPool::Query(const Statement& statement, Params params,
                                                  Clock::time_point deadline) {
  if (statement.writes && writes_) return writes_->Query(statement, std::move(params), deadline);
  return Impl::Run(impl_, &statement, statement.sql, std::move(params), deadline);
}

struct PgTransaction::State {
  std::shared_ptr<PgPool::Impl> pool;
  std::shared_ptr<Slot> slot;
  bool open = true;
  // A query failed: the server aborted the transaction, so COMMIT would roll back.
  std::optional<DbError> failure;

  void Finish() {
    if (!open) return;
    open = false;
    pool->Release(slot);
  }
};

asio::awaitable<DbResult<PgTransaction>> PgPool::Begin(Clock::time_point deadline) {
  if (writes_) {
    co_return co_await writes_->Begin(deadline);
  }
  auto impl = impl_;
  auto slot = co_await Impl::Acquire(impl, deadline, true);
  if (!slot) co_return core::Unexpected<DbError>{std::move(slot).error()};
  Params none;
  auto begun = co_await Impl::Send(impl, *slot, nullptr, "BEGIN", std::move(none), deadline);
  if (!begun) {
    impl->Release(*slot);
    co_return core::Unexpected<DbError>{std::move(begun).error()};
  }
  auto state = std::make_unique<PgTransaction::State>();
  state->pool = std::move(impl);
  state->slot = std::move(*slot);
  co_return PgTransaction(std::move(state));
}

PgTransaction::PgTransaction(std::unique_ptr<State> state) : state_(std::move(state)) {}
PgTransaction::PgTransaction(PgTransaction&& other) noexcept = default;
PgTransaction& PgTransaction::operator=(PgTransaction&& other) noexcept {
  if (this != &other) {
    PgTransaction discarded(std::move(*this));
    state_ = std::move(other.state_);
  }
  return *this;
}

PgTransaction::~PgTransaction() {
  if (!state_ || !state_->open) return;
  // Closing the session makes the server roll back; the connection is not reused.
  if (state_->slot->conn) {
    state_->slot->retired = true;
    state_->slot->conn->Close();
  }
  state_->Finish();
}

bool PgTransaction::open() const { return state_ && state_->open; }

asio::awaitable<DbResult<PgResult>> PgTransaction::Query(std::string_view sql, Params params,
                                                         Clock::time_point deadline) {
  if (!open()) co_return MakeDbError(DbErrorKind::kConnection, "the transaction has ended");
  auto result = co_await PgPool::Impl::Send(state_->pool, state_->slot, nullptr, sql,
                                            std::move(params), deadline);
  if (!result && !state_->failure) state_->failure = result.error();
  co_return result;
}

asio::awaitable<DbResult<PgResult>> PgTransaction::Query(const Statement& statement, Params params,
                                                         Clock::time_point deadline) {
  if (!open()) co_return MakeDbError(DbErrorKind::kConnection, "the transaction has ended");
  auto result = co_await PgPool::Impl::Send(state_->pool, state_->slot, &statement, statement.sql,
                                            std::move(params), deadline);
  if (!result && !state_->failure) state_->failure = result.error();
  co_return result;
}

asio::awaitable<DbResult<void>> PgTransaction::Commit(Clock::time_point deadline) {
  if (!open()) co_return MakeDbError(DbErrorKind::kConnection, "the transaction has ended");
  if (state_->failure) {
    DbError failure = *state_->failure;
    (void)co_await Rollback(deadline);
    co_return core::Unexpected<DbError>{std::move(failure)};
  }
  Params none;
  auto done = co_await PgPool::Impl::Send(state_->pool, state_->slot, nullptr, "COMMIT",
                                          std::move(none), deadline);
  state_->Finish();
  if (!done) co_return core::Unexpected<DbError>{std::move(done).error()};
  co_return DbResult<void>{};
}

asio::awaitable<DbResult<void>> PgTransaction::Rollback(Clock::time_point deadline) {
  if (!open()) co_return MakeDbError(DbErrorKind::kConnection, "the transaction has ended");
  Params none;
  auto done = co_await PgPool::Impl::Send(state_->pool, state_->slot, nullptr, "ROLLBACK",
                                          std::move(none), deadline);
  if (!done && state_->slot->conn) {
    // Unknown state: never hand this session to another caller.
    state_->slot->retired = true;
    state_->slot->conn->Close();
  }
  state_->Finish();
  if (!done) co_return core::Unexpected<DbError>{std::move(done).error()};
  co_return DbResult<void>{};
}

PgPool::Stats PgPool::stats() const {
  Stats s;
  for (const auto& slot : impl_->slots) {
    if (!slot->conn) {
      ++s.connecting;
      continue;
    }
    if (!slot->conn->usable()) continue;
    ++s.open;
    if (slot->conn->in_flight() > 0 || slot->pinned) ++s.in_use;
    if (slot->overflow) ++s.overflow;
  }
  s.waiters = impl_->waiters.size();
  s.connects = impl_->connects;
  s.connect_failures = impl_->connect_failures;
  s.pre_pings = impl_->pre_pings;
  s.pre_ping_failures = impl_->pre_ping_failures;
  s.reconnects = impl_->reconnects;
  return s;
}

}  // namespace myriad::db

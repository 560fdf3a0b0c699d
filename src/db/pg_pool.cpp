#include "db/pg_pool.hpp"

#include <algorithm>
#include <boost/asio/as_tuple.hpp>
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
};

}  // namespace

struct PgPool::Impl {
  Impl(asio::any_io_executor executor, PoolOptions opts)
      : ex(std::move(executor)), options(std::move(opts)), rng(std::random_device{}()) {}

  static asio::awaitable<DbResult<PgResult>> Run(std::shared_ptr<Impl> self,
                                                 const Statement* statement, std::string_view sql,
                                                 Params params, Clock::time_point deadline);
  void Prune();
  std::shared_ptr<Slot> PickOpen() const;
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
  std::minstd_rand rng;
  bool closed = false;
};

void PgPool::Impl::Prune() {
  // A connection that is lost, or draining after a timeout, leaves the pool once its last
  // query is answered; one that is still draining keeps its place until then.
  std::erase_if(slots, [](const std::shared_ptr<Slot>& s) {
    return s->conn.has_value() && !s->conn->usable() && s->conn->in_flight() == 0;
  });
}

std::shared_ptr<Slot> PgPool::Impl::PickOpen() const {
  std::shared_ptr<Slot> best;
  for (const auto& s : slots) {
    if (!s->conn || !s->conn->usable()) continue;
    if (s->conn->in_flight() >= options.max_pipeline_depth) continue;
    if (!best || s->conn->in_flight() < best->conn->in_flight()) best = s;
  }
  return best;
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

asio::awaitable<DbResult<PgResult>> PgPool::Impl::Run(std::shared_ptr<Impl> self,
                                                      const Statement* statement,
                                                      std::string_view sql, Params params,
                                                      Clock::time_point deadline) {
  const auto wait_until = std::min(deadline, Clock::now() + self->options.acquire_timeout);
  while (!self->closed) {
    self->Prune();
    if (auto slot = self->PickOpen()) {
      auto now = Clock::now();
      if (slot->conn->in_flight() == 0 && now - slot->last_used > self->options.pre_ping_after) {
        auto ping = co_await slot->conn->Query(
            "SELECT 1", Params{}, std::min(deadline, now + self->options.connect_timeout));
        ++self->pre_pings;
        if (!ping) {
          ++self->pre_ping_failures;
          if (slot->conn) slot->conn->Close();
          continue;
        }
      }
      slot->last_used = Clock::now();
      std::optional<DbResult<PgResult>> result;
      if (statement != nullptr) {
        result.emplace(co_await slot->conn->Query(*statement, std::move(params), deadline));
      } else {
        result.emplace(co_await slot->conn->Query(sql, std::move(params), deadline));
      }
      slot->last_used = Clock::now();
      if (slot->overflow && slot->conn && slot->conn->in_flight() == 0 && self->waiters.empty()) {
        slot->conn->Close();
      }
      self->Prune();
      self->WakeOne();
      co_return std::move(*result);
    }

    bool any_connecting = std::any_of(self->slots.begin(), self->slots.end(),
                                      [](const auto& s) { return !s->conn.has_value(); });
    // Overflow connections only once every regular one is open and full, not while the
    // first connects are still under way.
    bool may_open =
        self->Counted() < self->options.size ||
        (self->Counted() < self->options.size + self->options.max_overflow && !any_connecting);
    if (may_open) {
      if (Clock::now() < self->next_connect) {
        if (self->slots.empty()) {
          co_return MakeDbError(DbErrorKind::kConnection,
                                "database unreachable; waiting before reconnecting");
        }
      } else {
        auto slot = std::make_shared<Slot>();
        slot->overflow = self->Counted() >= self->options.size;
        self->slots.push_back(slot);
        auto connect_deadline = std::min(deadline, Clock::now() + self->options.connect_timeout);
        const ConnectOptions& connect = self->options.connect;
        auto conn = co_await PgConnection::Connect(self->ex, connect, connect_deadline);
        if (!conn) {
          std::erase(self->slots, slot);
          ++self->connect_failures;
          self->next_connect = Clock::now() + self->Backoff();
          ++self->failures;
          self->WakeAll();
          co_return core::Unexpected<DbError>{std::move(conn).error()};
        }
        self->failures = 0;
        ++self->connects;
        slot->conn.emplace(std::move(*conn));
        slot->last_used = Clock::now();
        self->WakeAll();
        continue;
      }
    }

    // Full: wait for room, a finished connect, or a slot that leaves the pool.
    if (Clock::now() >= wait_until) break;
    auto timer = std::make_shared<asio::steady_timer>(self->ex, wait_until);
    self->waiters.push_back(timer);
    auto [ec] = co_await timer->async_wait(asio::as_tuple(asio::use_awaitable));
    bool woken =
        std::find(self->waiters.begin(), self->waiters.end(), timer) == self->waiters.end();
    std::erase(self->waiters, timer);
    if (!ec) break;
    if (!woken)
      co_return MakeDbError(DbErrorKind::kCancelled, "cancelled waiting for a connection");
  }
  if (self->closed) co_return MakeDbError(DbErrorKind::kConnection, "pool closed");
  if (Clock::now() >= deadline) {
    co_return MakeDbError(DbErrorKind::kTimeout, "deadline passed waiting for a connection");
  }
  co_return MakeDbError(DbErrorKind::kPoolExhausted, "no connection free within the pool timeout");
}

PgPool::PgPool(asio::any_io_executor executor, PoolOptions options)
    : impl_(std::make_shared<Impl>(std::move(executor), std::move(options))) {}

PgPool::~PgPool() {
  impl_->closed = true;
  impl_->WakeAll();
  for (auto& s : impl_->slots) {
    if (s->conn) s->conn->Close();
  }
  impl_->slots.clear();
}

asio::awaitable<DbResult<PgResult>> PgPool::Query(std::string_view sql, Params params,
                                                  Clock::time_point deadline) {
  return Impl::Run(impl_, nullptr, sql, std::move(params), deadline);
}

asio::awaitable<DbResult<PgResult>> PgPool::Query(const Statement& statement, Params params,
                                                  Clock::time_point deadline) {
  return Impl::Run(impl_, &statement, statement.sql, std::move(params), deadline);
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
    if (slot->conn->in_flight() > 0) ++s.in_use;
    if (slot->overflow) ++s.overflow;
  }
  s.waiters = impl_->waiters.size();
  s.connects = impl_->connects;
  s.connect_failures = impl_->connect_failures;
  s.pre_pings = impl_->pre_pings;
  s.pre_ping_failures = impl_->pre_ping_failures;
  return s;
}

}  // namespace myriad::db

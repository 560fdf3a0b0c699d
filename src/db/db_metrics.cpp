#include "db/db_metrics.hpp"

#include <prometheus/client_metric.h>
#include <prometheus/collectable.h>
#include <prometheus/metric_family.h>
#include <prometheus/metric_type.h>

#include <array>
#include <functional>
#include <string_view>
#include <unordered_map>
#include <utility>

#include "metrics/sharded_cells.hpp"

namespace myriad::db {
namespace {

using metrics::HistogramCells;
using metrics::ShardedCells;

// Acquire waits are zero when the pool keeps up, so the low buckets matter; queries on a
// loopback server take ~50-500 us.
constexpr std::array<double, 14> kBounds = {0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01,
                                            0.025,  0.05,    0.1,    0.25,  0.5,    1,     5};
constexpr HistogramCells kHistogram{kBounds};

constexpr std::size_t kGauges = 5;  // idle, in_use, connecting, overflow, waiters
constexpr std::size_t kEvents = 5;
constexpr std::array<std::string_view, kEvents> kEventNames = {
    "myriad_db_connects_total", "myriad_db_connect_failures_total", "myriad_db_reconnects_total",
    "myriad_db_pre_pings_total", "myriad_db_pre_ping_failures_total"};
constexpr std::array<std::string_view, kEvents> kEventHelp = {
    "Database connections opened.", "Database connection attempts that failed.",
    "Database connections opened to replace one that was lost.",
    "SELECT 1 checks before reusing a connection idle for long.",
    "Pre-ping checks that failed (the connection was dropped and the query retried)."};

// Error cells: one per DbErrorKind other than kQuery, then one per SQLSTATE class (two
// characters from [0-9A-Z]) for server errors, then one for malformed classes.
constexpr std::size_t kKinds = 7;
constexpr std::size_t kClassChars = 36;
constexpr std::size_t kClasses = kClassChars * kClassChars;
constexpr std::size_t kErrorCells = kKinds + kClasses + 1;

int ClassChar(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'A' && c <= 'Z') return 10 + (c - 'A');
  return -1;
}

char ClassCharAt(std::size_t index) {
  return index < 10 ? static_cast<char>('0' + index) : static_cast<char>('A' + index - 10);
}

}  // namespace

// Cell layout of one shard:
//   [gauges: kGauges][events: kEvents][acquire histogram]
//   [per statement (names + "other"): query histogram][errors: kErrorCells]
class DbMetrics::Impl final : public prometheus::Collectable {
 public:
  Impl(std::size_t shards, std::vector<std::string> statements, std::size_t pool_size)
      : statements_(std::move(statements)),
        pool_size_(pool_size),
        acquire_base_(kGauges + kEvents),
        query_base_(acquire_base_ + kHistogram.cells()),
        error_base_(query_base_ + (statements_.size() + 1) * kHistogram.cells()),
        cells_(shards, error_base_ + kErrorCells) {
    for (std::size_t i = 0; i < statements_.size(); ++i) slots_.emplace(statements_[i], i);
    statements_.emplace_back("other");
  }

  std::size_t StatementSlot(std::string_view name) const {
    // Read-only after construction, so concurrent lookups from io threads are safe.
    const auto it = slots_.find(name);
    return it != slots_.end() ? it->second : statements_.size() - 1;
  }
  std::size_t OtherSlot() const { return statements_.size() - 1; }

  void SetPool(std::size_t shard, const PoolState& s) {
    cells_.Set(shard, 0, s.idle);
    cells_.Set(shard, 1, s.in_use);
    cells_.Set(shard, 2, s.connecting);
    cells_.Set(shard, 3, s.overflow);
    cells_.Set(shard, 4, s.waiters);
  }
  void ObserveAcquire(std::size_t shard, double seconds) {
    kHistogram.Observe(cells_, shard, acquire_base_, seconds);
  }
  void ObserveQuery(std::size_t shard, std::size_t slot, double seconds) {
    if (slot >= statements_.size()) slot = OtherSlot();
    kHistogram.Observe(cells_, shard, query_base_ + slot * kHistogram.cells(), seconds);
  }
  void CountError(std::size_t shard, const DbError& error) {
    cells_.Add(shard, error_base_ + ErrorCell(error), 1);
  }
  void Count(std::size_t shard, Event event) {
    cells_.Add(shard, kGauges + static_cast<std::size_t>(event), 1);
  }

  std::vector<prometheus::MetricFamily> Collect() const override {
    std::vector<prometheus::MetricFamily> families;
    families.push_back(Gauges());
    families.push_back(Gauge("myriad_db_pool_overflow_in_use",
                             "Open database connections beyond the pool size.",
                             static_cast<double>(cells_.Sum(3))));
    families.push_back(Gauge("myriad_db_pool_waiters",
                             "Queries waiting for room on a database connection.",
                             static_cast<double>(cells_.Sum(4))));
    families.push_back(Gauge("myriad_db_pool_size",
                             "Configured database connections kept open, all io threads.",
                             static_cast<double>(pool_size_)));
    for (std::size_t e = 0; e < kEvents; ++e) {
      auto f = Family(std::string(kEventNames[e]), std::string(kEventHelp[e]),
                      prometheus::MetricType::Counter);
      prometheus::ClientMetric m;
      m.counter.value = static_cast<double>(cells_.Sum(kGauges + e));
      f.metric.push_back(std::move(m));
      families.push_back(std::move(f));
    }
    families.push_back(Acquire());
    families.push_back(Queries());
    families.push_back(Errors());
    return families;
  }

 private:
  static std::size_t ErrorCell(const DbError& error) {
    if (error.kind != DbErrorKind::kQuery) return static_cast<std::size_t>(error.kind) % kKinds;
    const std::string_view cls = error.SqlStateClass();
    const int a = cls.size() == 2 ? ClassChar(cls[0]) : -1;
    const int b = cls.size() == 2 ? ClassChar(cls[1]) : -1;
    if (a < 0 || b < 0) return kKinds + kClasses;
    return kKinds + static_cast<std::size_t>(a) * kClassChars + static_cast<std::size_t>(b);
  }

  static prometheus::MetricFamily Family(std::string name, std::string help,
                                         prometheus::MetricType type) {
    prometheus::MetricFamily f;
    f.name = std::move(name);
    f.help = std::move(help);
    f.type = type;
    return f;
  }

  static prometheus::MetricFamily Gauge(std::string name, std::string help, double value) {
    auto f = Family(std::move(name), std::move(help), prometheus::MetricType::Gauge);
    prometheus::ClientMetric m;
    m.gauge.value = value;
    f.metric.push_back(std::move(m));
    return f;
  }

  prometheus::MetricFamily Gauges() const {
    auto f = Family("myriad_db_pool_connections",
                    "Database connections by state: idle, in_use (a query in flight), connecting.",
                    prometheus::MetricType::Gauge);
    constexpr std::array<std::string_view, 3> kStates = {"idle", "in_use", "connecting"};
    for (std::size_t i = 0; i < kStates.size(); ++i) {
      prometheus::ClientMetric m;
      m.label = {{"state", std::string(kStates[i])}};
      m.gauge.value = static_cast<double>(cells_.Sum(i));
      f.metric.push_back(std::move(m));
    }
    return f;
  }

  prometheus::MetricFamily Acquire() const {
    auto f = Family("myriad_db_pool_acquire_seconds",
                    "Time a query waited for room on a pooled database connection.",
                    prometheus::MetricType::Histogram);
    prometheus::ClientMetric m;
    if (kHistogram.Collect(cells_, acquire_base_, m)) f.metric.push_back(std::move(m));
    return f;
  }

  prometheus::MetricFamily Queries() const {
    auto f = Family("myriad_db_query_duration_seconds",
                    "Database query time from send to result, by statement name.",
                    prometheus::MetricType::Histogram);
    for (std::size_t i = 0; i < statements_.size(); ++i) {
      prometheus::ClientMetric m;
      if (!kHistogram.Collect(cells_, query_base_ + i * kHistogram.cells(), m)) continue;
      m.label = {{"statement", statements_[i]}};
      f.metric.push_back(std::move(m));
    }
    return f;
  }

  prometheus::MetricFamily Errors() const {
    auto f = Family("myriad_db_errors_total",
                    "Failed database queries by error kind and SQLSTATE class (server errors).",
                    prometheus::MetricType::Counter);
    for (std::size_t cell = 0; cell < kErrorCells; ++cell) {
      const std::uint64_t count = cells_.Sum(error_base_ + cell);
      if (count == 0) continue;
      prometheus::ClientMetric m;
      if (cell < kKinds) {
        m.label = {{"kind", std::string(ToString(static_cast<DbErrorKind>(cell)))},
                   {"sqlstate_class", ""}};
      } else if (cell < kKinds + kClasses) {
        const std::size_t c = cell - kKinds;
        m.label = {{"kind", std::string(ToString(DbErrorKind::kQuery))},
                   {"sqlstate_class",
                    std::string{ClassCharAt(c / kClassChars), ClassCharAt(c % kClassChars)}}};
      } else {
        m.label = {{"kind", std::string(ToString(DbErrorKind::kQuery))}, {"sqlstate_class", "??"}};
      }
      m.counter.value = static_cast<double>(count);
      f.metric.push_back(std::move(m));
    }
    return f;
  }

  // Heterogeneous lookup: find() takes a string_view without building a std::string.
  struct NameHash {
    using is_transparent = void;
    std::size_t operator()(std::string_view name) const {
      return std::hash<std::string_view>{}(name);
    }
  };
  std::vector<std::string> statements_;  // names, then "other"
  std::unordered_map<std::string, std::size_t, NameHash, std::equal_to<>> slots_;
  std::size_t pool_size_;
  std::size_t acquire_base_;
  std::size_t query_base_;
  std::size_t error_base_;
  ShardedCells cells_;
};

DbMetrics::DbMetrics(std::size_t shards, std::vector<std::string> statements, std::size_t pool_size)
    : impl_(std::make_shared<Impl>(shards, std::move(statements), pool_size)) {}
DbMetrics::~DbMetrics() = default;

std::size_t DbMetrics::StatementSlot(std::string_view name) const {
  return impl_->StatementSlot(name);
}
std::size_t DbMetrics::OtherStatementSlot() const { return impl_->OtherSlot(); }
void DbMetrics::SetPool(std::size_t shard, const PoolState& state) { impl_->SetPool(shard, state); }
void DbMetrics::ObserveAcquire(std::size_t shard, double seconds) {
  impl_->ObserveAcquire(shard, seconds);
}
void DbMetrics::ObserveQuery(std::size_t shard, std::size_t statement_slot, double seconds) {
  impl_->ObserveQuery(shard, statement_slot, seconds);
}
void DbMetrics::CountError(std::size_t shard, const DbError& error) {
  impl_->CountError(shard, error);
}
void DbMetrics::Count(std::size_t shard, Event event) { impl_->Count(shard, event); }
std::shared_ptr<prometheus::Collectable> DbMetrics::Collectable() { return impl_; }

}  // namespace myriad::db

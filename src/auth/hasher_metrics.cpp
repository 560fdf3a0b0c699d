#include "auth/hasher_metrics.hpp"

#include <prometheus/client_metric.h>
#include <prometheus/collectable.h>
#include <prometheus/metric_family.h>
#include <prometheus/metric_type.h>

#include <array>
#include <atomic>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "metrics/sharded_cells.hpp"

namespace myriad::auth {
namespace {

using metrics::HistogramCells;
using metrics::ShardedCells;

// A job waits for the threads ahead of it: tens of milliseconds each at the default cost,
// seconds when the threads get no CPU. The queue timeout (2 s by default, at most 60 s)
// caps what is ever observed, so the buckets stop there.
constexpr std::array<double, 14> kBounds = {0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25,
                                            0.5,   1,     2,    5,     10,   30,  60};
constexpr HistogramCells kHistogram{kBounds};

constexpr std::array<std::string_view, HasherMetrics::kOps> kOpNames = {"hash", "verify",
                                                                        "verify_dummy"};
constexpr std::array<std::string_view, HasherMetrics::kOutcomes> kOutcomeNames = {
    "ok", "busy_queue_full", "busy_deadline", "error"};

constexpr std::size_t kInProgressCell = 0;
constexpr std::size_t kCountBase = 1;
constexpr std::size_t kWaitBase = kCountBase + HasherMetrics::kOps * HasherMetrics::kOutcomes;
// The wait histogram's buckets, its +Inf bucket and its sum (kHistogram.cells(), which is
// not constexpr).
constexpr std::size_t kCells = kWaitBase + kBounds.size() + 2;

std::size_t CountCell(HasherMetrics::Op op, HasherMetrics::Outcome outcome) {
  return kCountBase + static_cast<std::size_t>(op) * HasherMetrics::kOutcomes +
         static_cast<std::size_t>(outcome);
}

prometheus::MetricFamily Family(std::string name, std::string help, prometheus::MetricType type) {
  prometheus::MetricFamily f;
  f.name = std::move(name);
  f.help = std::move(help);
  f.type = type;
  return f;
}

prometheus::MetricFamily Gauge(std::string name, std::string help, double value) {
  auto f = Family(std::move(name), std::move(help), prometheus::MetricType::Gauge);
  prometheus::ClientMetric m;
  m.gauge.value = value;
  f.metric.push_back(std::move(m));
  return f;
}

}  // namespace

// What only hashing threads write lives in ShardedCells (one shard per thread). The queue
// depth and the refusals are written by every io thread, so they are atomics with
// read-modify-write increments instead: each accepted or refused job already does one on
// the hasher's shared queue counter, so this adds no new kind of contention.
class HasherMetrics::Impl final : public prometheus::Collectable {
 public:
  explicit Impl(std::size_t shards) : cells_(shards, kCells) {}

  std::size_t shards() const { return cells_.shards(); }

  void Accepted() { depth_.value.fetch_add(1, std::memory_order_relaxed); }
  void Refused(Op op) {
    refused_.by_op[static_cast<std::size_t>(op)].fetch_add(1, std::memory_order_relaxed);
  }
  void GaveUp(Op op) {
    depth_.value.fetch_sub(1, std::memory_order_relaxed);
    gave_up_.by_op[static_cast<std::size_t>(op)].fetch_add(1, std::memory_order_relaxed);
  }
  void Expired(std::size_t shard, Op op, double waited_seconds) {
    depth_.value.fetch_sub(1, std::memory_order_relaxed);
    kHistogram.Observe(cells_, shard, kWaitBase, waited_seconds);
    cells_.Add(shard, CountCell(op, Outcome::kBusyDeadline), 1);
  }
  void Started(std::size_t shard, double waited_seconds) {
    depth_.value.fetch_sub(1, std::memory_order_relaxed);
    kHistogram.Observe(cells_, shard, kWaitBase, waited_seconds);
    // A hashing thread runs one job at a time, so its shard's gauge is 0 or 1.
    cells_.Set(shard, kInProgressCell, 1);
  }
  void Finished(std::size_t shard, Op op, Outcome outcome) {
    cells_.Set(shard, kInProgressCell, 0);
    cells_.Add(shard, CountCell(op, outcome), 1);
  }

  std::uint64_t Count(Op op, Outcome outcome) const {
    if (outcome == Outcome::kBusyQueueFull) {
      return refused_.by_op[static_cast<std::size_t>(op)].load(std::memory_order_relaxed);
    }
    const std::uint64_t gave_up =
        outcome == Outcome::kBusyDeadline
            ? gave_up_.by_op[static_cast<std::size_t>(op)].load(std::memory_order_relaxed)
            : 0;
    return cells_.Sum(CountCell(op, outcome)) + gave_up;
  }
  std::uint64_t QueueDepth() const { return depth_.value.load(std::memory_order_relaxed); }
  std::uint64_t InProgress() const { return cells_.Sum(kInProgressCell); }
  std::uint64_t Waits() const {
    std::uint64_t count = 0;
    for (std::size_t b = 0; b <= kBounds.size(); ++b) count += cells_.Sum(kWaitBase + b);
    return count;
  }

  std::vector<prometheus::MetricFamily> Collect() const override {
    std::vector<prometheus::MetricFamily> families;
    families.push_back(Gauge("myriad_password_hash_queue_depth",
                             "Password hashing jobs accepted, waiting for a hashing thread.",
                             static_cast<double>(QueueDepth())));
    families.push_back(Gauge("myriad_password_hash_in_progress",
                             "Password hashing jobs running on a hashing thread.",
                             static_cast<double>(InProgress())));
    families.push_back(Operations());
    families.push_back(Waiting());
    return families;
  }

 private:
  prometheus::MetricFamily Operations() const {
    auto f = Family("myriad_password_hash_operations_total",
                    "Password hashing jobs by operation and outcome (busy ones were not run).",
                    prometheus::MetricType::Counter);
    for (std::size_t op = 0; op < kOps; ++op) {
      for (std::size_t outcome = 0; outcome < kOutcomes; ++outcome) {
        prometheus::ClientMetric m;
        m.label = {{"op", std::string(kOpNames[op])},
                   {"outcome", std::string(kOutcomeNames[outcome])}};
        m.counter.value =
            static_cast<double>(Count(static_cast<Op>(op), static_cast<Outcome>(outcome)));
        f.metric.push_back(std::move(m));
      }
    }
    return f;
  }

  prometheus::MetricFamily Waiting() const {
    auto f = Family("myriad_password_hash_queue_wait_seconds",
                    "Time password hashing jobs waited in the queue for a hashing thread.",
                    prometheus::MetricType::Histogram);
    prometheus::ClientMetric m;
    if (kHistogram.Collect(cells_, kWaitBase, m)) f.metric.push_back(std::move(m));
    return f;
  }

  // Lines of their own: io threads write these, hashing threads write the cells.
  struct alignas(128) Depth {
    std::atomic<std::uint64_t> value{0};
  };
  struct alignas(128) Refusals {
    std::array<std::atomic<std::uint64_t>, kOps> by_op{};
  };
  // Cell layout of one shard: [in progress][counts: kOps x kOutcomes][wait histogram].
  // The busy_queue_full count cells stay 0: refusals happen on io threads.
  ShardedCells cells_;
  Depth depth_;
  Refusals refused_;
  Refusals gave_up_;  // busy_deadline decided on the io thread (PasswordHasher's timer)
};

HasherMetrics::HasherMetrics(std::size_t hashing_threads)
    : impl_(std::make_shared<Impl>(hashing_threads)) {}
HasherMetrics::~HasherMetrics() = default;

std::size_t HasherMetrics::shards() const { return impl_->shards(); }
void HasherMetrics::Accepted() { impl_->Accepted(); }
void HasherMetrics::Refused(Op op) { impl_->Refused(op); }
void HasherMetrics::GaveUp(Op op) { impl_->GaveUp(op); }
void HasherMetrics::Expired(std::size_t shard, Op op, double waited_seconds) {
  impl_->Expired(shard, op, waited_seconds);
}
void HasherMetrics::Started(std::size_t shard, double waited_seconds) {
  impl_->Started(shard, waited_seconds);
}
void HasherMetrics::Finished(std::size_t shard, Op op, Outcome outcome) {
  impl_->Finished(shard, op, outcome);
}
std::uint64_t HasherMetrics::Count(Op op, Outcome outcome) const {
  return impl_->Count(op, outcome);
}
std::uint64_t HasherMetrics::QueueDepth() const { return impl_->QueueDepth(); }
std::uint64_t HasherMetrics::InProgress() const { return impl_->InProgress(); }
std::uint64_t HasherMetrics::Waits() const { return impl_->Waits(); }
std::shared_ptr<prometheus::Collectable> HasherMetrics::Collectable() const { return impl_; }

}  // namespace myriad::auth

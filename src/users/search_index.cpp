#include "users/search_index.hpp"

#include <spdlog/spdlog.h>

#include <array>
#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <utility>

#include "metrics/series_set.hpp"

namespace myriad::users {
namespace {

namespace asio = boost::asio;
using Clock = db::PgPool::Clock;

// to_regclass: a database whose schema predates the index (or has no users table yet)
// answers no row instead of an error.
constexpr std::string_view kFlushSql =
    "SELECT gin_clean_pending_list(i) FROM to_regclass('users_search_trgm') AS i "
    "WHERE i IS NOT NULL";

// A flush of 30 s of bench/scale's updates took 0.2-0.7 s on the 2-core machine.
constexpr std::array<double, 10> kBounds = {0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10};

double SecondsSince(Clock::time_point start) {
  return std::chrono::duration<double>(Clock::now() - start).count();
}

}  // namespace

std::string_view FlushSearchIndexSql() { return kFlushSql; }

struct SearchIndexMetrics::Impl {
  metrics::SeriesSet set{1};
  metrics::SeriesSet::Id ok = 0;
  metrics::SeriesSet::Id error = 0;
  metrics::SeriesSet::Id pages = 0;
  metrics::SeriesSet::Id seconds = 0;
};

SearchIndexMetrics::SearchIndexMetrics() : impl_(std::make_unique<Impl>()) {
  const std::string flushes = "myriad_search_index_flushes_total";
  const std::string help = "Flushes of the users search index's pending list, by outcome.";
  impl_->ok = impl_->set.Counter(flushes, help, {{"outcome", "ok"}});
  impl_->error = impl_->set.Counter(flushes, help, {{"outcome", "error"}});
  impl_->pages = impl_->set.Counter("myriad_search_index_flushed_pages_total",
                                    "Pending-list pages the flushes moved into the index.");
  impl_->seconds = impl_->set.Histogram("myriad_search_index_flush_seconds",
                                        "Time of one flush, send to result.", {}, kBounds);
  impl_->set.Seal();
}

SearchIndexMetrics::~SearchIndexMetrics() = default;

void SearchIndexMetrics::Flushed(std::int64_t pages, double seconds) {
  impl_->set.Add(0, impl_->ok);
  if (pages > 0) impl_->set.Add(0, impl_->pages, static_cast<std::uint64_t>(pages));
  impl_->set.Observe(0, impl_->seconds, seconds);
}

void SearchIndexMetrics::Failed(double seconds) {
  impl_->set.Add(0, impl_->error);
  impl_->set.Observe(0, impl_->seconds, seconds);
}

std::uint64_t SearchIndexMetrics::flushes() const { return impl_->set.Sum(impl_->ok); }
std::uint64_t SearchIndexMetrics::failures() const { return impl_->set.Sum(impl_->error); }
std::uint64_t SearchIndexMetrics::pages() const { return impl_->set.Sum(impl_->pages); }

std::shared_ptr<prometheus::Collectable> SearchIndexMetrics::Collectable() const {
  return impl_->set.Collectable();
}

// Shared by the flusher and its coroutine: the coroutine may still be suspended (in a
// timer wait or a query) when the flusher is destroyed, and then touches only `stopped`
// (the pool, which the flusher owns, fails the query in flight as it closes).
struct SearchIndexFlusher::State {
  State(const asio::any_io_executor& executor, SearchIndexFlusherOptions flusher_options,
        std::shared_ptr<SearchIndexMetrics> sink)
      : timer(executor), options(flusher_options), metrics(std::move(sink)) {}

  asio::steady_timer timer;
  SearchIndexFlusherOptions options;
  std::shared_ptr<SearchIndexMetrics> metrics;
  bool stopped = false;
  bool failing = false;  // the last flush failed (and was logged)

  static asio::awaitable<void> Run(std::shared_ptr<State> self, db::PgPool& pool) {
    for (;;) {
      self->timer.expires_after(self->options.interval);
      (void)co_await self->timer.async_wait(asio::as_tuple(asio::use_awaitable));
      if (self->stopped) co_return;
      const auto started = Clock::now();
      db::Params none;  // named: GCC 12 miscompiles braced temporaries inside co_await
      auto result =
          co_await pool.Query(kFlushSql, std::move(none), started + self->options.timeout);
      if (self->stopped) co_return;
      self->Record(result, SecondsSince(started));
    }
  }

  void Record(const db::DbResult<db::PgResult>& result, double seconds) {
    if (!result) {
      Fail(result.error().Describe(), seconds);
      return;
    }
    std::int64_t pages = 0;
    if (result->rows() == 1) {
      auto value = result->GetInt64(0, 0);
      if (!value) {
        Fail(value.error().Describe(), seconds);
        return;
      }
      pages = *value;
    }
    if (metrics) metrics->Flushed(pages, seconds);
    if (failing) {
      failing = false;
      spdlog::info("search index: pending list flushed again ({} pages)", pages);
    }
  }

  void Fail(const std::string& why, double seconds) {
    if (metrics) metrics->Failed(seconds);
    if (failing) return;
    failing = true;
    spdlog::warn(
        "search index: flushing its pending list failed ({}); retrying every {} ms, searches "
        "slow down as the list grows",
        why, options.interval.count());
  }
};

SearchIndexFlusher::SearchIndexFlusher(const asio::any_io_executor& executor, db::PoolOptions pool,
                                       SearchIndexFlusherOptions options,
                                       std::shared_ptr<SearchIndexMetrics> metrics)
    : state_(std::make_shared<State>(executor, options, std::move(metrics))),
      pool_(executor, std::move(pool)) {
  if (options.interval > std::chrono::milliseconds::zero()) {
    asio::co_spawn(executor, State::Run(state_, pool_), asio::detached);
  }
}

SearchIndexFlusher::~SearchIndexFlusher() {
  state_->stopped = true;
  state_->timer.cancel();
}

}  // namespace myriad::users

#include "metrics/series_set.hpp"

#include <prometheus/client_metric.h>
#include <prometheus/collectable.h>
#include <prometheus/metric_family.h>
#include <prometheus/metric_type.h>

#include <map>
#include <stdexcept>

namespace myriad::metrics {

class SeriesSet::Collector final : public prometheus::Collectable {
 public:
  Collector(std::vector<Series> series, std::vector<std::size_t> base,
            std::shared_ptr<ShardedCells> cells)
      : series_(std::move(series)), base_(std::move(base)), cells_(std::move(cells)) {}

  std::vector<prometheus::MetricFamily> Collect() const override {
    std::vector<prometheus::MetricFamily> families;
    std::map<std::string, std::size_t> index;  // family name -> position in `families`
    for (std::size_t i = 0; i < series_.size(); ++i) {
      const Series& s = series_[i];
      auto [it, added] = index.emplace(s.family, families.size());
      if (added) {
        prometheus::MetricFamily f;
        f.name = s.family;
        f.help = s.help;
        f.type = s.kind == Kind::kCounter ? prometheus::MetricType::Counter
                 : s.kind == Kind::kGauge ? prometheus::MetricType::Gauge
                                          : prometheus::MetricType::Histogram;
        families.push_back(std::move(f));
      }
      prometheus::ClientMetric m;
      for (const auto& [name, value] : s.labels) m.label.push_back({name, value});
      const auto value = static_cast<double>(cells_->Sum(base_[i]));
      if (s.kind == Kind::kCounter) {
        m.counter.value = value;
      } else if (s.kind == Kind::kGauge) {
        m.gauge.value = value;
      } else if (!HistogramCells{s.bounds}.Collect(*cells_, base_[i], m)) {
        continue;
      }
      families[it->second].metric.push_back(std::move(m));
    }
    return families;
  }

 private:
  std::vector<Series> series_;
  std::vector<std::size_t> base_;
  std::shared_ptr<ShardedCells> cells_;
};

SeriesSet::SeriesSet(std::size_t shards) : shards_(shards == 0 ? 1 : shards) {}
SeriesSet::~SeriesSet() = default;

SeriesSet::Id SeriesSet::Declare(Series series) {
  if (cells_) throw std::logic_error("SeriesSet: series declared after Seal()");
  series_.push_back(std::move(series));
  return series_.size() - 1;
}

SeriesSet::Id SeriesSet::Counter(const std::string& family, const std::string& help,
                                 Labels labels) {
  return Declare({family, help, Kind::kCounter, std::move(labels), {}});
}

SeriesSet::Id SeriesSet::Gauge(const std::string& family, const std::string& help, Labels labels) {
  return Declare({family, help, Kind::kGauge, std::move(labels), {}});
}

SeriesSet::Id SeriesSet::Histogram(const std::string& family, const std::string& help,
                                   Labels labels, std::span<const double> bounds) {
  return Declare({family, help, Kind::kHistogram, std::move(labels), bounds});
}

void SeriesSet::Seal() {
  std::size_t cells = 0;
  base_.clear();
  for (const Series& s : series_) {
    base_.push_back(cells);
    cells += s.kind == Kind::kHistogram ? HistogramCells{s.bounds}.cells() : 1;
  }
  cells_ = std::make_shared<ShardedCells>(shards_, cells);
  collector_ = std::make_shared<Collector>(series_, base_, cells_);
}

void SeriesSet::Observe(std::size_t shard, Id id, double seconds) {
  HistogramCells{series_[id].bounds}.Observe(*cells_, shard, base_[id], seconds);
}

std::shared_ptr<prometheus::Collectable> SeriesSet::Collectable() const { return collector_; }

}  // namespace myriad::metrics

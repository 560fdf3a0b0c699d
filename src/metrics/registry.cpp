#include "metrics/registry.hpp"

#include <prometheus/check_names.h>
#include <prometheus/client_metric.h>
#include <prometheus/collectable.h>
#include <prometheus/metric_family.h>
#include <prometheus/metric_type.h>
#include <prometheus/registry.h>
#include <prometheus/text_serializer.h>

#include <algorithm>
#include <exception>
#include <mutex>
#include <stdexcept>
#include <utility>
#include <vector>

#include "metrics/process_metrics.hpp"

namespace myriad::metrics {
namespace {

class CallbackGauges final : public prometheus::Collectable {
 public:
  void Add(std::string name, std::string help, std::function<double()> read) {
    if (!prometheus::CheckMetricName(name)) {
      throw std::invalid_argument("invalid metric name: " + name);
    }
    if (!read) throw std::invalid_argument("callback gauge without a callback: " + name);
    const std::lock_guard lock(mutex_);
    const bool taken = std::any_of(gauges_.begin(), gauges_.end(),
                                   [&](const auto& gauge) { return gauge->name == name; });
    if (taken) throw std::invalid_argument("duplicate callback gauge: " + name);
    gauges_.push_back(
        std::make_shared<const Gauge>(Gauge{std::move(name), std::move(help), std::move(read)}));
  }

  std::vector<prometheus::MetricFamily> Collect() const override {
    // Copy the list so that the callbacks run without the lock held.
    std::vector<std::shared_ptr<const Gauge>> gauges;
    {
      const std::lock_guard lock(mutex_);
      gauges = gauges_;
    }
    std::vector<prometheus::MetricFamily> families;
    families.reserve(gauges.size());
    for (const auto& gauge : gauges) {
      double value = 0;
      try {
        value = gauge->read();
      } catch (...) {
        // A scrape must not fail because one gauge did; the gap in the series shows it.
        continue;
      }
      prometheus::MetricFamily family;
      family.name = gauge->name;
      family.help = gauge->help;
      family.type = prometheus::MetricType::Gauge;
      family.metric.emplace_back();
      family.metric.back().gauge.value = value;
      families.push_back(std::move(family));
    }
    return families;
  }

 private:
  struct Gauge {
    std::string name;
    std::string help;
    std::function<double()> read;
  };

  mutable std::mutex mutex_;
  std::vector<std::shared_ptr<const Gauge>> gauges_;
};

}  // namespace

struct Registry::Impl {
  std::shared_ptr<prometheus::Registry> prometheus = std::make_shared<prometheus::Registry>();
  std::shared_ptr<CallbackGauges> gauges = std::make_shared<CallbackGauges>();

  mutable std::mutex mutex;
  std::vector<std::shared_ptr<prometheus::Collectable>> collectables;  // guarded by mutex
  bool process_metrics_added = false;                                  // guarded by mutex
};

Registry::Registry() : impl_(std::make_unique<Impl>()) {
  impl_->collectables = {impl_->prometheus, impl_->gauges};
}

Registry::~Registry() = default;

prometheus::Registry& Registry::Prometheus() { return *impl_->prometheus; }

void Registry::Add(std::shared_ptr<prometheus::Collectable> collectable) {
  if (!collectable) return;
  const std::lock_guard lock(impl_->mutex);
  impl_->collectables.push_back(std::move(collectable));
}

void Registry::AddCallbackGauge(std::string name, std::string help, std::function<double()> read) {
  impl_->gauges->Add(std::move(name), std::move(help), std::move(read));
}

void Registry::AddProcessMetrics() {
  const std::lock_guard lock(impl_->mutex);
  if (impl_->process_metrics_added) return;
  impl_->process_metrics_added = true;
  impl_->collectables.push_back(MakeProcessMetrics());
}

std::string Registry::Serialize() const {
  std::vector<std::shared_ptr<prometheus::Collectable>> collectables;
  {
    const std::lock_guard lock(impl_->mutex);
    collectables = impl_->collectables;
  }
  std::vector<prometheus::MetricFamily> families;
  for (const auto& collectable : collectables) {
    auto collected = collectable->Collect();
    families.insert(families.end(), std::make_move_iterator(collected.begin()),
                    std::make_move_iterator(collected.end()));
  }
  return prometheus::TextSerializer().Serialize(families);
}

}  // namespace myriad::metrics

#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "core/result.hpp"
#include "loadgen/stats.hpp"

namespace myriad::load {

/// One objective of --slo: "p99<500ms", "p99.9<=1s", "errors<0.1%", "rps>=9000",
/// "mean<20ms", "max<2s".
struct Objective {
  enum class Metric { kPercentile, kMean, kMax, kErrorRate, kRequestsPerSecond };
  Metric metric = Metric::kPercentile;
  double percentile = 0;   // kPercentile only
  bool inclusive = false;  // "<=" / ">=" instead of "<" / ">"
  bool at_least = false;   // ">" (rps) instead of "<"
  double limit = 0;  // microseconds for latencies, a fraction (0.001) for errors, req/s for rps
  std::string text;  // as written, normalised ("p99<500ms")
};

/// The default when --slo is given without a value.
inline constexpr std::string_view kDefaultSlo = "p90<100ms,p95<200ms,p99<500ms,errors<0.1%";

/// Parses a comma-separated list of objectives. Latency units: us, ms, s, m. Errors: "%"
/// or a plain fraction. The error message names the objective at fault and why.
core::Result<std::vector<Objective>, std::string> ParseSlo(std::string_view text);

struct ObjectiveResult {
  Objective objective;
  double measured = 0;  // in the objective's unit (microseconds, fraction, req/s)
  bool pass = false;
  std::string measured_text;  // "41.2ms", "0.000%", "9,870/s"
};

/// Checks each objective against the run's totals (warm-up excluded).
std::vector<ObjectiveResult> Evaluate(const std::vector<Objective>& objectives,
                                      const RunResult& run);

}  // namespace myriad::load

#pragma once

#include <chrono>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "core/result.hpp"

namespace myriad::load {

/// When each request of an open-loop run is meant to be sent, from --rate:
///   "10000/s"                    constant (also "600/m", "10000" = per second);
///   "1000/s:10s,5000/s:20s,..."  steps, each for its duration; the last step (its
///                                duration may be omitted) lasts until the run ends;
///   "100/s..10000/s:60s"         a step may also be a linear ramp from one rate to another.
/// Arrival k (0-based) is due at ArrivalTime(k) after the start; arrivals are evenly spread
/// within a step (no Poisson noise: a run is reproducible). Immutable; any thread.
class RateSchedule {
 public:
  static core::Result<RateSchedule, std::string> Parse(std::string_view text);

  /// Offset from the start at which arrival k is due. Monotonic in k.
  std::chrono::nanoseconds ArrivalTime(std::int64_t k) const;
  /// How many arrivals are due at or before `elapsed` (the k with ArrivalTime(k) <= elapsed).
  std::int64_t ArrivalsBy(std::chrono::nanoseconds elapsed) const;
  /// Arrivals per second at `elapsed`.
  double RateAt(std::chrono::nanoseconds elapsed) const;
  /// The highest rate of any step (sizes the connection pool).
  double PeakRate() const;
  /// As normalised text: "1000/s:10s,5000/s".
  std::string Describe() const;

 private:
  struct Step {
    double from_per_s = 0;
    double to_per_s = 0;                 // == from_per_s unless a ramp
    std::chrono::nanoseconds length{0};  // 0 for the open-ended last step
  };
  std::vector<Step> steps_;
};

}  // namespace myriad::load

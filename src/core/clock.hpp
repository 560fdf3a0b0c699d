#pragma once

#include <chrono>
#include <cstdint>

namespace myriad::core {

/// The one place that reads the wall clock (lint forbids it elsewhere): logs, Date
/// headers and metrics timestamps. Durations and deadlines use SteadyNow().
std::int64_t WallClockSeconds();
std::chrono::system_clock::time_point WallNow();

/// Monotonic time for deadlines and durations.
inline std::chrono::steady_clock::time_point SteadyNow() {
  return std::chrono::steady_clock::now();
}

}  // namespace myriad::core

#include "core/clock.hpp"

#include <ctime>

namespace myriad::core {

std::int64_t WallClockSeconds() {
  // CLOCK_REALTIME_COARSE: a vDSO read without the TSC math; one-second precision is all
  // the Date header needs and it is read on every response.
  timespec ts{};
  clock_gettime(CLOCK_REALTIME_COARSE, &ts);
  return ts.tv_sec;
}

std::chrono::system_clock::time_point WallNow() { return std::chrono::system_clock::now(); }

}  // namespace myriad::core

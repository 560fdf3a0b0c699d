#include "loadgen/rate.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <limits>

#include "loadgen/units.hpp"

namespace myriad::load {
namespace {

using std::chrono::nanoseconds;

// Ten million a second is beyond any single generator; the bound also keeps arrivals at
// least 100ns apart, far above the rounding error of the arithmetic below.
constexpr double kMaxRate = 10'000'000;
constexpr long double kNanosPerSecond = 1e9L;
constexpr std::int64_t kMaxNanos = std::numeric_limits<std::int64_t>::max();

core::Result<double, std::string> ParseRate(std::string_view rate, std::string_view text) {
  const auto invalid = [&](std::string_view why) {
    return core::Unexpected{fmt::format(R"(invalid rate "{}" in "{}": {})", rate, text, why)};
  };
  std::string_view number = rate;
  double per = 1;
  if (const std::size_t slash = rate.find('/'); slash != std::string_view::npos) {
    number = rate.substr(0, slash);
    const std::string_view unit = rate.substr(slash + 1);
    if (unit == "s") {
      per = 1;
    } else if (unit == "m") {
      per = 60;
    } else {
      return invalid("the unit must be /s or /m");
    }
  }
  // Digits with an optional fraction: no sign, exponent, inf or nan.
  bool digits = false;
  bool dot = false;
  for (const char ch : number) {
    if (ch >= '0' && ch <= '9') {
      digits = true;
    } else if (ch == '.' && !dot) {
      dot = true;
    } else {
      return invalid("expected a number of requests such as 1000/s or 600/m");
    }
  }
  if (!digits) return invalid("expected a number of requests such as 1000/s or 600/m");
  const double value = std::strtod(std::string(number).c_str(), nullptr) / per;
  if (!(value > 0)) return invalid("the rate must be above zero");
  if (!(value <= kMaxRate)) return invalid("the rate must be at most 10000000/s");
  return value;
}

// "1000/s", or "/m" when that reads better (600/m is kept as 10/s, 1/m as 1/m).
std::string FormatRate(double per_s) {
  const double per_m = per_s * 60;
  if (per_s != std::floor(per_s) && per_m == std::floor(per_m)) return fmt::format("{}/m", per_m);
  return fmt::format("{}/s", per_s);
}

long double Seconds(nanoseconds d) { return static_cast<long double>(d.count()) / kNanosPerSecond; }

nanoseconds ToNanos(long double seconds) {
  const long double ns = std::round(seconds * kNanosPerSecond);
  if (!(ns < static_cast<long double>(kMaxNanos))) return nanoseconds(kMaxNanos);
  return nanoseconds(static_cast<std::int64_t>(ns));
}

}  // namespace

core::Result<RateSchedule, std::string> RateSchedule::Parse(std::string_view text) {
  RateSchedule schedule;
  if (text.empty()) return core::Unexpected{std::string("empty rate: expected e.g. \"1000/s\"")};
  std::string_view rest = text;
  while (true) {
    const std::size_t comma = rest.find(',');
    const std::string_view step_text = rest.substr(0, comma);
    const bool last = comma == std::string_view::npos;
    if (schedule.steps_.size() >= 1000) {
      return core::Unexpected{fmt::format("too many steps in \"{}\" (at most 1000)", text)};
    }

    std::string_view rates = step_text;
    Step step;
    if (const std::size_t colon = step_text.find(':'); colon != std::string_view::npos) {
      rates = step_text.substr(0, colon);
      const std::string_view duration = step_text.substr(colon + 1);
      auto length = ParseDuration(duration);
      if (!length) {
        return core::Unexpected{fmt::format("in rate \"{}\": {}", text, length.error())};
      }
      if (length->count() <= 0) {
        return core::Unexpected{
            fmt::format(R"(in rate "{}": the step "{}" has no length)", text, step_text)};
      }
      step.length = *length;
    } else if (!last) {
      return core::Unexpected{fmt::format(
          R"(in rate "{}": the step "{}" needs a length (":10s"); only the last may omit it)", text,
          step_text)};
    }

    const std::size_t dots = rates.find("..");
    auto from = ParseRate(rates.substr(0, dots), text);
    if (!from) return core::Unexpected{std::move(from).error()};
    step.from_per_s = step.to_per_s = *from;
    if (dots != std::string_view::npos) {
      auto to = ParseRate(rates.substr(dots + 2), text);
      if (!to) return core::Unexpected{std::move(to).error()};
      step.to_per_s = *to;
      if (step.length.count() == 0) {
        return core::Unexpected{
            fmt::format(R"(in rate "{}": the ramp "{}" needs a length (":60s"))", text, step_text)};
      }
    }
    schedule.steps_.push_back(step);
    if (last) break;
    rest.remove_prefix(comma + 1);
  }
  return schedule;
}

// Each step starts where the previous one ended, with the cumulative (fractional) count of
// arrivals so far; arrival k falls in the step whose count range holds k. After a last step
// with a length, the run goes on at its final rate.
std::chrono::nanoseconds RateSchedule::ArrivalTime(std::int64_t k) const {
  if (k <= 0 || steps_.empty()) return nanoseconds(0);
  const auto n = static_cast<long double>(k);
  long double start_count = 0;
  long double start_s = 0;
  for (const Step& step : steps_) {
    const long double length_s = Seconds(step.length);
    const long double a = step.from_per_s;
    const long double b = step.to_per_s;
    const long double end_count = start_count + (a + b) / 2 * length_s;
    if (step.length.count() == 0 || n < end_count) {
      const long double within = n - start_count;
      long double offset = 0;
      if (a == b) {
        offset = within / a;
      } else {
        // Solves a*t + (b-a)/(2L)*t^2 = within in the form that is stable for both signs.
        const long double slope = (b - a) / length_s;
        offset = 2 * within / (a + std::sqrt(a * a + 2 * slope * within));
      }
      // Rounding must not move an arrival out of its step, or times could go backwards.
      if (step.length.count() != 0) offset = std::min(offset, length_s);
      return ToNanos(start_s + offset);
    }
    start_count = end_count;
    start_s += length_s;
  }
  const long double rate = steps_.back().to_per_s;
  return ToNanos(start_s + (n - start_count) / rate);
}

std::int64_t RateSchedule::ArrivalsBy(std::chrono::nanoseconds elapsed) const {
  if (elapsed.count() < 0 || steps_.empty()) return 0;
  const long double t = Seconds(elapsed);
  long double start_count = 0;
  long double start_s = 0;
  long double count = -1;
  for (const Step& step : steps_) {
    const long double length_s = Seconds(step.length);
    const long double a = step.from_per_s;
    const long double b = step.to_per_s;
    if (step.length.count() == 0 || t < start_s + length_s) {
      const long double within = t - start_s;
      count = start_count + a * within +
              (b - a) / (2 * (length_s > 0 ? length_s : 1)) * within * within;
      break;
    }
    start_count += (a + b) / 2 * length_s;
    start_s += length_s;
  }
  if (count < 0) count = start_count + (t - start_s) * steps_.back().to_per_s;
  // The closed form is within rounding of the answer; settle the boundary with ArrivalTime
  // itself so that the two always agree.
  constexpr long double kMaxCount = 4e18L;
  std::int64_t by = static_cast<std::int64_t>(std::floor(std::min(count, kMaxCount))) + 1;
  by = std::max<std::int64_t>(by, 1);
  while (by > 1 && ArrivalTime(by - 1) > elapsed) --by;
  while (ArrivalTime(by) <= elapsed && by < static_cast<std::int64_t>(kMaxCount)) ++by;
  return by;
}

double RateSchedule::RateAt(std::chrono::nanoseconds elapsed) const {
  if (steps_.empty()) return 0;
  nanoseconds start(0);
  for (const Step& step : steps_) {
    if (step.length.count() == 0 || elapsed < start + step.length) {
      if (step.from_per_s == step.to_per_s) return step.from_per_s;
      const double fraction = std::clamp(
          static_cast<double>((elapsed - start).count()) / static_cast<double>(step.length.count()),
          0.0, 1.0);
      return step.from_per_s + (step.to_per_s - step.from_per_s) * fraction;
    }
    start += step.length;
  }
  return steps_.back().to_per_s;
}

double RateSchedule::PeakRate() const {
  double peak = 0;
  for (const Step& step : steps_) peak = std::max({peak, step.from_per_s, step.to_per_s});
  return peak;
}

std::string RateSchedule::Describe() const {
  std::string out;
  for (const Step& step : steps_) {
    if (!out.empty()) out += ',';
    out += FormatRate(step.from_per_s);
    if (step.to_per_s != step.from_per_s) out += ".." + FormatRate(step.to_per_s);
    if (step.length.count() != 0) {
      out +=
          ':' + FormatDuration(std::chrono::duration_cast<std::chrono::microseconds>(step.length));
    }
  }
  return out;
}

}  // namespace myriad::load

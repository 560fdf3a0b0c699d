#include "loadgen/units.hpp"

#include <fmt/format.h>

#include <cmath>
#include <cstdint>
#include <string>

namespace myriad::load {
namespace {

using std::chrono::microseconds;

// Far beyond any run (about 3.5 years), and small enough that the arithmetic below stays
// exact in a double.
constexpr double kMaxMicros = 1e14;

bool IsDigit(char ch) { return ch >= '0' && ch <= '9'; }

// The number of microseconds in `unit`, or 0 if it is not a unit.
std::int64_t UnitMicros(std::string_view unit) {
  if (unit == "us") return 1;
  if (unit == "ms") return 1'000;
  if (unit == "s") return 1'000'000;
  if (unit == "m") return 60'000'000;
  if (unit == "h") return 3'600'000'000;
  return 0;
}

core::Result<microseconds, std::string> Invalid(std::string_view text, std::string_view why) {
  return core::Unexpected{fmt::format("invalid duration \"{}\": {}", text, why)};
}

}  // namespace

core::Result<microseconds, std::string> ParseDuration(std::string_view text) {
  if (text.empty()) return Invalid(text, "it is empty");
  // A sum of parts such as "2m30s" (what FormatDuration writes); a bare number is seconds
  // and only allowed alone.
  double total = 0;
  std::size_t pos = 0;
  int parts = 0;
  while (pos < text.size()) {
    const std::size_t start = pos;
    double value = 0;
    while (pos < text.size() && IsDigit(text[pos])) {
      value = value * 10 + (text[pos] - '0');
      ++pos;
    }
    const bool whole_digits = pos > start;
    if (pos < text.size() && text[pos] == '.') {
      ++pos;
      double scale = 0.1;
      const std::size_t fraction_start = pos;
      while (pos < text.size() && IsDigit(text[pos])) {
        value += (text[pos] - '0') * scale;
        scale /= 10;
        ++pos;
      }
      if (pos == fraction_start && !whole_digits) return Invalid(text, "expected a number");
    } else if (!whole_digits) {
      return Invalid(text, "expected a number such as 500ms, 10s or 2m");
    }
    const std::size_t unit_start = pos;
    while (pos < text.size() && !IsDigit(text[pos]) && text[pos] != '.') ++pos;
    const std::string_view unit = text.substr(unit_start, pos - unit_start);
    std::int64_t scale = 1'000'000;
    if (!unit.empty()) {
      scale = UnitMicros(unit);
      if (scale == 0) {
        return Invalid(text, fmt::format("unknown unit \"{}\" (use us, ms, s, m or h)", unit));
      }
    } else if (parts > 0 || pos < text.size()) {
      return Invalid(text, "every part needs a unit (us, ms, s, m or h)");
    }
    total += value * static_cast<double>(scale);
    if (!(total <= kMaxMicros)) return Invalid(text, "it is too long");
    ++parts;
  }
  return microseconds(std::llround(total));
}

std::string FormatDuration(microseconds d) {
  std::int64_t us = d.count();
  std::string out;
  if (us < 0) {
    out += '-';
    // Negating the minimum would overflow; it is far from any real duration anyway.
    us = us == INT64_MIN ? INT64_MAX : -us;
  }
  if (us == 0) return "0s";
  constexpr std::int64_t kSecond = 1'000'000;
  constexpr std::int64_t kMinute = 60 * kSecond;
  constexpr std::int64_t kHour = 60 * kMinute;
  if (us < kSecond) {
    if (us % 1'000 == 0) return out + fmt::format("{}ms", us / 1'000);
    if (us > 1'000) return out + fmt::format("{}ms", static_cast<double>(us) / 1'000);
    return out + fmt::format("{}us", us);
  }
  if (us >= kHour) {
    out += fmt::format("{}h", us / kHour);
    us %= kHour;
  }
  if (us >= kMinute) {
    out += fmt::format("{}m", us / kMinute);
    us %= kMinute;
  }
  if (us == 0) return out;
  if (us % kSecond == 0) return out + fmt::format("{}s", us / kSecond);
  // Whole seconds and up to six decimals, without trailing zeros.
  std::string fraction = fmt::format("{:06}", us % kSecond);
  while (fraction.back() == '0') fraction.pop_back();
  return out + fmt::format("{}.{}s", us / kSecond, fraction);
}

}  // namespace myriad::load

#include "loadgen/slo.hpp"

#include <fmt/format.h>

#include <charconv>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <system_error>
#include <utility>
#include <vector>

#include "loadgen/report.hpp"

namespace myriad::load {
namespace {

using Metric = Objective::Metric;
using ParseResult = core::Result<Objective, std::string>;

bool IsSpace(char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r'; }
bool IsDigit(char c) { return c >= '0' && c <= '9'; }
bool IsWordChar(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || IsDigit(c) || c == '.';
}

std::string_view Trim(std::string_view s) {
  while (!s.empty() && IsSpace(s.front())) s.remove_prefix(1);
  while (!s.empty() && IsSpace(s.back())) s.remove_suffix(1);
  return s;
}

// A small cursor over one objective's text.
class Scanner {
 public:
  explicit Scanner(std::string_view text) : text_(text) {}

  void SkipSpace() {
    while (pos_ < text_.size() && IsSpace(text_[pos_])) ++pos_;
  }
  bool AtEnd() const { return pos_ == text_.size(); }
  std::string_view Rest() const { return text_.substr(pos_); }

  std::string_view TakeWhile(bool (*pred)(char)) {
    const std::size_t start = pos_;
    while (pos_ < text_.size() && pred(text_[pos_])) ++pos_;
    return text_.substr(start, pos_ - start);
  }
  std::string_view TakeOperator() {
    const std::size_t start = pos_;
    while (pos_ < text_.size() &&
           (text_[pos_] == '<' || text_[pos_] == '>' || text_[pos_] == '=' || text_[pos_] == '!')) {
      ++pos_;
    }
    return text_.substr(start, pos_ - start);
  }
  // Everything up to the next space: the unit, which is whatever follows the number.
  std::string_view TakeUnit() {
    const std::size_t start = pos_;
    while (pos_ < text_.size() && !IsSpace(text_[pos_])) ++pos_;
    return text_.substr(start, pos_ - start);
  }

 private:
  std::string_view text_;
  std::size_t pos_ = 0;
};

bool IsNumberChar(char c) { return IsDigit(c) || c == '.'; }

// Digits with at most one decimal point between digits ("500", "0.1", "99.9"): no sign, no
// exponent, nothing else std::from_chars would take ("inf", "1e3", ".5").
std::optional<double> ParseNumber(std::string_view s) {
  if (s.empty() || !IsDigit(s.front()) || !IsDigit(s.back())) return std::nullopt;
  int dots = 0;
  int digits = 0;
  for (const char c : s) {
    if (c == '.') {
      ++dots;
    } else if (IsDigit(c)) {
      ++digits;
    } else {
      return std::nullopt;
    }
  }
  if (digits == 0 || dots > 1) return std::nullopt;
  double value = 0;
  const auto [end, ec] =
      std::from_chars(s.data(), s.data() + s.size(), value, std::chars_format::fixed);
  if (ec != std::errc() || end != s.data() + s.size() || !std::isfinite(value)) {
    return std::nullopt;
  }
  return value;
}

core::Unexpected<std::string> Fail(std::string_view objective, std::string_view why) {
  return core::Unexpected<std::string>{fmt::format("{}: {}", objective, why)};
}

struct MetricSpec {
  Metric metric;
  double percentile;
};

core::Result<MetricSpec, std::string> ParseMetric(std::string_view objective,
                                                  std::string_view word) {
  if (word.empty()) return Fail(objective, "expected a metric (pNN, mean, max, errors or rps)");
  if (word == "mean") return MetricSpec{Metric::kMean, 0};
  if (word == "max") return MetricSpec{Metric::kMax, 0};
  if (word == "errors") return MetricSpec{Metric::kErrorRate, 0};
  if (word == "rps") return MetricSpec{Metric::kRequestsPerSecond, 0};
  if (word.front() == 'p') {
    const std::optional<double> p = ParseNumber(word.substr(1));
    if (!p) {
      return Fail(objective, fmt::format("'{}' is not a percentile (p50, p99, p99.9, p100)", word));
    }
    if (*p <= 0 || *p > 100) {
      return Fail(objective, fmt::format("percentile '{}' is not in (0, 100]", word));
    }
    return MetricSpec{Metric::kPercentile, *p};
  }
  return Fail(objective,
              fmt::format("unknown metric '{}' (expected pNN, mean, max, errors or rps)", word));
}

// Microseconds per unit, 0 for an unknown unit.
double LatencyUnit(std::string_view unit) {
  if (unit == "us") return 1;
  if (unit == "ms") return 1e3;
  if (unit == "s") return 1e6;
  if (unit == "m") return 60e6;
  return 0;
}

ParseResult ParseObjective(std::string_view objective) {
  Scanner scan(objective);
  const std::string_view word = scan.TakeWhile(IsWordChar);
  const auto metric = ParseMetric(objective, word);
  if (!metric) return core::Unexpected<std::string>{metric.error()};

  Objective out;
  out.metric = metric->metric;
  out.percentile = metric->percentile;

  scan.SkipSpace();
  const std::string_view op = scan.TakeOperator();
  if (op == "<" || op == "<=") {
    out.at_least = false;
  } else if (op == ">" || op == ">=") {
    out.at_least = true;
  } else if (op.empty()) {
    return Fail(objective, fmt::format("expected an operator (<, <=, >, >=) after '{}'", word));
  } else {
    return Fail(objective, fmt::format("unknown operator '{}' (expected <, <=, > or >=)", op));
  }
  out.inclusive = op.size() == 2;
  const bool is_rps = out.metric == Metric::kRequestsPerSecond;
  if (is_rps && !out.at_least) {
    return Fail(objective, "a throughput objective needs > or >= (rps>=1000)");
  }
  if (!is_rps && out.at_least) {
    return Fail(objective, fmt::format("{} needs < or <= (an upper limit)", word));
  }

  scan.SkipSpace();
  const std::string_view number_text = scan.TakeWhile(IsNumberChar);
  const std::optional<double> number = ParseNumber(number_text);
  if (!number) {
    if (scan.AtEnd() && number_text.empty()) return Fail(objective, "the limit is missing");
    return Fail(objective, fmt::format("'{}' is not a number (digits, an optional decimal point)",
                                       fmt::format("{}{}", number_text, scan.Rest())));
  }
  scan.SkipSpace();
  const std::string_view unit = scan.TakeUnit();
  scan.SkipSpace();
  if (!scan.AtEnd()) {
    return Fail(objective, fmt::format("unexpected '{}' after the limit", scan.Rest()));
  }

  switch (out.metric) {
    case Metric::kPercentile:
    case Metric::kMean:
    case Metric::kMax: {
      if (unit.empty()) return Fail(objective, "a latency needs a unit (us, ms, s, m)");
      const double per_unit = LatencyUnit(unit);
      if (per_unit == 0) {
        return Fail(objective, fmt::format("unknown latency unit '{}' (us, ms, s, m)", unit));
      }
      out.limit = *number * per_unit;
      if (!std::isfinite(out.limit)) return Fail(objective, "the limit is too large");
      break;
    }
    case Metric::kErrorRate:
      if (unit == "%") {
        if (*number > 100) return Fail(objective, "an error rate is at most 100%");
        out.limit = *number / 100;
      } else if (unit.empty()) {
        if (*number > 1) {
          return Fail(objective, fmt::format("a plain error rate is a fraction from 0 to 1 "
                                             "(write {0}% for a percentage)",
                                             number_text));
        }
        out.limit = *number;
      } else {
        return Fail(
            objective,
            fmt::format("an error rate takes '%' or no unit, not '{}' (0.1% or 0.001)", unit));
      }
      break;
    case Metric::kRequestsPerSecond:
      if (!unit.empty() && unit != "/s") {
        return Fail(objective,
                    fmt::format("a throughput takes no unit or '/s', not '{}' (rps>=1000)", unit));
      }
      out.limit = *number;
      break;
  }
  out.text = fmt::format("{}{}{}{}", word, op, number_text, unit);
  return out;
}

std::string FormatRate(double fraction) { return fmt::format("{:.3f}%", fraction * 100); }

// "9,870/s" above 100 req/s, "12.5/s" below.
std::string FormatThroughput(double rps) {
  if (rps < 100) return fmt::format("{:.1f}/s", rps);
  const std::string digits = fmt::format("{:.0f}", rps);
  std::string grouped;
  for (std::size_t i = 0; i < digits.size(); ++i) {
    if (i != 0 && (digits.size() - i) % 3 == 0) grouped += ',';
    grouped += digits[i];
  }
  return grouped + "/s";
}

}  // namespace

core::Result<std::vector<Objective>, std::string> ParseSlo(std::string_view text) {
  if (Trim(text).empty()) {
    return core::Unexpected<std::string>{
        "empty objective list (expected e.g. p99<500ms,errors<0.1%)"};
  }
  std::vector<Objective> objectives;
  std::string_view rest = text;
  while (true) {
    const std::size_t comma = rest.find(',');
    const std::string_view piece = Trim(rest.substr(0, comma));
    if (piece.empty()) {
      return core::Unexpected<std::string>{
          fmt::format("{}: empty objective (two commas, or a comma at an end)", Trim(text))};
    }
    auto objective = ParseObjective(piece);
    if (!objective) return core::Unexpected<std::string>{std::move(objective).error()};
    objectives.push_back(std::move(objective).value());
    if (comma == std::string_view::npos) break;
    rest.remove_prefix(comma + 1);
  }
  return objectives;
}

std::vector<ObjectiveResult> Evaluate(const std::vector<Objective>& objectives,
                                      const RunResult& run) {
  std::vector<ObjectiveResult> results;
  results.reserve(objectives.size());
  const Counters& total = run.total;
  for (const Objective& objective : objectives) {
    ObjectiveResult r;
    r.objective = objective;
    // A run that sent nothing proves nothing: fail rather than pass on a vacuous 0.
    if (total.requests <= 0) {
      r.measured = 0;
      r.pass = false;
      r.measured_text = "no requests";
      results.push_back(std::move(r));
      continue;
    }
    // Requests that never got an answer (refused connections) have no latency. If none got
    // one, a latency objective has nothing to judge: fail it, or "p99<10ms" would pass on
    // the empty histogram's 0 when the server is down.
    const bool latency = objective.metric == Metric::kPercentile ||
                         objective.metric == Metric::kMean || objective.metric == Metric::kMax;
    if (latency && total.latency.Count() == 0) {
      r.measured = 0;
      r.pass = false;
      r.measured_text = "no responses";
      results.push_back(std::move(r));
      continue;
    }
    switch (objective.metric) {
      case Metric::kPercentile:
        r.measured = static_cast<double>(total.latency.ValueAtPercentile(objective.percentile));
        r.measured_text = FormatLatency(static_cast<std::int64_t>(r.measured));
        break;
      case Metric::kMean:
        r.measured = total.latency.Mean();
        r.measured_text = FormatLatency(std::llround(r.measured));
        break;
      case Metric::kMax:
        r.measured = static_cast<double>(total.latency.Max());
        r.measured_text = FormatLatency(static_cast<std::int64_t>(r.measured));
        break;
      case Metric::kErrorRate:
        r.measured = static_cast<double>(total.Errors()) / static_cast<double>(total.requests);
        r.measured_text = FormatRate(r.measured);
        break;
      case Metric::kRequestsPerSecond:
        r.measured = run.RequestsPerSecond();
        r.measured_text = FormatThroughput(r.measured);
        break;
    }
    if (objective.at_least) {
      r.pass = objective.inclusive ? r.measured >= objective.limit : r.measured > objective.limit;
    } else {
      r.pass = objective.inclusive ? r.measured <= objective.limit : r.measured < objective.limit;
    }
    results.push_back(std::move(r));
  }
  return results;
}

}  // namespace myriad::load

#include "loadgen/report.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <array>
#include <boost/json.hpp>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <iterator>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace myriad::load {
namespace {

struct NamedPercentile {
  double percentile;
  const char* name;
};
// The percentiles every table and the JSON show, in this order.
constexpr std::array<NamedPercentile, 5> kPercentiles{{
    {50, "p50"},
    {90, "p90"},
    {95, "p95"},
    {99, "p99"},
    {99.9, "p99.9"},
}};

// The row of latencies that end when this process read each response (RunResult).
constexpr const char* kAtRead = "all, at read";

constexpr std::array<ErrorKind, kErrorKinds> kErrorKindList{
    ErrorKind::kConnect, ErrorKind::kTimeout, ErrorKind::kReset, ErrorKind::kProtocol,
    ErrorKind::kStatus};

double Ms(std::int64_t us) { return static_cast<double>(us) / 1000.0; }

double PerSecond(std::int64_t n, double seconds) {
  return seconds > 0 ? static_cast<double>(n) / seconds : 0.0;
}

// "1,234,567".
std::string GroupThousands(std::int64_t n) {
  const std::string digits = fmt::format("{}", n < 0 ? -n : n);
  std::string out = n < 0 ? "-" : "";
  for (std::size_t i = 0; i < digits.size(); ++i) {
    if (i != 0 && (digits.size() - i) % 3 == 0) out += ',';
    out += digits[i];
  }
  return out;
}

std::string FormatRps(double rps) {
  if (rps >= 1000) return GroupThousands(std::llround(rps));
  return fmt::format("{:.1f}", rps);
}

std::string FormatBytes(std::int64_t bytes) {
  constexpr std::array<const char*, 5> kUnits{"B", "KiB", "MiB", "GiB", "TiB"};
  auto value = static_cast<double>(bytes);
  std::size_t unit = 0;
  while (value >= 1024 && unit + 1 < kUnits.size()) {
    value /= 1024;
    ++unit;
  }
  if (unit == 0) return fmt::format("{} B", bytes);
  return fmt::format("{:.1f} {}", value, kUnits[unit]);
}

std::string FormatSeconds(double s) { return fmt::format("{:.1f}s", s); }

std::string ModeDescription(const RunResult& run) {
  std::string out;
  if (run.mode == "open") {
    out = fmt::format("open loop at {}", run.rate.empty() ? "?" : run.rate);
  } else if (run.mode == "users") {
    out = fmt::format("{} users (spawn {:g}/s)", run.users, run.spawn_rate);
  } else if (run.mode == "closed") {
    out = "closed loop";
  } else {
    out = run.mode;
  }
  return fmt::format("{}, {} threads, {} connections{}", out, run.threads, run.connections,
                     run.mode == "users" ? " at peak" : "");
}

// ---------------------------------------------------------------------------------------
// Text table.

// A task that ran nothing in the measured time (a scenario's on_start login, done while the
// users were spawned in the warm-up) has no latencies: "-", not a "0us" that reads as fast.
std::string Cell(const Histogram& h, std::int64_t us) {
  return h.Count() == 0 ? std::string("-") : FormatLatency(us);
}

std::string LatencyRow(std::string_view name, std::size_t name_width, std::int64_t requests,
                       const Histogram& h) {
  std::string row = fmt::format("{:<{}} {:>10}", name, name_width, GroupThousands(requests));
  for (const NamedPercentile& p : kPercentiles) {
    row += fmt::format(" {:>8}", Cell(h, h.ValueAtPercentile(p.percentile)));
  }
  row += fmt::format(" {:>8} {:>8}\n", Cell(h, h.Max()), Cell(h, std::llround(h.Mean())));
  return row;
}

// The "at read" row: only when the latencies end at arrival (else it repeats "all").
bool ShowsAtRead(const RunResult& run) {
  return run.latency_end == "arrival" && run.latency_at_read.Count() > 0;
}

std::string TruncateName(std::string_view name, std::size_t width) {
  if (name.size() <= width) return std::string(name);
  return std::string(name.substr(0, width - 3)) + "...";
}

}  // namespace

std::string FormatLatency(std::int64_t us) {
  if (us < 1000) return fmt::format("{}us", us);
  // Three significant digits: round first, so 9995us reads "10.0ms" and not "10.00ms".
  std::int64_t scale = 1;
  for (std::int64_t v = us; v >= 1000; v /= 10) scale *= 10;
  const std::int64_t rounded = (us + scale / 2) / scale * scale;
  if (rounded < 10'000) return fmt::format("{:.2f}ms", static_cast<double>(rounded) / 1e3);
  if (rounded < 100'000) return fmt::format("{:.1f}ms", static_cast<double>(rounded) / 1e3);
  if (rounded < 1'000'000) return fmt::format("{:.0f}ms", static_cast<double>(rounded) / 1e3);
  if (rounded < 10'000'000) return fmt::format("{:.2f}s", static_cast<double>(rounded) / 1e6);
  if (rounded < 60'000'000) return fmt::format("{:.1f}s", static_cast<double>(rounded) / 1e6);
  const std::int64_t seconds = (us + 500'000) / 1'000'000;
  if (seconds < 3600) return fmt::format("{}m{:02}s", seconds / 60, seconds % 60);
  const std::int64_t minutes = (us + 30'000'000) / 60'000'000;
  return fmt::format("{}h{:02}m", minutes / 60, minutes % 60);
}

std::string FormatTable(const RunResult& run, const std::vector<ObjectiveResult>& slo) {
  std::string out;
  auto put = std::back_inserter(out);
  const Counters& total = run.total;
  fmt::format_to(put, "Target      {}\n", run.target);
  fmt::format_to(put, "Mode        {}\n", ModeDescription(run));
  fmt::format_to(put, "Duration    {} measured", FormatSeconds(run.duration_s));
  if (run.warmup_s > 0) fmt::format_to(put, " (+{} warm-up)", FormatSeconds(run.warmup_s));
  if (!run.interrupted_by.empty()) {
    fmt::format_to(put, ", cut short by {}: the figures cover the time until then",
                   run.interrupted_by);
  }
  fmt::format_to(put, "\nRequests    {} ({} ok, {} errors)\n", GroupThousands(total.requests),
                 GroupThousands(total.ok), GroupThousands(total.Errors()));
  fmt::format_to(put, "Throughput  {} req/s\n", FormatRps(run.RequestsPerSecond()));
  fmt::format_to(put, "Received    {}\n\n", FormatBytes(total.bytes_received));

  constexpr std::size_t kMaxNameWidth = 32;
  std::size_t name_width = std::string_view(kAtRead).size();
  for (const auto& task : run.tasks) {
    name_width = std::max(name_width, std::min(task.first.size(), kMaxNameWidth));
  }
  fmt::format_to(put, "{:<{}} {:>10}", "Latency", name_width, "requests");
  for (const NamedPercentile& p : kPercentiles) fmt::format_to(put, " {:>8}", p.name);
  fmt::format_to(put, " {:>8} {:>8}\n", "max", "mean");
  out += LatencyRow("all", name_width, total.requests, total.latency);
  if (run.tasks.size() > 1 ||
      (run.tasks.size() == 1 && run.tasks[0].second.requests != total.requests)) {
    for (const auto& [name, counters] : run.tasks) {
      out += LatencyRow(TruncateName(name, name_width), name_width, counters.requests,
                        counters.latency);
    }
  }
  if (ShowsAtRead(run)) {
    out += LatencyRow(kAtRead, name_width, total.requests, run.latency_at_read);
    out += fmt::format(
        "({}: ending when this process read each response, as wrk's latencies "
        "do, not when it arrived)\n",
        kAtRead);
  }

  if (total.Errors() > 0 || run.unsent > 0) {
    out += "\nErrors\n";
    for (const ErrorKind kind : kErrorKindList) {
      const std::int64_t n = total.errors[static_cast<std::size_t>(kind)];
      if (n > 0) fmt::format_to(put, "  {:<12} {:>10}\n", ErrorKindName(kind), GroupThousands(n));
    }
    for (const auto& [status, n] : total.statuses) {
      fmt::format_to(put, "    status {:<5} {:>8}\n", status, GroupThousands(n));
    }
    if (run.unsent > 0) {
      fmt::format_to(put, "  {:<12} {:>10}  (never sent, counted as timeouts)\n", "unsent",
                     GroupThousands(run.unsent));
    }
  } else {
    out += "\nErrors      none\n";
  }

  if (!slo.empty()) {
    std::size_t width = 9;
    for (const ObjectiveResult& r : slo) width = std::max(width, r.objective.text.size());
    fmt::format_to(put, "\n{:<{}}  {:>12}  {}\n", "SLO", width, "measured", "result");
    bool all = true;
    for (const ObjectiveResult& r : slo) {
      all = all && r.pass;
      fmt::format_to(put, "{:<{}}  {:>12}  {}\n", r.objective.text, width, r.measured_text,
                     r.pass ? "PASS" : "FAIL");
    }
    fmt::format_to(put, "SLO {}", all ? "PASS" : "FAIL");
    if (!run.interrupted_by.empty()) {
      fmt::format_to(put, " over the {} that ran (cut short, so not the exit status)",
                     FormatSeconds(run.duration_s));
    }
    out += '\n';
  }
  return out;
}

// ---------------------------------------------------------------------------------------
// JSON.

namespace {

boost::json::object LatencyJson(const Histogram& h) {
  boost::json::object o;
  o["min"] = Ms(h.Min());
  o["mean"] = h.Mean() / 1000.0;
  for (const NamedPercentile& p : kPercentiles) o[p.name] = Ms(h.ValueAtPercentile(p.percentile));
  o["max"] = Ms(h.Max());
  return o;
}

boost::json::object ErrorsJson(const Counters& c) {
  boost::json::object o;
  o["total"] = c.Errors();
  for (const ErrorKind kind : kErrorKindList) {
    o[ErrorKindName(kind)] = c.errors[static_cast<std::size_t>(kind)];
  }
  boost::json::object by_status;
  for (const auto& [status, n] : c.statuses) by_status[std::to_string(status)] = n;
  o["by_status"] = std::move(by_status);
  return o;
}

// The measured value in the unit the JSON uses everywhere: milliseconds for latencies.
double MeasuredForJson(const ObjectiveResult& r) {
  switch (r.objective.metric) {
    case Objective::Metric::kPercentile:
    case Objective::Metric::kMean:
    case Objective::Metric::kMax:
      return r.measured / 1000.0;
    case Objective::Metric::kErrorRate:
    case Objective::Metric::kRequestsPerSecond:
      break;
  }
  return r.measured;
}

}  // namespace

std::string FormatJson(const RunResult& run, const std::vector<ObjectiveResult>& slo) {
  boost::json::object doc;
  doc["mode"] = run.mode;
  doc["target"] = run.target;
  doc["command_line"] = run.command_line;
  doc["started_at"] = run.started_at;
  doc["threads"] = run.threads;
  doc["connections"] = run.connections;
  doc["users"] = run.users;
  doc["spawn_rate"] = run.spawn_rate;
  doc["rate"] = run.rate;
  doc["warmup_s"] = run.warmup_s;
  doc["duration_s"] = run.duration_s;
  doc["requests"] = run.total.requests;
  doc["ok"] = run.total.ok;
  doc["requests_per_second"] = run.RequestsPerSecond();
  doc["bytes_received"] = run.total.bytes_received;
  doc["latency_end"] = run.latency_end;
  doc["latency_ms"] = LatencyJson(run.total.latency);
  doc["latency_at_read_ms"] = LatencyJson(run.latency_at_read);
  doc["errors"] = ErrorsJson(run.total);
  doc["unsent"] = run.unsent;
  if (run.interrupted_by.empty()) {
    doc["interrupted_by"] = nullptr;
  } else {
    doc["interrupted_by"] = run.interrupted_by;
  }

  boost::json::array tasks;
  for (const auto& [name, c] : run.tasks) {
    boost::json::object t;
    t["name"] = name;
    t["requests"] = c.requests;
    t["ok"] = c.ok;
    t["requests_per_second"] = PerSecond(c.requests, run.duration_s);
    t["bytes_received"] = c.bytes_received;
    t["latency_ms"] = LatencyJson(c.latency);
    t["errors"] = ErrorsJson(c);
    tasks.push_back(std::move(t));
  }
  doc["tasks"] = std::move(tasks);

  boost::json::array timeline;
  for (const IntervalSample& s : run.timeline) {
    boost::json::object i;
    i["t"] = s.start_s;
    i["length_s"] = s.length_s;
    i["warmup"] = s.warmup;
    i["requests"] = s.requests;
    i["errors"] = s.errors;
    i["rps"] = PerSecond(s.requests, s.length_s);
    i["p50_ms"] = Ms(s.p50_us);
    i["p90_ms"] = Ms(s.p90_us);
    i["p99_ms"] = Ms(s.p99_us);
    i["max_ms"] = Ms(s.max_us);
    i["users"] = s.users;
    i["connections"] = s.connections;
    timeline.push_back(std::move(i));
  }
  doc["timeline"] = std::move(timeline);

  boost::json::array objectives;
  bool all = true;
  for (const ObjectiveResult& r : slo) {
    all = all && r.pass;
    boost::json::object o;
    o["objective"] = r.objective.text;
    o["measured"] = MeasuredForJson(r);
    o["measured_text"] = r.measured_text;
    o["pass"] = r.pass;
    objectives.push_back(std::move(o));
  }
  doc["slo"] = std::move(objectives);
  if (slo.empty()) {
    doc["slo_pass"] = nullptr;
  } else {
    doc["slo_pass"] = all;
  }
  return boost::json::serialize(doc);
}

// ---------------------------------------------------------------------------------------
// HTML: one page, inline CSS, charts as inline SVG drawn here.

namespace {

std::string Escape(std::string_view s) {
  std::string out;
  out.reserve(s.size());
  for (const char c : s) {
    switch (c) {
      case '&':
        out += "&amp;";
        break;
      case '<':
        out += "&lt;";
        break;
      case '>':
        out += "&gt;";
        break;
      case '"':
        out += "&quot;";
        break;
      case '\'':
        out += "&#39;";
        break;
      default:
        out += c;
    }
  }
  return out;
}

struct Tick {
  double value;
  std::string label;
};

struct Line {
  std::string name;
  std::string color;
  // Points with y <= 0 on a log axis (an interval without requests) break the line.
  std::vector<std::pair<double, double>> points;
  bool dashed = false;
};

struct Bar {
  double x0;
  double x1;
  double y;
};

struct Chart {
  std::string title;  // also the SVG's accessible name
  std::string y_title;
  double x_lo = 0;
  double x_hi = 1;
  bool x_log = false;
  std::vector<Tick> x_ticks;
  double y_lo = 0;
  double y_hi = 1;
  bool y_log = false;
  std::vector<Tick> y_ticks;
  std::vector<std::pair<double, double>> shaded;  // x ranges: the warm-up
  std::vector<Bar> bars;
  std::string bar_name;
  std::string bar_color = "#4a7bd0";
  std::vector<Line> lines;
};

constexpr double kWidth = 900;
constexpr double kHeight = 280;
constexpr double kLeft = 72;
// Room for half of the widest x label centred on the right edge ("99.9999%", about 60 px).
constexpr double kRight = 40;
constexpr double kTop = 30;
constexpr double kBottom = 40;

class Frame {
 public:
  explicit Frame(const Chart& c) : c_(c) {}

  double X(double v) const {
    return kLeft + Fraction(v, c_.x_lo, c_.x_hi, c_.x_log) * (kWidth - kLeft - kRight);
  }
  double Y(double v) const {
    return kHeight - kBottom - Fraction(v, c_.y_lo, c_.y_hi, c_.y_log) * (kHeight - kTop - kBottom);
  }

 private:
  static double Fraction(double v, double lo, double hi, bool log) {
    double f = 0;
    if (log) {
      f = (std::log10(std::max(v, lo)) - std::log10(lo)) / (std::log10(hi) - std::log10(lo));
    } else {
      f = (v - lo) / (hi - lo);
    }
    return std::clamp(f, 0.0, 1.0);
  }

  const Chart& c_;
};

// 1, 2 or 5 times a power of ten, at least `x`.
double NiceStep(double x) {
  if (!(x > 0)) return 1;
  const double magnitude = std::pow(10.0, std::floor(std::log10(x)));
  const double f = x / magnitude;
  if (f <= 1) return magnitude;
  if (f <= 2) return 2 * magnitude;
  if (f <= 5) return 5 * magnitude;
  return 10 * magnitude;
}

std::string Compact(double v) {
  if (v >= 1e6) return fmt::format("{:g}M", v / 1e6);
  if (v >= 1e3) return fmt::format("{:g}k", v / 1e3);
  return fmt::format("{:g}", v);
}

// Ticks from 0 to a nice value at least `max`; sets the chart's y range.
void LinearY(Chart& c, double max) {
  const double step = NiceStep(std::max(max, 1.0) / 5);
  c.y_lo = 0;
  c.y_hi = std::max(step, std::ceil(std::max(max, 1.0) / step) * step);
  for (int i = 0; i * step <= c.y_hi + step / 2; ++i) {
    c.y_ticks.push_back({i * step, Compact(i * step)});
  }
}

// A round latency for an axis: "1ms", "200us", "5s" (FormatLatency would say "1.00ms").
std::string TickLatency(double us) {
  if (us < 1e3) return fmt::format("{:g}us", us);
  if (us < 1e6) return fmt::format("{:g}ms", us / 1e3);
  if (us < 60e6) return fmt::format("{:g}s", us / 1e6);
  return fmt::format("{:g}m", us / 60e6);
}

// Decades covering [lo, hi] microseconds, with 2x and 5x ticks when there are few decades.
std::vector<Tick> LatencyTicks(double& lo, double& hi) {
  lo = std::pow(10.0, std::floor(std::log10(std::max(lo, 1.0))));
  hi = std::pow(10.0, std::ceil(std::log10(std::max(hi, 1.0))));
  if (hi <= lo) hi = lo * 10;
  const bool few = hi / lo <= 100;
  std::vector<Tick> ticks;
  for (double d = lo; d <= hi * 1.001; d *= 10) {
    ticks.push_back({d, TickLatency(d)});
    if (few && d < hi) {
      ticks.push_back({2 * d, TickLatency(2 * d)});
      ticks.push_back({5 * d, TickLatency(5 * d)});
    }
  }
  return ticks;
}

void TimeX(Chart& c, double end_s) {
  c.x_lo = 0;
  c.x_hi = std::max(end_s, 1.0);
  const double step = NiceStep(c.x_hi / 10);
  for (int i = 0; i * step <= c.x_hi + step / 1000; ++i) {
    const double t = i * step;
    const bool minutes = step >= 60 && std::fmod(t, 60) == 0;
    c.x_ticks.push_back({t, minutes ? fmt::format("{:g}m", t / 60) : fmt::format("{:g}s", t)});
  }
}

std::string RenderChart(const Chart& c) {
  const Frame f(c);
  std::string out;
  auto put = std::back_inserter(out);
  fmt::format_to(put,
                 "<svg class=\"chart\" viewBox=\"0 0 {0} {1}\" width=\"{0}\" height=\"{1}\" "
                 "role=\"img\" aria-label=\"{2}\">\n<title>{2}</title>\n",
                 kWidth, kHeight, Escape(c.title));
  const double plot_top = f.Y(c.y_hi);
  const double plot_bottom = f.Y(c.y_lo);
  for (const auto& [x0, x1] : c.shaded) {
    fmt::format_to(put,
                   "<rect class=\"warmup\" x=\"{:.1f}\" y=\"{:.1f}\" width=\"{:.1f}\" "
                   "height=\"{:.1f}\"/>\n",
                   f.X(x0), plot_top, std::max(0.0, f.X(x1) - f.X(x0)), plot_bottom - plot_top);
  }
  for (const Tick& t : c.y_ticks) {
    const double y = f.Y(t.value);
    fmt::format_to(put,
                   "<line class=\"grid\" x1=\"{:.1f}\" x2=\"{:.1f}\" y1=\"{:.1f}\" y2=\"{:.1f}\"/>"
                   "<text class=\"ytick\" x=\"{:.1f}\" y=\"{:.1f}\">{}</text>\n",
                   kLeft, kWidth - kRight, y, y, kLeft - 6, y + 4, Escape(t.label));
  }
  for (const Tick& t : c.x_ticks) {
    const double x = f.X(t.value);
    fmt::format_to(put,
                   "<line class=\"axis\" x1=\"{0:.1f}\" x2=\"{0:.1f}\" y1=\"{1:.1f}\" "
                   "y2=\"{2:.1f}\"/><text class=\"xtick\" x=\"{0:.1f}\" y=\"{3:.1f}\">{4}</text>\n",
                   x, plot_bottom, plot_bottom + 5, plot_bottom + 18, Escape(t.label));
  }
  fmt::format_to(put,
                 "<line class=\"axis\" x1=\"{0}\" x2=\"{0}\" y1=\"{1:.1f}\" y2=\"{2:.1f}\"/>"
                 "<line class=\"axis\" x1=\"{0}\" x2=\"{3}\" y1=\"{2:.1f}\" y2=\"{2:.1f}\"/>\n",
                 kLeft, plot_top, plot_bottom, kWidth - kRight);
  fmt::format_to(
      put, "<text class=\"ytitle\" transform=\"translate(14 {:.1f}) rotate(-90)\">{}</text>\n",
      (plot_top + plot_bottom) / 2, Escape(c.y_title));

  for (const Bar& b : c.bars) {
    const double x0 = f.X(b.x0);
    const double y = f.Y(b.y);
    fmt::format_to(put,
                   "<rect x=\"{:.1f}\" y=\"{:.1f}\" width=\"{:.1f}\" height=\"{:.1f}\" "
                   "fill=\"{}\"/>\n",
                   x0, y, std::max(0.5, f.X(b.x1) - x0 - 0.5), plot_bottom - y, c.bar_color);
  }
  for (const Line& line : c.lines) {
    std::vector<std::string> segments(1);
    for (const auto& [x, y] : line.points) {
      if (c.y_log && y <= 0) {
        if (!segments.back().empty()) segments.emplace_back();
        continue;
      }
      fmt::format_to(std::back_inserter(segments.back()), "{:.1f},{:.1f} ", f.X(x), f.Y(y));
    }
    for (const std::string& points : segments) {
      if (points.empty()) continue;
      fmt::format_to(put,
                     "<polyline fill=\"none\" stroke=\"{}\" stroke-width=\"1.6\"{} "
                     "points=\"{}\"/>\n",
                     line.color, line.dashed ? " stroke-dasharray=\"5 4\"" : "", points);
    }
  }

  // Legend across the top.
  double x = kLeft;
  const auto legend = [&](std::string_view name, std::string_view swatch) {
    fmt::format_to(put, "<g class=\"legend\">{}<text x=\"{:.1f}\" y=\"16\">{}</text></g>\n", swatch,
                   x + 18, Escape(name));
    x += 30 + 7.0 * static_cast<double>(name.size());
  };
  if (!c.shaded.empty()) {
    legend("warm-up", fmt::format("<rect class=\"warmup\" x=\"{:.1f}\" y=\"7\" width=\"14\" "
                                  "height=\"11\"/>",
                                  x));
  }
  if (!c.bar_name.empty()) {
    legend(c.bar_name, fmt::format("<rect x=\"{:.1f}\" y=\"7\" width=\"14\" height=\"11\" "
                                   "fill=\"{}\"/>",
                                   x, c.bar_color));
  }
  for (const Line& line : c.lines) {
    legend(line.name,
           fmt::format("<line x1=\"{0:.1f}\" x2=\"{1:.1f}\" y1=\"12\" y2=\"12\" "
                       "stroke=\"{2}\" stroke-width=\"3\"{3}/>",
                       x, x + 14, line.color, line.dashed ? " stroke-dasharray=\"4 2\"" : ""));
  }
  out += "</svg>\n";
  return out;
}

double TimelineEnd(const RunResult& run) {
  double end = 0;
  for (const IntervalSample& s : run.timeline) end = std::max(end, s.start_s + s.length_s);
  return end;
}

std::vector<std::pair<double, double>> WarmupRanges(const RunResult& run) {
  std::vector<std::pair<double, double>> ranges;
  for (const IntervalSample& s : run.timeline) {
    if (!s.warmup) continue;
    if (!ranges.empty() && std::abs(ranges.back().second - s.start_s) < 1e-9) {
      ranges.back().second = s.start_s + s.length_s;
    } else {
      ranges.emplace_back(s.start_s, s.start_s + s.length_s);
    }
  }
  return ranges;
}

double Mid(const IntervalSample& s) { return s.start_s + s.length_s / 2; }

// A chart over the run's timeline: time on x, the warm-up shaded.
Chart TimelineChart(const RunResult& run, std::string title, std::string y_title) {
  Chart c;
  c.title = std::move(title);
  c.y_title = std::move(y_title);
  TimeX(c, TimelineEnd(run));
  c.shaded = WarmupRanges(run);
  return c;
}

std::string ThroughputChart(const RunResult& run) {
  Chart c = TimelineChart(run, "Throughput per interval", "requests/s");
  Line rps{"req/s", "#2b6cb0", {}, false};
  double max = 0;
  for (const IntervalSample& s : run.timeline) {
    const double v = PerSecond(s.requests, s.length_s);
    rps.points.emplace_back(Mid(s), v);
    max = std::max(max, v);
  }
  const double mean = run.RequestsPerSecond();
  LinearY(c, std::max(max, mean));
  c.lines.push_back(std::move(rps));
  if (mean > 0) {
    c.lines.push_back({fmt::format("measured mean {}/s", FormatRps(mean)),
                       "#718096",
                       {{c.x_lo, mean}, {c.x_hi, mean}},
                       true});
  }
  return RenderChart(c);
}

std::string LatencyChart(const RunResult& run) {
  Chart c = TimelineChart(run, "Latency per interval", "latency (log scale)");
  c.y_log = true;
  Line p50{"p50", "#2f855a", {}, false};
  Line p90{"p90", "#3182ce", {}, false};
  Line p99{"p99", "#dd6b20", {}, false};
  Line max{"max", "#c53030", {}, true};
  double lo = 0;
  double hi = 0;
  for (const IntervalSample& s : run.timeline) {
    // No request finished in this interval: no latency to draw (the line breaks).
    const bool empty = s.requests == 0;
    p50.points.emplace_back(Mid(s), empty ? 0 : static_cast<double>(s.p50_us));
    p90.points.emplace_back(Mid(s), empty ? 0 : static_cast<double>(s.p90_us));
    p99.points.emplace_back(Mid(s), empty ? 0 : static_cast<double>(s.p99_us));
    max.points.emplace_back(Mid(s), empty ? 0 : static_cast<double>(s.max_us));
    if (!empty && s.p50_us > 0)
      lo = lo == 0 ? static_cast<double>(s.p50_us) : std::min(lo, static_cast<double>(s.p50_us));
    if (!empty) hi = std::max(hi, static_cast<double>(s.max_us));
  }
  if (lo == 0) lo = 1;
  if (hi < lo) hi = lo;
  c.y_lo = lo;
  c.y_hi = hi;
  c.y_ticks = LatencyTicks(c.y_lo, c.y_hi);
  c.lines = {std::move(p50), std::move(p90), std::move(p99), std::move(max)};
  return RenderChart(c);
}

std::string ErrorsChart(const RunResult& run) {
  Chart c = TimelineChart(run, "Errors per interval", "errors");
  c.bar_name = "errors";
  c.bar_color = "#c53030";
  double max = 0;
  for (const IntervalSample& s : run.timeline) {
    if (s.errors > 0)
      c.bars.push_back({s.start_s, s.start_s + s.length_s, static_cast<double>(s.errors)});
    max = std::max(max, static_cast<double>(s.errors));
  }
  LinearY(c, max);
  return RenderChart(c);
}

// "0%", "90%", "99%", "99.9%", ... for x = 0, 1, 2, 3: the percentile 100 * (1 - 10^-x).
std::string SpectrumLabel(int x) {
  if (x == 0) return "0%";
  return fmt::format("{:.{}f}%", 100.0 * (1.0 - std::pow(10.0, -x)), std::max(0, x - 2));
}

std::string SpectrumChart(const Histogram& h) {
  Chart c;
  c.title = "Latency by percentile";
  c.y_title = "latency (log scale)";
  c.y_log = true;
  // Out to the percentile where one request in `count` lies beyond: further is all Max().
  const int x_max = std::clamp(static_cast<int>(std::ceil(std::log10(
                                   static_cast<double>(std::max<std::int64_t>(h.Count(), 1))))),
                               2, 6);
  c.x_lo = 0;
  c.x_hi = x_max;
  for (int x = 0; x <= x_max; ++x) c.x_ticks.push_back({static_cast<double>(x), SpectrumLabel(x)});
  Line spectrum{"latency at percentile", "#2b6cb0", {}, false};
  constexpr int kStepsPerDecade = 40;
  for (int i = 0; i <= x_max * kStepsPerDecade; ++i) {
    const double x = static_cast<double>(i) / kStepsPerDecade;
    const double p = i == x_max * kStepsPerDecade ? 100.0 : 100.0 * (1.0 - std::pow(10.0, -x));
    spectrum.points.emplace_back(x, static_cast<double>(h.ValueAtPercentile(p)));
  }
  c.y_lo = static_cast<double>(std::max<std::int64_t>(h.Min(), 1));
  c.y_hi = static_cast<double>(std::max<std::int64_t>(h.Max(), 1));
  c.y_ticks = LatencyTicks(c.y_lo, c.y_hi);
  c.lines.push_back(std::move(spectrum));
  return RenderChart(c);
}

// Requests per latency, in log-spaced bins between the smallest and largest value.
std::string DistributionChart(const Histogram& h) {
  Chart c;
  c.title = "Latency distribution";
  c.y_title = "requests";
  c.x_log = true;
  c.bar_name = "requests per latency bin";
  double lo = static_cast<double>(std::max<std::int64_t>(h.Min(), 1));
  double hi = static_cast<double>(std::max<std::int64_t>(h.Max(), 1));
  c.x_ticks = LatencyTicks(lo, hi);
  c.x_lo = lo;
  c.x_hi = hi;
  constexpr int kBins = 60;
  const double log_lo = std::log10(lo);
  const double width = (std::log10(hi) - log_lo) / kBins;
  std::vector<double> counts(kBins, 0);
  for (const Histogram::Bucket& b : h.Buckets()) {
    const double mid = (static_cast<double>(b.low) + static_cast<double>(b.high)) / 2;
    const int bin = std::clamp(static_cast<int>((std::log10(mid) - log_lo) / width), 0, kBins - 1);
    counts[static_cast<std::size_t>(bin)] += static_cast<double>(b.count);
  }
  double max = 0;
  for (int i = 0; i < kBins; ++i) {
    const double n = counts[static_cast<std::size_t>(i)];
    max = std::max(max, n);
    if (n > 0) {
      c.bars.push_back(
          {std::pow(10.0, log_lo + i * width), std::pow(10.0, log_lo + (i + 1) * width), n});
    }
  }
  LinearY(c, max);
  return RenderChart(c);
}

constexpr std::string_view kStyle = R"(
body { font-family: system-ui, -apple-system, "Segoe UI", sans-serif; margin: 24px auto;
       max-width: 940px; color: #1a202c; }
h1 { font-size: 22px; margin-bottom: 4px; }
h2 { font-size: 17px; margin-top: 28px; border-bottom: 1px solid #e2e8f0; }
.meta { color: #4a5568; font-size: 13px; }
code { font-size: 12px; background: #f7fafc; padding: 1px 4px; word-break: break-all; }
table { border-collapse: collapse; font-size: 13px; margin: 8px 0; }
th, td { padding: 3px 10px; border-bottom: 1px solid #edf2f7; text-align: right; }
th:first-child, td:first-child { text-align: left; }
th { background: #f7fafc; }
.pass { color: #fff; background: #2f855a; font-weight: bold; }
.fail { color: #fff; background: #c53030; font-weight: bold; }
.verdict { font-size: 16px; padding: 4px 10px; display: inline-block; }
svg.chart { display: block; margin: 4px 0 12px; font-size: 11px; }
svg .grid { stroke: #edf2f7; }
svg .axis { stroke: #a0aec0; }
svg .warmup { fill: #fefcbf; opacity: 0.8; }
svg .ytick { text-anchor: end; fill: #4a5568; }
svg .xtick { text-anchor: middle; fill: #4a5568; }
svg .ytitle { text-anchor: middle; fill: #4a5568; }
svg .legend text { fill: #2d3748; }
)";

void SummaryTable(std::string& out, const RunResult& run) {
  auto put = std::back_inserter(out);
  const Counters& t = run.total;
  out += "<h2>Summary</h2>\n<table>\n";
  const auto row = [&](std::string_view key, const std::string& value) {
    fmt::format_to(put, "<tr><td>{}</td><td>{}</td></tr>\n", key, Escape(value));
  };
  row("Mode", ModeDescription(run));
  row("Measured", FormatSeconds(run.duration_s));
  if (!run.interrupted_by.empty()) {
    row("Interrupted", "by " + run.interrupted_by + ", before the planned end");
  }
  row("Warm-up", FormatSeconds(run.warmup_s));
  row("Requests", GroupThousands(t.requests));
  row("OK", GroupThousands(t.ok));
  row("Errors", GroupThousands(t.Errors()));
  row("Throughput", FormatRps(run.RequestsPerSecond()) + " req/s");
  row("Received", FormatBytes(t.bytes_received));
  if (run.unsent > 0) row("Unsent (open loop)", GroupThousands(run.unsent));
  if (t.latency.Clamped() > 0) {
    row("Latencies above 1h (clamped)", GroupThousands(t.latency.Clamped()));
  }
  out += "</table>\n";
}

void LatencyTable(std::string& out, const RunResult& run) {
  auto put = std::back_inserter(out);
  out +=
      "<h2>Latency</h2>\n<table>\n<tr><th>Task</th><th>requests</th><th>ok</th>"
      "<th>errors</th><th>req/s</th><th>min</th>";
  for (const NamedPercentile& p : kPercentiles) fmt::format_to(put, "<th>{}</th>", p.name);
  out += "<th>max</th><th>mean</th></tr>\n";
  const auto row = [&](std::string_view name, const Counters& c, const Histogram& h, bool total) {
    fmt::format_to(put,
                   "<tr><td>{}{}{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td>",
                   total ? "<b>" : "", Escape(name), total ? "</b>" : "",
                   GroupThousands(c.requests), GroupThousands(c.ok), GroupThousands(c.Errors()),
                   FormatRps(PerSecond(c.requests, run.duration_s)), Cell(h, h.Min()));
    for (const NamedPercentile& p : kPercentiles) {
      fmt::format_to(put, "<td>{}</td>", Cell(h, h.ValueAtPercentile(p.percentile)));
    }
    fmt::format_to(put, "<td>{}</td><td>{}</td></tr>\n", Cell(h, h.Max()),
                   Cell(h, std::llround(h.Mean())));
  };
  row("all", run.total, run.total.latency, true);
  for (const auto& [name, c] : run.tasks) row(name, c, c.latency, false);
  if (ShowsAtRead(run)) row(kAtRead, run.total, run.latency_at_read, false);
  out += "</table>\n";
  if (ShowsAtRead(run)) {
    fmt::format_to(put,
                   "<p class=\"meta\">Latencies end when a response arrived at this host "
                   "(the kernel's receive timestamp); &ldquo;{}&rdquo; ends them when the "
                   "load generator read it, as wrk does: the difference is the load "
                   "generator's own wait.</p>\n",
                   kAtRead);
  }
}

void ErrorsTable(std::string& out, const RunResult& run) {
  auto put = std::back_inserter(out);
  out += "<h2>Errors</h2>\n";
  if (run.total.Errors() == 0 && run.unsent == 0) {
    out += "<p>None.</p>\n";
    return;
  }
  out += "<table>\n<tr><th>Task</th>";
  for (const ErrorKind kind : kErrorKindList)
    fmt::format_to(put, "<th>{}</th>", ErrorKindName(kind));
  out += "<th>by status</th></tr>\n";
  const auto row = [&](std::string_view name, const Counters& c) {
    fmt::format_to(put, "<tr><td>{}</td>", Escape(name));
    for (const ErrorKind kind : kErrorKindList) {
      fmt::format_to(put, "<td>{}</td>", GroupThousands(c.errors[static_cast<std::size_t>(kind)]));
    }
    std::string statuses;
    for (const auto& [status, n] : c.statuses) {
      fmt::format_to(std::back_inserter(statuses), "{}{}: {}", statuses.empty() ? "" : ", ", status,
                     GroupThousands(n));
    }
    fmt::format_to(put, "<td>{}</td></tr>\n", statuses.empty() ? "-" : statuses);
  };
  row("all", run.total);
  for (const auto& [name, c] : run.tasks) row(name, c);
  out += "</table>\n";
  if (run.unsent > 0) {
    fmt::format_to(put,
                   "<p>{} arrivals were never sent (still waiting for a connection at the end); "
                   "they count as timeouts.</p>\n",
                   GroupThousands(run.unsent));
  }
}

void SloTable(std::string& out, const std::vector<ObjectiveResult>& slo) {
  if (slo.empty()) return;
  auto put = std::back_inserter(out);
  bool all = true;
  for (const ObjectiveResult& r : slo) all = all && r.pass;
  fmt::format_to(put, "<h2>SLO <span class=\"verdict {}\">{}</span></h2>\n<table>\n",
                 all ? "pass" : "fail", all ? "PASS" : "FAIL");
  out += "<tr><th>Objective</th><th>measured</th><th>result</th></tr>\n";
  for (const ObjectiveResult& r : slo) {
    fmt::format_to(put, "<tr><td>{}</td><td>{}</td><td class=\"{}\">{}</td></tr>\n",
                   Escape(r.objective.text), Escape(r.measured_text), r.pass ? "pass" : "fail",
                   r.pass ? "PASS" : "FAIL");
  }
  out += "</table>\n";
}

}  // namespace

std::string FormatHtml(const RunResult& run, const std::vector<ObjectiveResult>& slo) {
  std::string out;
  auto put = std::back_inserter(out);
  fmt::format_to(put,
                 "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n"
                 "<title>myriad-load: {}</title>\n<style>{}</style>\n</head>\n<body>\n",
                 Escape(run.target), kStyle);
  fmt::format_to(put, "<h1>myriad-load report</h1>\n<p class=\"meta\">Target <b>{}</b>",
                 Escape(run.target));
  if (!run.started_at.empty()) fmt::format_to(put, ", started {}", Escape(run.started_at));
  out += "</p>\n";
  if (!run.command_line.empty()) {
    fmt::format_to(put, "<p class=\"meta\"><code>{}</code></p>\n", Escape(run.command_line));
  }
  SloTable(out, slo);
  SummaryTable(out, run);
  LatencyTable(out, run);
  ErrorsTable(out, run);

  out += "<h2>Over time</h2>\n";
  if (run.timeline.empty()) {
    out += "<p>No samples.</p>\n";
  } else {
    out +=
        "<p class=\"meta\">One point per interval; the shaded part is the warm-up, which the "
        "totals exclude.</p>\n";
    out += ThroughputChart(run);
    out += LatencyChart(run);
    out += ErrorsChart(run);
  }
  out += "<h2>Latency distribution</h2>\n";
  if (run.total.latency.Count() == 0) {
    out += "<p>No requests measured.</p>\n";
  } else {
    out +=
        "<p class=\"meta\">All measured requests (warm-up excluded). The percentile axis is "
        "logarithmic: each step right is ten times rarer.</p>\n";
    out += SpectrumChart(run.total.latency);
    out += DistributionChart(run.total.latency);
  }
  out += "</body>\n</html>\n";
  return out;
}

}  // namespace myriad::load

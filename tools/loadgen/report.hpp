#pragma once

#include <cstdio>
#include <string>
#include <vector>

#include "loadgen/slo.hpp"
#include "loadgen/stats.hpp"

namespace myriad::load {

/// The final table for a person: summary (mode, duration, requests, req/s, bytes), latency
/// percentiles p50 p90 p95 p99 p99.9 max for all requests and per task, errors by kind and
/// status, then the SLO table (when `slo` is not empty) with PASS/FAIL per objective.
std::string FormatTable(const RunResult& run, const std::vector<ObjectiveResult>& slo);

/// Everything, as one JSON document. At least: "requests_per_second", "latency_ms"
/// {"p50","p90","p95","p99","p99.9","max","mean"}, "errors" {"total", "connect", "timeout",
/// "reset", "protocol", "status", "by_status" {"503": n}}, "requests", "duration_s", per task
/// the same under "tasks", the timeline, and "slo" [{objective, measured, pass}] + "slo_pass".
std::string FormatJson(const RunResult& run, const std::vector<ObjectiveResult>& slo);

/// One self-contained HTML page (no scripts or styles from elsewhere; charts are inline
/// SVG): the summary and SLO tables, throughput over time, latency percentiles (p50, p90,
/// p99, max) over time, errors over time, and the latency distribution (percentile
/// spectrum on a log scale), with warm-up seconds shaded, so a person sees at a glance
/// whether the run was steady.
std::string FormatHtml(const RunResult& run, const std::vector<ObjectiveResult>& slo);

/// "1.23ms", "850us", "2.1s": a latency in microseconds for tables and the progress line.
std::string FormatLatency(std::int64_t us);

}  // namespace myriad::load

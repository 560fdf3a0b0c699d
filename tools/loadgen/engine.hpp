#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "loadgen/rate.hpp"
#include "loadgen/scenario.hpp"
#include "loadgen/stats.hpp"

namespace myriad::load {

/// Where requests go: parsed from the URL on the command line.
struct Target {
  std::string host;  // as written ("127.0.0.1", "::1", "localhost")
  std::uint16_t port = 80;
  std::string host_header;  // "127.0.0.1:8080" or "[::1]:8080"
  std::string path;         // path and query of the URL ("/" when absent)
};
/// http://HOST[:PORT][/PATH[?QUERY]]; https and other schemes are refused with a message.
core::Result<Target, std::string> ParseTarget(std::string_view url);

enum class Mode { kClosed, kOpen, kUsers };

/// When a response's latency ends. kArrival: when it reached this host (the kernel's receive
/// timestamp), so the wait of an answer in its socket while this process is busy with other
/// connections, the load generator's own, is not charged to the server; it costs about one
/// system call per response (Asio's wait re-arms epoll). kRead: when this process read it,
/// as wrk does.
enum class LatencyEnd { kArrival, kRead };

struct EngineOptions {
  Mode mode = Mode::kClosed;
  Target target;
  int threads = 1;
  /// kClosed: the connections; kOpen: the most connections it may open.
  std::int64_t connections = 1;
  /// kClosed only: stop after exactly this many requests (0: run for `duration`).
  std::int64_t total_requests = 0;
  /// Measured time; kUsers: after the last user has started (plus warm-up).
  std::chrono::microseconds duration{10'000'000};
  std::chrono::microseconds warmup{0};
  std::optional<RateSchedule> rate;  // kOpen
  std::int64_t users = 0;            // kUsers
  double spawn_rate = 0;             // kUsers: users started per second
  std::chrono::microseconds connect_timeout{5'000'000};
  std::chrono::microseconds request_timeout{10'000'000};
  std::chrono::microseconds interval{1'000'000};  // timeline resolution
  std::uint64_t seed = 1;
  LatencyEnd latency_end = LatencyEnd::kArrival;
};

/// What the progress line shows, once per interval (from the thread that called Run).
struct Progress {
  double elapsed_s = 0;
  bool warmup = false;
  std::int64_t users = 0;
  std::int64_t connections = 0;
  double requests_per_second = 0;  // in the last interval
  std::int64_t p99_us = 0;         // of everything measured so far
  std::int64_t errors = 0;         // measured so far
  std::int64_t requests = 0;       // measured so far
};

/// Runs the load and returns what it measured. Blocks the calling thread, which keeps time
/// and calls `on_progress` once per interval; `options.threads` io threads send requests.
/// `stop_requested`, polled each interval, ends the run early (Ctrl-C).
RunResult Run(const EngineOptions& options, const Scenario& scenario,
              const std::function<void(const Progress&)>& on_progress,
              const std::function<bool()>& stop_requested);

}  // namespace myriad::load

#include "loadgen/cli.hpp"

#include <fmt/chrono.h>
#include <fmt/core.h>
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <array>
#include <atomic>
#include <csignal>
#include <cstdio>
#include <exception>
#include <fstream>
#include <optional>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "core/clock.hpp"
#include "loadgen/engine.hpp"
#include "loadgen/report.hpp"
#include "loadgen/slo.hpp"
#include "loadgen/units.hpp"

namespace myriad::load {
namespace {

constexpr const char* kExamples = R"(
Modes (the URL's scheme must be http://):
  closed loop    -c N connections as fast as each gets answers (wrk, ab); -n stops after N
  open loop      --rate R: requests sent on a schedule whatever the server does; latency is
                 measured from each request's intended send time (no coordinated omission)
  virtual users  --users N --spawn-rate R --scenario FILE: each user logs in (on_start),
                 then runs weighted tasks with think time (locust)

Examples:
  myriad-load -c 1000 -d 30s http://127.0.0.1:8080/api/health
      like: wrk -t2 -c1000 -d30s --latency http://127.0.0.1:8080/api/health
  myriad-load -n 100000 -c 10000 http://127.0.0.1:8080/api/health
      like: ab -n 100000 -c 10000 http://127.0.0.1:8080/api/health
  myriad-load --users 10000 --spawn-rate 100 -d 60s --scenario bench/scenarios/accounts_mix.json \
              --html report.html --slo http://127.0.0.1:8080
      like: locust --headless --users 10000 --spawn-rate 100 -t 60s, with an SLO gate
  myriad-load --rate 10000/s -c 2000 -d 60s --json out.json http://127.0.0.1:8080/api/health
  myriad-load --rate 1000/s:20s,5000/s:20s,10000/s:20s -c 5000 http://127.0.0.1:8080/api/health
  myriad-load -m POST -H 'Content-Type: application/json' --body '{"a":1}' -c 10 -d 5s URL

A latency ends when the response reached this host (the kernel's receive timestamp), not
when this process got round to reading it: with thousands of connections per thread that
wait is the load generator's own. The table's "all, at read" row shows both; wrk's figures
are the "at read" kind (--latency-end read measures only those, one system call cheaper).

--slo without a value means "p90<100ms,p95<200ms,p99<500ms,errors<0.1%"; other objectives:
p50, p99.9, mean, max (latencies, units us/ms/s/m), errors (% or fraction), rps>=N.
Exit status: 0 done (and every objective passed), 1 an objective failed, 2 bad arguments or
scenario, 3 the run could not start or a report could not be written, 130 / 143 stopped by
Ctrl-C (SIGINT) / SIGTERM: the table and reports cover the time until then (a second signal
ends it at once).
)";

// The signal that asked the run to stop (SIGINT, SIGTERM), or 0.
std::atomic<int> g_interrupted{0};

extern "C" void OnInterrupt(int signal) {
  g_interrupted.store(signal);
  // A second signal ends the program at once.
  std::signal(SIGINT, SIG_DFL);
  std::signal(SIGTERM, SIG_DFL);
}

struct Cli {
  std::string url;
  std::int64_t connections = 0;  // 0: the mode's default
  std::string duration = "10s";
  int threads = 0;
  std::int64_t requests = 0;
  std::string rate;
  std::int64_t users = 0;
  double spawn_rate = 0;
  std::string scenario_file;
  std::vector<std::string> vars;
  std::string method = "GET";
  std::vector<std::string> headers;
  std::string body;
  std::string body_file;
  std::string warmup = "0s";
  std::string timeout = "10s";
  std::string connect_timeout = "5s";
  std::string interval = "1s";
  std::string json_file;
  std::string html_file;
  std::string slo;
  bool quiet = false;
  std::uint64_t seed = 1;
  std::string latency_end = "arrival";
};

core::Result<std::chrono::microseconds, std::string> Duration(const std::string& flag,
                                                              const std::string& text,
                                                              bool allow_zero) {
  auto d = ParseDuration(text);
  if (!d) return core::Unexpected<std::string>{flag + ": " + d.error()};
  if (!allow_zero && d.value().count() <= 0) {
    return core::Unexpected<std::string>{flag + ": must be more than zero, got \"" + text + "\""};
  }
  return d.value();
}

bool WriteFile(const std::string& path, const std::string& text) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out << text;
  out.close();
  return static_cast<bool>(out);
}

using Error = core::Unexpected<std::string>;

// The mode and its sizes: which of -c, -n, --rate, --users and --spawn-rate go together.
core::Result<bool, std::string> PrepareMode(const Cli& cli, EngineOptions& o) {
  const bool users = cli.users > 0;
  const bool open = !cli.rate.empty();
  if (users && open) return Error{"--users and --rate are different modes: pick one"};
  if (cli.requests > 0 && (users || open)) {
    return Error{
        "-n/--requests counts requests of a closed loop; it cannot go with --users or --rate"};
  }
  if (users && cli.spawn_rate <= 0) {
    return Error{"--users needs --spawn-rate (users started per second, > 0)"};
  }
  if (!users && cli.spawn_rate > 0) return Error{"--spawn-rate needs --users"};
  if (users && cli.connections > 0) {
    return Error{"-c does not apply to --users: each user has its own connection"};
  }
  o.mode = users ? Mode::kUsers : open ? Mode::kOpen : Mode::kClosed;
  o.users = cli.users;
  o.spawn_rate = cli.spawn_rate;
  if (open) {
    auto rate = RateSchedule::Parse(cli.rate);
    if (!rate) return Error{"--rate: " + rate.error()};
    o.rate = std::move(rate.value());
  }
  const unsigned cores = std::max(1U, std::thread::hardware_concurrency());
  o.threads = cli.threads > 0 ? cli.threads : static_cast<int>(cores);
  switch (o.mode) {
    case Mode::kClosed:
      o.connections = cli.connections > 0 ? cli.connections : 10;
      o.threads = static_cast<int>(std::min<std::int64_t>(o.threads, o.connections));
      break;
    case Mode::kOpen:
      o.connections = cli.connections > 0 ? cli.connections : 10'000;
      break;
    case Mode::kUsers:
      o.connections = cli.users;
      break;
  }
  o.total_requests = cli.requests;
  return true;
}

core::Result<bool, std::string> PrepareTimes(const Cli& cli, EngineOptions& o) {
  struct TimeFlag {
    const char* flag;
    const std::string& text;
    bool allow_zero;
    std::chrono::microseconds& out;
  };
  const std::array<TimeFlag, 5> times = {{
      {"--duration", cli.duration, false, o.duration},
      {"--warmup", cli.warmup, true, o.warmup},
      {"--timeout", cli.timeout, false, o.request_timeout},
      {"--connect-timeout", cli.connect_timeout, false, o.connect_timeout},
      {"--interval", cli.interval, false, o.interval},
  }};
  for (const auto& t : times) {
    const auto d = Duration(t.flag, t.text, t.allow_zero);
    if (!d) return Error{d.error()};
    t.out = d.value();
  }
  if (o.interval < std::chrono::milliseconds(100)) return Error{"--interval: at least 100ms"};
  return true;
}

// --scenario FILE with its --var overrides.
core::Result<Scenario, std::string> PrepareScenarioFile(const Cli& cli) {
  if (!cli.headers.empty() || !cli.body.empty() || !cli.body_file.empty() || cli.method != "GET") {
    return Error{
        "-m, -H and --body describe a single request; with --scenario, put them in the file"};
  }
  auto loaded = LoadScenario(cli.scenario_file);
  if (!loaded) return Error{loaded.error()};
  Scenario scenario = std::move(loaded.value());
  for (const auto& assignment : cli.vars) {
    const auto eq = assignment.find('=');
    if (eq == std::string::npos || eq == 0) {
      return Error{"--var: expected NAME=VALUE, got \"" + assignment + "\""};
    }
    const auto name = assignment.substr(0, eq);
    const auto& names = scenario.names.variables;
    const auto it = std::find(names.begin(), names.end(), name);
    if (it == names.end()) return Error{"--var: the scenario has no variable \"" + name + "\""};
    scenario.initial_variables[static_cast<std::size_t>(it - names.begin())] =
        assignment.substr(eq + 1);
  }
  return scenario;
}

// The single request of -m, -H and --body.
core::Result<Scenario, std::string> PrepareSingleRequest(const Cli& cli, const Target& target) {
  if (cli.users > 0) return Error{"--users needs --scenario FILE (what each user does)"};
  if (!cli.vars.empty()) return Error{"--var needs --scenario"};
  std::vector<std::pair<std::string, std::string>> headers;
  for (const auto& h : cli.headers) {
    const auto colon = h.find(':');
    if (colon == std::string::npos || colon == 0) {
      return Error{R"(-H: expected "Name: value", got ")" + h + "\""};
    }
    if (h.find_first_of("\r\n") != std::string::npos) return Error{"-H: no line breaks in headers"};
    auto value = h.substr(colon + 1);
    value.erase(0, value.find_first_not_of(" \t"));
    headers.emplace_back(h.substr(0, colon), value);
  }
  std::string body = cli.body;
  bool has_body = !cli.body.empty();
  if (!cli.body_file.empty()) {
    if (has_body) return Error{"--body and --body-file: pick one"};
    std::ifstream in(cli.body_file, std::ios::binary);
    if (!in) return Error{"--body-file: cannot read " + cli.body_file};
    body.assign(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
    has_body = true;
  }
  if (cli.method.empty() || cli.method.find_first_of(" \r\n\t") != std::string::npos) {
    return Error{"-m: not a method: \"" + cli.method + "\""};
  }
  return SingleRequestScenario(cli.method, target.path, std::move(headers), std::move(body),
                               has_body);
}

// Builds the engine's options and the scenario from the command line; a message on error.
core::Result<std::pair<EngineOptions, Scenario>, std::string> Prepare(const Cli& cli) {
  EngineOptions o;
  auto target = ParseTarget(cli.url);
  if (!target) return Error{target.error()};
  o.target = std::move(target.value());
  if (auto mode = PrepareMode(cli, o); !mode) return Error{mode.error()};
  if (auto times = PrepareTimes(cli, o); !times) return Error{times.error()};
  o.seed = cli.seed;
  o.latency_end = cli.latency_end == "read" ? LatencyEnd::kRead : LatencyEnd::kArrival;
  auto scenario =
      cli.scenario_file.empty() ? PrepareSingleRequest(cli, o.target) : PrepareScenarioFile(cli);
  if (!scenario) return Error{scenario.error()};
  return std::make_pair(std::move(o), std::move(scenario.value()));
}

std::string CommandLine(int argc, char** argv) {
  std::string line;
  for (int i = 0; i < argc; ++i) {
    if (i > 0) line.push_back(' ');
    const std::string arg = argv[i];
    if (arg.find_first_of(" '\"$") == std::string::npos && !arg.empty()) {
      line += arg;
    } else {
      line += '\'';
      for (char c : arg) {
        if (c == '\'') {
          line += R"('\'')";
        } else {
          line += c;
        }
      }
      line += '\'';
    }
  }
  return line;
}

void PrintProgress(const Progress& p, bool terminal, bool users_mode) {
  const std::string users = users_mode ? fmt::format("  users {:>6}", p.users) : "";
  const std::string line =
      fmt::format("[{:>6.1f}s{}]{}  conns {:>6}  {:>9.0f} req/s  p99 {:>8}  errors {}", p.elapsed_s,
                  p.warmup ? " warm-up" : "", users, p.connections, p.requests_per_second,
                  p.p99_us > 0 ? FormatLatency(p.p99_us) : "-", p.errors);
  if (terminal) {
    fmt::print(stderr, "\r{:<100}", line);
  } else {
    fmt::print(stderr, "{}\n", line);
  }
  std::fflush(stderr);
}

}  // namespace

int Main(int argc, char** argv) {
  Cli cli;
  CLI::App app{
      "myriad-load: an HTTP/1.1 load generator for closed-loop, open-loop and virtual-user "
      "runs, with latency histograms, reports and an SLO gate.",
      "myriad-load"};
  app.footer(kExamples);
  app.add_option("url", cli.url, "Target: http://HOST[:PORT][/PATH] (with --scenario, the base)");
  app.add_option("-c,--connections", cli.connections,
                 "Closed loop: connections (default 10). Open loop: the most it may open "
                 "(default 10000)")
      ->check(CLI::Range(std::int64_t{1}, std::int64_t{1'000'000}));
  app.add_option("-d,--duration", cli.duration,
                 "Measured time (warm-up and users' ramp-up come first)")
      ->default_str("10s");
  app.add_option("-t,--threads", cli.threads, "Threads (default: the number of cores)")
      ->check(CLI::Range(1, 256));
  app.add_option("-n,--requests", cli.requests,
                 "Closed loop: send exactly this many requests (tasks, with --scenario), then stop")
      ->check(CLI::Range(std::int64_t{1}, std::int64_t{1'000'000'000'000}));
  app.add_option("--rate", cli.rate,
                 "Open loop: arrivals per second: 10000/s, steps 1000/s:10s,5000/s, ramps "
                 "100/s..5000/s:30s");
  app.add_option("--users", cli.users, "Virtual users, each running --scenario")
      ->check(CLI::Range(std::int64_t{1}, std::int64_t{1'000'000}));
  app.add_option("--spawn-rate", cli.spawn_rate, "Users started per second")
      ->check(CLI::PositiveNumber);
  app.add_option("--scenario", cli.scenario_file,
                 "Scenario file (JSON; see bench/scenarios/README.md)");
  app.add_option("--var", cli.vars, "NAME=VALUE: set a scenario variable (repeatable)");
  app.add_option("-m,--method", cli.method, "Method of the single request")->default_str("GET");
  app.add_option("-H,--header", cli.headers, "\"Name: value\" (repeatable)");
  app.add_option("--body", cli.body, "Request body");
  app.add_option("--body-file", cli.body_file, "Request body from a file");
  app.add_option("--warmup", cli.warmup, "Run this long first without measuring")
      ->default_str("0s");
  app.add_option("--timeout", cli.timeout, "Longest wait for a response (a timeout error)")
      ->default_str("10s");
  app.add_option("--connect-timeout", cli.connect_timeout, "Longest wait to connect")
      ->default_str("5s");
  app.add_option("--interval", cli.interval, "Timeline resolution")->default_str("1s");
  app.add_option("--latency-end", cli.latency_end,
                 "arrival: a latency ends when the response reached this host (kernel receive "
                 "timestamp), so this process's own wait is not counted; read: when this "
                 "process read it, as wrk does (about one system call fewer per response)")
      ->check(CLI::IsMember({"arrival", "read"}))
      ->default_str("arrival");
  app.add_option("--json", cli.json_file, "Write everything measured as JSON to FILE");
  app.add_option("--html", cli.html_file, "Write a self-contained HTML report to FILE");
  auto* slo = app.add_option("--slo", cli.slo,
                             "Objectives, e.g. \"p95<50ms,p99<100ms,errors<0.1%\"; exit 1 if "
                             "any fails. Without a value: the usual acceptance")
                  ->expected(0, 1);
  app.add_flag("-q,--quiet", cli.quiet, "No progress lines");
  app.add_option("--seed", cli.seed, "Seed for random choices (runs repeat their choices)")
      ->default_str("1");
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    const int code = app.exit(e);
    return code == 0 ? kExitOk : kExitUsage;
  }

  // "--slo URL": CLI11 gives an optional value the next argument, which is the URL when
  // --slo comes last without a value.
  if (cli.url.empty() && cli.slo.find("://") != std::string::npos) std::swap(cli.url, cli.slo);
  if (cli.url.empty()) {
    fmt::print(stderr, "myriad-load: the target URL is missing (see --help)\n");
    return kExitUsage;
  }
  std::vector<Objective> objectives;
  if (slo->count() > 0) {
    auto parsed = ParseSlo(cli.slo.empty() ? kDefaultSlo : std::string_view(cli.slo));
    if (!parsed) {
      fmt::print(stderr, "myriad-load: --slo: {}\n", parsed.error());
      return kExitUsage;
    }
    objectives = std::move(parsed.value());
  }
  auto prepared = Prepare(cli);
  if (!prepared) {
    fmt::print(stderr, "myriad-load: {}\n", prepared.error());
    return kExitUsage;
  }
  auto& [options, scenario] = prepared.value();

  const bool terminal = isatty(STDERR_FILENO) == 1;
  const bool users_mode = options.mode == Mode::kUsers;
  int plain_every = 0;
  const auto progress = [&](const Progress& p) {
    if (cli.quiet) return;
    // Plain lines go to logs: one every 5 intervals is enough there.
    if (!terminal && plain_every++ % 5 != 0) return;
    PrintProgress(p, terminal, users_mode);
  };
  std::signal(SIGINT, OnInterrupt);
  std::signal(SIGTERM, OnInterrupt);
  std::signal(SIGPIPE, SIG_IGN);

  RunResult run;
  try {
    run = Run(options, scenario, progress, [] { return g_interrupted.load() != 0; });
  } catch (const std::exception& e) {
    fmt::print(stderr, "myriad-load: {}\n", e.what());
    return kExitRunFailed;
  }
  if (terminal && !cli.quiet) fmt::print(stderr, "\n");
  run.command_line = CommandLine(argc, argv);
  run.started_at =
      fmt::format("{:%Y-%m-%dT%H:%M:%SZ}",
                  fmt::gmtime(core::WallClockSeconds() -
                              static_cast<std::int64_t>(run.warmup_s + run.duration_s)));
  run.target = cli.scenario_file.empty() ? cli.url : scenario.name + " at " + cli.url;
  const int interrupted = g_interrupted.load();
  if (interrupted != 0) run.interrupted_by = interrupted == SIGTERM ? "SIGTERM" : "SIGINT";

  const auto results = Evaluate(objectives, run);
  fmt::print("{}", FormatTable(run, results));
  std::fflush(stdout);
  int code = kExitOk;
  if (!cli.json_file.empty() && !WriteFile(cli.json_file, FormatJson(run, results))) {
    fmt::print(stderr, "myriad-load: cannot write {}\n", cli.json_file);
    code = kExitRunFailed;
  }
  if (!cli.html_file.empty() && !WriteFile(cli.html_file, FormatHtml(run, results))) {
    fmt::print(stderr, "myriad-load: cannot write {}\n", cli.html_file);
    code = kExitRunFailed;
  }
  if (code != kExitOk) return code;
  // Stopped early, the run proves nothing either way: say so as a shell does (128 + the
  // signal), whatever the objectives said of the part that ran.
  if (interrupted != 0) return 128 + interrupted;
  for (const auto& r : results) {
    if (!r.pass) return kExitSloFailed;
  }
  return kExitOk;
}

}  // namespace myriad::load

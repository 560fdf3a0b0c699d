#include "loadgen/engine.hpp"

#include <algorithm>
#include <atomic>
#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>
#include <boost/json/value.hpp>
#include <boost/url/parse.hpp>
#include <cmath>
#include <condition_variable>
#include <deque>
#include <map>
#include <memory>
#include <mutex>
#include <random>
#include <stdexcept>
#include <thread>

#include "core/clock.hpp"
#include "loadgen/connection.hpp"

namespace myriad::load {
namespace {

namespace asio = boost::asio;
using Clock = std::chrono::steady_clock;
using std::chrono::microseconds;

std::int64_t Micros(Clock::duration d) {
  return std::chrono::duration_cast<microseconds>(d).count();
}

// One interval's data from every thread, merged as the threads hand it in.
class IntervalBoard {
 public:
  explicit IntervalBoard(int threads) : threads_(threads) {}

  void Deposit(std::int64_t index, const Histogram& latency, std::int64_t requests,
               std::int64_t errors, std::int64_t users, std::int64_t connections) {
    {
      const std::lock_guard lock(mutex_);
      // An interval already shown (its thread was too busy to hand it in on time) is not
      // lost: it joins the next one.
      index = std::max(index, next_to_take_);
      auto& slot = slots_[index];
      if (!slot) slot = std::make_unique<Slot>();
      slot->latency.Merge(latency);
      slot->requests += requests;
      slot->errors += errors;
      slot->users += users;
      slot->connections += connections;
      ++slot->reports;
    }
    changed_.notify_all();
  }

  struct Slot {
    Histogram latency;
    std::int64_t requests = 0;
    std::int64_t errors = 0;
    std::int64_t users = 0;
    std::int64_t connections = 0;
    int reports = 0;
  };
  /// Waits until every thread has handed in interval `index` or `until` passes, then takes it.
  /// Indices are taken in increasing order.
  std::unique_ptr<Slot> Take(std::int64_t index, Clock::time_point until) {
    std::unique_lock lock(mutex_);
    changed_.wait_until(lock, until, [&] {
      const auto it = slots_.find(index);
      return it != slots_.end() && it->second->reports >= threads_;
    });
    next_to_take_ = index + 1;
    auto it = slots_.find(index);
    if (it == slots_.end()) return std::make_unique<Slot>();
    auto slot = std::move(it->second);
    slots_.erase(it);
    return slot;
  }

 private:
  int threads_;
  std::mutex mutex_;
  std::condition_variable changed_;
  std::map<std::int64_t, std::unique_ptr<Slot>> slots_;
  std::int64_t next_to_take_ = 0;
};

struct RunState {
  const EngineOptions& options;
  const Scenario& scenario;
  asio::ip::tcp::endpoint endpoint;
  Clock::time_point start;
  Clock::time_point measure_start;
  Clock::time_point measure_end;
  std::atomic<std::int64_t> budget_used{0};  // -n: requests started
  std::atomic<int> workers_idle{0};          // -n: workers whose sessions all ended
  IntervalBoard board;

  RunState(const EngineOptions& o, const Scenario& s, int threads)
      : options(o), scenario(s), board(threads) {}
};

class Worker;

// One connection's (closed, open loop) or one virtual user's state.
struct Session {
  Session(Worker& w, std::int64_t user_number);
  ~Session();
  Session(const Session&) = delete;
  Session& operator=(const Session&) = delete;

  Worker& worker;
  HttpConnection connection;
  asio::steady_timer timer;  // think time, or waiting for work (open loop)
  std::vector<std::string> variables;
  RenderContext render;
  std::mt19937_64 rng;
  std::string request;
  std::string body;
  bool reused = false;                  // the connection has carried a request before
  std::chrono::seconds retry_after{0};  // the last response's Retry-After
  bool is_user = false;
  std::size_t slot = 0;  // in Worker::sessions_
  // Open loop: the next arrival's intended send time, set by the dispatcher.
  std::optional<Clock::time_point> pending;
};

class Worker {
 public:
  Worker(RunState& run, int index)
      : run_(run),
        index_(index),
        rng_(run.options.seed * 1'000'003 + static_cast<std::uint64_t>(index)),
        tasks_(run.scenario.tasks.size()),
        ticker_(io_),
        watchdog_(io_),
        dispatcher_(io_) {
    PreRender();
  }

  asio::io_context& io() { return io_; }
  RunState& run() { return run_; }
  std::mt19937_64& rng() { return rng_; }

  void Start() { asio::co_spawn(io_, Begin(), asio::detached); }

  /// On the worker's thread: end every session, timer and loop.
  void Stop() {
    stopping_ = true;
    ticker_.cancel();
    watchdog_.cancel();
    dispatcher_.cancel();
    // Sessions unregister themselves as their coroutines end; close them all first.
    for (Session* s : sessions_) {
      s->connection.Close();
      s->timer.cancel();
    }
    DepositInterval();
    unsent_ += static_cast<std::int64_t>(backlog_.size());
    backlog_.clear();
  }

  bool stopping() const { return stopping_; }
  const std::vector<Counters>& tasks() const { return tasks_; }
  const Histogram& latency_at_read() const { return latency_at_read_; }
  std::int64_t unsent() const { return unsent_; }

  void Register(Session& s) {
    s.slot = sessions_.size();
    sessions_.push_back(&s);
  }
  void Unregister(Session& s) {
    Session* last = sessions_.back();
    sessions_[s.slot] = last;
    last->slot = s.slot;
    sessions_.pop_back();
  }

 private:
  // Everyone waits for the common start time, so no thread begins before the others exist
  // and nothing is sent before the clock of the run starts.
  asio::awaitable<void> Begin() {
    dispatcher_.expires_at(run_.start);
    co_await dispatcher_.async_wait(asio::as_tuple(asio::use_awaitable));
    if (stopping_) co_return;
    asio::co_spawn(io_, Tick(), asio::detached);
    asio::co_spawn(io_, Watch(), asio::detached);
    const auto& o = run_.options;
    const int threads = o.threads;
    switch (o.mode) {
      case Mode::kClosed: {
        const std::int64_t mine =
            o.connections / threads + (index_ < o.connections % threads ? 1 : 0);
        live_closed_ = mine;
        for (std::int64_t i = 0; i < mine; ++i) {
          asio::co_spawn(io_, ClosedLoop(), asio::detached);
        }
        if (mine == 0) run_.workers_idle.fetch_add(1);
        break;
      }
      case Mode::kOpen:
        max_open_ = o.connections / threads + (index_ < o.connections % threads ? 1 : 0);
        max_open_ = std::max<std::int64_t>(max_open_, 1);
        asio::co_spawn(io_, Dispatch(), asio::detached);
        break;
      case Mode::kUsers:
        asio::co_spawn(io_, Spawn(), asio::detached);
        break;
    }
  }

  // ------------------------------------------------------------------ requests
  void PreRender() {
    const auto& tasks = run_.scenario.tasks;
    prerendered_.resize(tasks.size());
    for (std::size_t t = 0; t < tasks.size(); ++t) {
      for (const auto& spec : tasks[t].requests) {
        bool literal = spec.path.IsLiteral() && (!spec.has_body || spec.body.IsLiteral());
        for (const auto& [name, value] : spec.headers) literal = literal && value.IsLiteral();
        std::string text;
        if (literal) {
          RenderContext none;
          std::string body;
          BuildRequest(spec, none, text, body);
        }
        prerendered_[t].push_back(std::move(text));
      }
    }
  }

  void BuildRequest(const RequestSpec& spec, RenderContext& context, std::string& out,
                    std::string& body) const {
    out.clear();
    out.append(spec.method).push_back(' ');
    spec.path.Render(context, out);
    out.append(" HTTP/1.1\r\nHost: ").append(run_.options.target.host_header);
    out.append("\r\nUser-Agent: myriad-load\r\n");
    for (const auto& [name, value] : spec.headers) {
      out.append(name).append(": ");
      value.Render(context, out);
      out.append("\r\n");
    }
    if (spec.has_body) {
      body.clear();
      spec.body.Render(context, body);
      out.append("Content-Length: ").append(std::to_string(body.size())).append("\r\n\r\n");
      out.append(body);
    } else {
      out.append("\r\n");
    }
  }

  asio::awaitable<Response> Send(Session& s, std::size_t task, std::size_t index) {
    const auto& spec = run_.scenario.tasks[task].requests[index];
    const auto& pre = prerendered_[task][index];
    std::string_view request = pre;
    if (pre.empty()) {
      BuildRequest(spec, s.render, s.request, s.body);
      request = s.request;
    }
    const bool head = spec.method == "HEAD";
    const bool keep = !spec.captures.empty();
    const auto& o = run_.options;
    for (int attempt = 0;; ++attempt) {
      if (!s.connection.IsOpen()) {
        s.reused = false;
        if (!co_await s.connection.Connect(run_.endpoint, Clock::now() + o.connect_timeout)) {
          Response failed;
          failed.error = ErrorKind::kConnect;
          co_return failed;
        }
      }
      const bool was_reused = s.reused;
      const auto sent_at = Clock::now();
      Response r = co_await s.connection.Exchange(request, head, keep, sent_at + o.request_timeout);
      r.sent_at = sent_at;
      s.reused = r.ok && r.keep_alive;
      // A kept-alive connection the server closed while it was idle: what any client does
      // is retry once on a new connection; that is not the server failing a request.
      if (!r.ok && r.error == ErrorKind::kReset && r.bytes == 0 && was_reused && attempt == 0 &&
          !stopping_) {
        continue;
      }
      co_return r;
    }
  }

  static bool Accepted(const RequestSpec& spec, int status) {
    if (spec.expect.empty()) return status >= 200 && status < 400;
    return std::find(spec.expect.begin(), spec.expect.end(), status) != spec.expect.end();
  }

  static std::optional<std::string> CaptureValue(const Capture& capture, const Response& r,
                                                 std::optional<boost::json::value>& json) {
    if (capture.from == Capture::From::kHeader) {
      for (const auto& [name, value] : r.headers) {
        if (name.size() == capture.path.size() &&
            std::equal(name.begin(), name.end(), capture.path.begin(), [](char a, char b) {
              return std::tolower(static_cast<unsigned char>(a)) ==
                     std::tolower(static_cast<unsigned char>(b));
            })) {
          return value;
        }
      }
      return std::nullopt;
    }
    if (!json) {
      boost::system::error_code ec;
      json = boost::json::parse(r.body, ec);
      if (ec) json = boost::json::value();
    }
    boost::system::error_code ec;
    const boost::json::value* found = json->find_pointer(capture.path, ec);
    if (found == nullptr || ec) return std::nullopt;
    if (found->is_string()) return std::string(found->get_string());
    return boost::json::serialize(*found);
  }

  // Records one request; false when it failed (the rest of its task is skipped).
  bool Record(Session& s, std::size_t task, const RequestSpec& spec, const Response& r,
              Clock::time_point intended) {
    const auto read_at = Clock::now();
    // A response's latency ends when it arrived; the read's time is kept beside it.
    const auto done =
        r.ok && r.received_at != Clock::time_point{} ? std::min(r.received_at, read_at) : read_at;
    const std::int64_t latency = std::max<std::int64_t>(Micros(done - intended), 1);
    bool ok = r.ok && Accepted(spec, r.status);
    bool capture_failed = false;
    if (ok && !spec.captures.empty()) {
      std::optional<boost::json::value> json;
      for (const auto& capture : spec.captures) {
        auto value = CaptureValue(capture, r, json);
        if (!value) {
          capture_failed = true;
          ok = false;
          break;
        }
        s.variables[capture.variable] = std::move(*value);
      }
    }
    const bool timed = r.ok || r.error == ErrorKind::kTimeout;
    FlushIntervalsBefore(IntervalOf(done));
    ++interval_requests_;
    if (!ok) ++interval_errors_;
    if (timed) interval_latency_.Record(latency);
    if (done >= run_.measure_start && done < run_.measure_end) {
      auto& c = tasks_[task];
      ++c.requests;
      c.bytes_received += r.bytes;
      if (timed) {
        c.latency.Record(latency);
        // With --latency-end read the two are one: Run copies the totals instead.
        if (run_.options.latency_end == LatencyEnd::kArrival) {
          latency_at_read_.Record(std::max<std::int64_t>(Micros(read_at - intended), 1));
        }
      }
      if (ok) {
        ++c.ok;
      } else if (capture_failed) {
        ++c.errors[static_cast<std::size_t>(ErrorKind::kProtocol)];
      } else if (r.ok) {
        ++c.errors[static_cast<std::size_t>(ErrorKind::kStatus)];
        ++c.statuses[r.status];
      } else {
        ++c.errors[static_cast<std::size_t>(r.error)];
      }
    }
    return ok;
  }

  // Runs one task's requests in order. The first one's latency counts from `intended` (when
  // it was due: open loop, users); without it (closed loop), every request's latency counts
  // from when it was written, as wrk's does, so connecting is not part of it.
  asio::awaitable<bool> RunTask(Session& s, std::size_t task,
                                std::optional<Clock::time_point> intended) {
    const auto& requests = run_.scenario.tasks[task].requests;
    for (std::size_t i = 0; i < requests.size(); ++i) {
      if (stopping_) co_return false;
      if (i > 0 && intended) intended = Clock::now();
      Response r = co_await Send(s, task, i);
      if (stopping_) co_return false;  // cut short by the end of the run: not counted
      s.retry_after = r.retry_after;
      if (!Record(s, task, requests[i], r, intended.value_or(r.sent_at))) co_return false;
    }
    co_return true;
  }

  std::size_t PickTask(Session& s) {
    if (!run_.scenario.HasChoice()) return run_.scenario.PickTask(0.0);  // no draw needed
    std::uniform_real_distribution<double> uniform(0.0, 1.0);
    return run_.scenario.PickTask(uniform(s.rng));
  }

  static microseconds ThinkTime(Session& s, const Task& task) {
    if (task.think.max <= task.think.min) return task.think.min;
    std::uniform_int_distribution<std::int64_t> pick(task.think.min.count(),
                                                     task.think.max.count());
    return microseconds(pick(s.rng));
  }

  static asio::awaitable<void> Pause(Session& s, Clock::time_point until) {
    s.timer.expires_at(until);
    co_await s.timer.async_wait(asio::as_tuple(asio::use_awaitable));
  }

  // A session's on_start task, retried after its think time until it succeeds.
  asio::awaitable<bool> StartSession(Session& s) {
    if (!run_.scenario.has_on_start) co_return true;
    const Task& start = run_.scenario.tasks[0];
    while (!stopping_) {
      if (co_await RunTask(s, 0, Clock::now())) co_return true;
      if (stopping_) break;
      // A failed login is retried after a pause, not hammered: its think time, at least
      // 100 ms, and at least what the server asked for in Retry-After (a 503 or 429).
      const auto pause = std::max({ThinkTime(s, start), microseconds(100'000),
                                   std::chrono::duration_cast<microseconds>(s.retry_after)});
      co_await Pause(s, Clock::now() + pause);
    }
    co_return false;
  }

  // ------------------------------------------------------------------ closed loop
  asio::awaitable<void> ClosedLoop() {
    Session s(*this, 0);
    const auto& o = run_.options;
    if (co_await StartSession(s)) {
      while (!stopping_) {
        if (o.total_requests > 0 && run_.budget_used.fetch_add(1) >= o.total_requests) break;
        const std::size_t task = PickTask(s);
        // The next request goes out after the answers this thread has already received are
        // read, as wrk does (it writes on the loop turn after the answer). Written at once
        // instead, every connection always has a request queued at the server, each waits
        // behind all the others, and p50 came out 1.8-2.1x wrk's on the same nginx
        // (bench/loadgen.sh).
        co_await asio::post(io_, asio::use_awaitable);
        const bool ok = co_await RunTask(s, task, std::nullopt);
        if (!ok && !s.connection.IsOpen() && !stopping_) {
          // A server that refuses connections would otherwise be hammered in a tight loop.
          co_await Pause(s, Clock::now() + std::chrono::milliseconds(10));
        }
      }
    }
    if (--live_closed_ == 0) run_.workers_idle.fetch_add(1);
  }

  // ------------------------------------------------------------------ open loop
  asio::awaitable<void> Dispatch() {
    const auto& rate = *run_.options.rate;
    const auto threads = static_cast<std::int64_t>(run_.options.threads);
    std::int64_t k = index_;
    while (!stopping_) {
      const auto now = Clock::now();
      for (;;) {
        const auto due = run_.start + rate.ArrivalTime(k);
        if (due > now || due >= run_.measure_end) break;
        Assign(due);
        k += threads;
      }
      const auto next = run_.start + rate.ArrivalTime(k);
      dispatcher_.expires_at(std::min(next, run_.measure_end + std::chrono::hours(1)));
      co_await dispatcher_.async_wait(asio::as_tuple(asio::use_awaitable));
    }
  }

  void Assign(Clock::time_point intended) {
    if (!idle_.empty()) {
      Session* s = idle_.back();
      idle_.pop_back();
      s->pending = intended;
      s->timer.cancel();
      return;
    }
    if (open_sessions_ < max_open_) {
      ++open_sessions_;
      asio::co_spawn(io_, OpenSession(intended), asio::detached);
      return;
    }
    // Every connection is busy: the arrival waits, and its wait counts in its latency.
    backlog_.push_back(intended);
  }

  asio::awaitable<void> OpenSession(Clock::time_point first) {
    Session s(*this, 0);
    if (co_await StartSession(s)) {
      std::optional<Clock::time_point> intended = first;
      while (!stopping_) {
        if (!intended) {
          idle_.push_back(&s);
          s.pending.reset();
          while (!stopping_ && !s.pending) {
            s.timer.expires_at(Clock::time_point::max());
            co_await s.timer.async_wait(asio::as_tuple(asio::use_awaitable));
          }
          if (stopping_) break;
          intended = s.pending;
        }
        co_await RunTask(s, PickTask(s), *intended);
        intended.reset();
        if (!backlog_.empty()) {
          intended = backlog_.front();
          backlog_.pop_front();
        }
      }
    }
    const auto it = std::find(idle_.begin(), idle_.end(), &s);
    if (it != idle_.end()) idle_.erase(it);
    --open_sessions_;
  }

  // ------------------------------------------------------------------ virtual users
  asio::awaitable<void> Spawn() {
    const auto& o = run_.options;
    for (std::int64_t u = index_; u < o.users && !stopping_; u += o.threads) {
      const auto at =
          run_.start + std::chrono::duration_cast<Clock::duration>(
                           std::chrono::duration<double>(static_cast<double>(u) / o.spawn_rate));
      dispatcher_.expires_at(at);
      co_await dispatcher_.async_wait(asio::as_tuple(asio::use_awaitable));
      if (stopping_) break;
      asio::co_spawn(io_, User(u + 1), asio::detached);
    }
  }

  asio::awaitable<void> User(std::int64_t number) {
    Session s(*this, number);
    s.is_user = true;
    ++users_;
    if (co_await StartSession(s)) {
      auto intended = Clock::now();
      while (!stopping_) {
        const std::size_t task = PickTask(s);
        co_await RunTask(s, task, intended);
        if (stopping_) break;
        intended = Clock::now() + ThinkTime(s, run_.scenario.tasks[task]);
        co_await Pause(s, intended);
      }
    }
    --users_;
  }

  // ------------------------------------------------------------------ timekeeping
  std::int64_t IntervalOf(Clock::time_point t) const {
    return std::max<std::int64_t>((t - run_.start) / run_.options.interval, 0);
  }

  // Hands in the accumulating interval and an empty one for each interval since, up to
  // (not including) `index`, which then accumulates.
  void FlushIntervalsBefore(std::int64_t index) {
    while (interval_index_ < index) DepositInterval();
  }

  void DepositInterval() {
    std::int64_t connections = 0;
    for (const Session* s : sessions_) connections += s->connection.IsOpen() ? 1 : 0;
    run_.board.Deposit(interval_index_, interval_latency_, interval_requests_, interval_errors_,
                       users_, connections);
    interval_latency_.Reset();
    interval_requests_ = 0;
    interval_errors_ = 0;
    ++interval_index_;
  }

  // Intervals are assigned by completion time; the tick only hands in those that ended, so
  // that a thread with nothing to record still reports.
  asio::awaitable<void> Tick() {
    while (!stopping_) {
      ticker_.expires_at(run_.start + run_.options.interval * (interval_index_ + 1) +
                         std::chrono::milliseconds(2));
      co_await ticker_.async_wait(asio::as_tuple(asio::use_awaitable));
      if (stopping_) break;
      FlushIntervalsBefore(IntervalOf(Clock::now()));
    }
  }

  asio::awaitable<void> Watch() {
    const auto period =
        std::clamp<Clock::duration>(run_.options.request_timeout / 20, std::chrono::milliseconds(5),
                                    std::chrono::milliseconds(100));
    while (!stopping_) {
      watchdog_.expires_after(period);
      co_await watchdog_.async_wait(asio::as_tuple(asio::use_awaitable));
      if (stopping_) break;
      const auto now = Clock::now();
      for (Session* s : sessions_) s->connection.ExpireIfLate(now);
    }
  }

  // One thread runs this context and every socket on it, so the reactor's per-socket locks
  // are skipped; other threads only post to it (Stop), which stays locked.
  asio::io_context io_{BOOST_ASIO_CONCURRENCY_HINT_UNSAFE_IO};
  RunState& run_;
  int index_;
  std::mt19937_64 rng_;
  std::vector<Counters> tasks_;
  Histogram latency_at_read_;  // every task's measured latencies, ending at the read
  std::vector<std::vector<std::string>> prerendered_;
  std::vector<Session*> sessions_;
  asio::steady_timer ticker_;
  asio::steady_timer watchdog_;
  asio::steady_timer dispatcher_;
  bool stopping_ = false;

  Histogram interval_latency_;
  std::int64_t interval_requests_ = 0;
  std::int64_t interval_errors_ = 0;
  std::int64_t interval_index_ = 0;

  std::int64_t live_closed_ = 0;
  std::int64_t users_ = 0;
  std::int64_t max_open_ = 0;
  std::int64_t open_sessions_ = 0;
  std::vector<Session*> idle_;
  std::deque<Clock::time_point> backlog_;
  std::int64_t unsent_ = 0;
};

Session::Session(Worker& w, std::int64_t user_number)
    : worker(w),
      connection(w.io().get_executor(), w.run().options.latency_end == LatencyEnd::kArrival),
      timer(w.io()),
      variables(w.run().scenario.initial_variables),
      rng(w.rng()()) {
  render.rng = &rng;
  render.shared = w.run().scenario.shared.get();
  render.user = user_number;
  render.variables = &variables;
  w.Register(*this);
}

Session::~Session() { worker.Unregister(*this); }

asio::ip::tcp::endpoint Resolve(const Target& target) {
  asio::io_context io;
  asio::ip::tcp::resolver resolver(io);
  boost::system::error_code ec;
  auto results = resolver.resolve(target.host, std::to_string(target.port), ec);
  if (ec || results.empty()) {
    throw std::runtime_error("cannot resolve " + target.host + ": " + ec.message());
  }
  return results.begin()->endpoint();
}

}  // namespace

core::Result<Target, std::string> ParseTarget(std::string_view url) {
  const auto parsed = boost::urls::parse_uri(url);
  if (!parsed) {
    return core::Unexpected<std::string>{std::string("not a URL: \"") + std::string(url) +
                                         "\" (expected http://HOST[:PORT]/PATH)"};
  }
  if (parsed->scheme() != "http") {
    return core::Unexpected<std::string>{std::string("only http:// URLs are supported, not \"") +
                                         std::string(parsed->scheme()) + "://\""};
  }
  Target t;
  if (parsed->host_type() == boost::urls::host_type::ipv6) {
    t.host = std::string(parsed->host_address());
  } else {
    t.host = std::string(parsed->host());
  }
  if (t.host.empty())
    return core::Unexpected<std::string>{std::string("the URL has no host: ") + std::string(url)};
  if (parsed->has_port()) {
    const auto port = parsed->port_number();
    if (port == 0)
      return core::Unexpected<std::string>{std::string("bad port in ") + std::string(url)};
    t.port = port;
  }
  t.host_header = std::string(parsed->encoded_host_and_port());
  t.path = std::string(parsed->encoded_resource());
  if (t.path.empty() || t.path[0] != '/') t.path.insert(0, "/");
  return t;
}

RunResult Run(const EngineOptions& options, const Scenario& scenario,
              const std::function<void(const Progress&)>& on_progress,
              const std::function<bool()>& stop_requested) {
  const int threads = std::max(options.threads, 1);
  RunState run(options, scenario, threads);
  run.endpoint = Resolve(options.target);

  const auto interval = std::chrono::duration_cast<Clock::duration>(options.interval);
  // Everyone starts together, a moment from now, so no thread begins before the others exist.
  run.start = Clock::now() + std::chrono::milliseconds(50);
  auto ramp = Clock::duration::zero();
  if (options.mode == Mode::kUsers && options.users > 1) {
    ramp = std::chrono::duration_cast<Clock::duration>(
        std::chrono::duration<double>(static_cast<double>(options.users - 1) / options.spawn_rate));
  }
  // The measured part starts on an interval boundary, so the timeline's warm-up intervals
  // and the totals agree.
  const auto lead = ramp + std::chrono::duration_cast<Clock::duration>(options.warmup);
  const auto lead_intervals = (lead.count() + interval.count() - 1) / interval.count();
  run.measure_start = run.start + interval * lead_intervals;
  run.measure_end = options.total_requests > 0 && options.mode == Mode::kClosed
                        ? Clock::time_point::max()
                        : run.measure_start + options.duration;

  std::vector<std::unique_ptr<Worker>> workers;
  workers.reserve(static_cast<std::size_t>(threads));
  for (int i = 0; i < threads; ++i) workers.push_back(std::make_unique<Worker>(run, i));
  std::vector<std::thread> pool;
  pool.reserve(workers.size());
  for (auto& w : workers) {
    pool.emplace_back([&w] {
      w->Start();
      w->io().run();
    });
  }

  RunResult result;
  Histogram measured;  // for the progress line's "p99 so far"
  std::int64_t measured_requests = 0;
  std::int64_t measured_errors = 0;
  std::int64_t index = 0;
  auto finished_at = Clock::time_point::max();
  const auto done = [&] {
    const auto now = Clock::now();
    if (now >= run.measure_end) return true;
    if (options.mode == Mode::kClosed && options.total_requests > 0 &&
        run.workers_idle.load() >= threads) {
      return true;
    }
    return stop_requested && stop_requested();
  };
  const auto collect = [&](std::int64_t i, Clock::time_point wait_until, Clock::time_point end) {
    auto slot = run.board.Take(i, wait_until);
    IntervalSample sample;
    const auto from = run.start + interval * i;
    sample.start_s = std::chrono::duration<double>(from - run.start).count();
    sample.length_s = std::chrono::duration<double>(std::min(end, from + interval) - from).count();
    sample.warmup = from < run.measure_start;
    sample.requests = slot->requests;
    sample.errors = slot->errors;
    sample.p50_us = slot->latency.ValueAtPercentile(50);
    sample.p90_us = slot->latency.ValueAtPercentile(90);
    sample.p99_us = slot->latency.ValueAtPercentile(99);
    sample.max_us = slot->latency.Max();
    sample.users = slot->users;
    sample.connections = slot->connections;
    if (!sample.warmup) {
      measured.Merge(slot->latency);
      measured_requests += slot->requests;
      measured_errors += slot->errors;
    }
    result.timeline.push_back(sample);
    if (on_progress) {
      Progress p;
      p.elapsed_s = sample.start_s + sample.length_s;
      p.warmup = sample.warmup;
      p.users = sample.users;
      p.connections = sample.connections;
      p.requests_per_second =
          sample.length_s > 0 ? static_cast<double>(sample.requests) / sample.length_s : 0;
      p.p99_us = measured.ValueAtPercentile(99);
      p.errors = measured_errors;
      p.requests = measured_requests;
      on_progress(p);
    }
  };

  for (;;) {
    if (done()) {
      finished_at = Clock::now();
      break;
    }
    const auto boundary = run.start + interval * (index + 1);
    if (Clock::now() >= boundary + std::chrono::milliseconds(20)) {
      collect(index, Clock::now() + std::chrono::seconds(2), boundary);
      ++index;
      continue;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  for (auto& w : workers) {
    Worker* raw = w.get();
    asio::post(raw->io(), [raw] { raw->Stop(); });
  }
  for (auto& t : pool) t.join();
  // Every worker handed in its last, partial interval on Stop.
  const auto last = (finished_at - run.start) / interval;
  for (; index <= last; ++index) collect(index, Clock::now(), finished_at);

  result.mode = options.mode == Mode::kClosed ? "closed"
                : options.mode == Mode::kOpen ? "open"
                                              : "users";
  result.threads = threads;
  result.connections = options.connections;
  result.users = options.users;
  result.spawn_rate = options.spawn_rate;
  if (options.rate) result.rate = options.rate->Describe();
  result.warmup_s = std::chrono::duration<double>(run.measure_start - run.start).count();
  const auto measured_until = std::min(finished_at, run.measure_end);
  result.duration_s =
      std::max(0.0, std::chrono::duration<double>(measured_until - run.measure_start).count());
  result.tasks.reserve(scenario.tasks.size());
  for (std::size_t t = 0; t < scenario.tasks.size(); ++t) {
    Counters c;
    for (const auto& w : workers) c.Merge(w->tasks()[t]);
    result.total.Merge(c);
    result.tasks.emplace_back(scenario.tasks[t].name, std::move(c));
  }
  for (const auto& w : workers) {
    result.latency_at_read.Merge(w->latency_at_read());
    result.unsent += w->unsent();
  }
  result.latency_end = options.latency_end == LatencyEnd::kArrival ? "arrival" : "read";
  if (options.latency_end == LatencyEnd::kRead) result.latency_at_read = result.total.latency;
  result.total.requests += result.unsent;
  result.total.errors[static_cast<std::size_t>(ErrorKind::kTimeout)] += result.unsent;
  if (options.mode == Mode::kUsers) {
    std::int64_t peak = 0;
    for (const auto& s : result.timeline) peak = std::max(peak, s.connections);
    result.connections = peak;
  }
  return result;
}

}  // namespace myriad::load

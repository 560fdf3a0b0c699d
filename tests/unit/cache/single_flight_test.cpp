#include "cache/single_flight.hpp"

#include <gtest/gtest.h>

#include <array>
#include <atomic>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/redirect_error.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <stdexcept>
#include <thread>
#include <vector>

#include "support/coro_test.hpp"

namespace myriad::cache {
namespace {

namespace asio = boost::asio;
using Flight = SingleFlight<int>;
constexpr int kAbandoned = -1;

// A timer a load waits on until the test opens it. Used on one thread only.
class Gate {
 public:
  explicit Gate(const asio::any_io_executor& executor)
      : timer_(executor, asio::steady_timer::time_point::max()) {}
  asio::awaitable<void> Wait() {
    while (!open_) {
      boost::system::error_code ignored;
      co_await timer_.async_wait(asio::redirect_error(asio::use_awaitable, ignored));
    }
  }
  void Open() {
    open_ = true;
    timer_.cancel();
  }

 private:
  asio::steady_timer timer_;
  bool open_ = false;
};

// One call of Run() and what it saw.
struct Caller {
  bool entered = false;  // set just before Run(), which runs to its first suspension at once
  bool joined = false;
  bool done = false;
  bool threw = false;
  int result = 0;
};

void Start(const asio::any_io_executor& executor, Flight& flight, std::int64_t key,
           const Flight::Load& load, Caller& caller) {
  asio::co_spawn(
      executor,
      [&flight, key, &load, &caller]() -> asio::awaitable<void> {
        caller.entered = true;
        try {
          caller.result = co_await flight.Run(key, load, kAbandoned, &caller.joined);
        } catch (const std::runtime_error&) {
          caller.threw = true;
        }
        caller.done = true;
      },
      asio::detached);
}

// Lets the other coroutines on this (single-threaded) io_context run until `ready`.
asio::awaitable<void> Until(const asio::any_io_executor& executor,
                            const std::function<bool()>& ready) {
  while (!ready()) co_await asio::post(executor, asio::use_awaitable);
}

TEST(SingleFlightTest, ConcurrentCallersOfOneKeyShareOneLoad) {
  constexpr std::size_t kCallers = 50;
  Flight flight;
  int loads = 0;
  std::array<Caller, kCallers> callers;
  myriad::testing::RunIo([&](asio::any_io_executor ex) -> asio::awaitable<void> {
    Gate gate(ex);
    const Flight::Load load = [&]() -> asio::awaitable<int> {
      ++loads;
      co_await gate.Wait();
      co_return 42;
    };
    for (Caller& c : callers) Start(ex, flight, 7, load, c);
    co_await Until(ex, [&] {
      for (const Caller& c : callers) {
        if (!c.entered) return false;
      }
      return true;
    });
    EXPECT_EQ(loads, 1);
    EXPECT_EQ(flight.in_flight(), 1U);
    gate.Open();
    co_await Until(ex, [&] {
      for (const Caller& c : callers) {
        if (!c.done) return false;
      }
      return true;
    });
  });
  EXPECT_EQ(loads, 1);
  std::size_t joined = 0;
  for (const Caller& c : callers) {
    EXPECT_TRUE(c.done);
    EXPECT_FALSE(c.threw);
    EXPECT_EQ(c.result, 42);
    if (c.joined) ++joined;
  }
  EXPECT_EQ(joined, kCallers - 1);
  EXPECT_FALSE(callers[0].joined);  // the first caller led
  EXPECT_EQ(flight.in_flight(), 0U);
}

TEST(SingleFlightTest, DifferentKeysLoadIndependently) {
  Flight flight;
  int loads_1 = 0;
  int loads_2 = 0;
  std::array<Caller, 3> for_1;
  std::array<Caller, 3> for_2;
  myriad::testing::RunIo([&](asio::any_io_executor ex) -> asio::awaitable<void> {
    Gate gate_1(ex);
    Gate gate_2(ex);
    const Flight::Load load_1 = [&]() -> asio::awaitable<int> {
      ++loads_1;
      co_await gate_1.Wait();
      co_return 100;
    };
    const Flight::Load load_2 = [&]() -> asio::awaitable<int> {
      ++loads_2;
      co_await gate_2.Wait();
      co_return 200;
    };
    for (std::size_t i = 0; i < 3; ++i) {
      Start(ex, flight, 1, load_1, for_1[i]);
      Start(ex, flight, 2, load_2, for_2[i]);
    }
    co_await Until(ex, [&] { return for_1[2].entered && for_2[2].entered; });
    EXPECT_EQ(flight.in_flight(), 2U);
    // Key 2 completes while key 1 is still loading.
    gate_2.Open();
    co_await Until(ex, [&] { return for_2[0].done && for_2[1].done && for_2[2].done; });
    EXPECT_FALSE(for_1[0].done || for_1[1].done || for_1[2].done);
    EXPECT_EQ(flight.in_flight(), 1U);
    gate_1.Open();
    co_await Until(ex, [&] { return for_1[0].done && for_1[1].done && for_1[2].done; });
  });
  EXPECT_EQ(loads_1, 1);
  EXPECT_EQ(loads_2, 1);
  for (std::size_t i = 0; i < 3; ++i) {
    EXPECT_EQ(for_1[i].result, 100) << i;
    EXPECT_EQ(for_2[i].result, 200) << i;
    EXPECT_EQ(for_1[i].joined, i != 0) << i;
    EXPECT_EQ(for_2[i].joined, i != 0) << i;
  }
  EXPECT_EQ(flight.in_flight(), 0U);
}

TEST(SingleFlightTest, ForgetMakesLaterCallersStartANewLoad) {
  Flight flight;
  int loads = 0;
  Caller leader_1;
  Caller before_forget;
  Caller leader_2;
  Caller after_forget;
  Caller after_first_landed;
  myriad::testing::RunIo([&](asio::any_io_executor ex) -> asio::awaitable<void> {
    Gate gate_1(ex);
    Gate gate_2(ex);
    const Flight::Load load = [&]() -> asio::awaitable<int> {
      const int n = ++loads;
      co_await (n == 1 ? gate_1 : gate_2).Wait();
      co_return n;
    };
    Start(ex, flight, 5, load, leader_1);
    co_await Until(ex, [&] { return leader_1.entered; });
    Start(ex, flight, 5, load, before_forget);
    co_await Until(ex, [&] { return before_forget.entered; });
    EXPECT_EQ(loads, 1);

    flight.Forget(5);  // a write happened
    EXPECT_EQ(flight.in_flight(), 0U);

    Start(ex, flight, 5, load, leader_2);
    co_await Until(ex, [&] { return leader_2.entered; });
    EXPECT_EQ(loads, 2);
    Start(ex, flight, 5, load, after_forget);
    co_await Until(ex, [&] { return after_forget.entered; });

    gate_1.Open();
    co_await Until(ex, [&] { return leader_1.done && before_forget.done; });
    EXPECT_FALSE(leader_2.done || after_forget.done);
    // The first load landing must not unregister the second one.
    EXPECT_EQ(flight.in_flight(), 1U);
    Start(ex, flight, 5, load, after_first_landed);
    co_await Until(ex, [&] { return after_first_landed.entered; });
    EXPECT_EQ(loads, 2);

    gate_2.Open();
    co_await Until(ex,
                   [&] { return leader_2.done && after_forget.done && after_first_landed.done; });
  });
  EXPECT_EQ(loads, 2);
  EXPECT_FALSE(leader_1.joined);
  EXPECT_EQ(leader_1.result, 1);
  EXPECT_TRUE(before_forget.joined);
  EXPECT_EQ(before_forget.result, 1);
  EXPECT_FALSE(leader_2.joined);
  EXPECT_EQ(leader_2.result, 2);
  EXPECT_TRUE(after_forget.joined);
  EXPECT_EQ(after_forget.result, 2);
  EXPECT_TRUE(after_first_landed.joined);
  EXPECT_EQ(after_first_landed.result, 2);
  EXPECT_EQ(flight.in_flight(), 0U);
}

TEST(SingleFlightTest, ThrowingLoadGivesWaitersAbandonedAndPropagatesToTheLeader) {
  Flight flight;
  int loads = 0;
  Caller leader;
  std::array<Caller, 3> waiters;
  Caller next;
  myriad::testing::RunIo([&](asio::any_io_executor ex) -> asio::awaitable<void> {
    Gate gate(ex);
    const Flight::Load load = [&]() -> asio::awaitable<int> {
      const int n = ++loads;
      co_await gate.Wait();
      if (n == 1) throw std::runtime_error("database down");
      co_return 7;
    };
    Start(ex, flight, 3, load, leader);
    co_await Until(ex, [&] { return leader.entered; });
    for (Caller& w : waiters) Start(ex, flight, 3, load, w);
    co_await Until(ex, [&] { return waiters[2].entered; });
    gate.Open();
    co_await Until(
        ex, [&] { return leader.done && waiters[0].done && waiters[1].done && waiters[2].done; });
    EXPECT_EQ(flight.in_flight(), 0U);
    // Nothing of the failure sticks: the next caller loads afresh.
    Start(ex, flight, 3, load, next);
    co_await Until(ex, [&] { return next.done; });
  });
  EXPECT_TRUE(leader.threw);
  EXPECT_FALSE(leader.joined);
  for (const Caller& w : waiters) {
    EXPECT_TRUE(w.joined);
    EXPECT_FALSE(w.threw);
    EXPECT_EQ(w.result, kAbandoned);
  }
  EXPECT_EQ(loads, 2);
  EXPECT_FALSE(next.joined);
  EXPECT_FALSE(next.threw);
  EXPECT_EQ(next.result, 7);
  EXPECT_EQ(flight.in_flight(), 0U);
}

TEST(SingleFlightTest, CompletedLoadIsNotCached) {
  Flight flight;
  int loads = 0;
  myriad::testing::RunIo([&](asio::any_io_executor) -> asio::awaitable<void> {
    const Flight::Load load = [&]() -> asio::awaitable<int> { co_return ++loads * 10; };
    bool joined = true;
    EXPECT_EQ(co_await flight.Run(9, load, kAbandoned, &joined), 10);
    EXPECT_FALSE(joined);
    EXPECT_EQ(flight.in_flight(), 0U);
    joined = true;
    EXPECT_EQ(co_await flight.Run(9, load, kAbandoned, &joined), 20);
    EXPECT_FALSE(joined);
    EXPECT_EQ(co_await flight.Run(9, load, kAbandoned), 30);  // `joined` is optional
  });
  EXPECT_EQ(loads, 3);
  EXPECT_EQ(flight.in_flight(), 0U);
}

// Polls `ready` for up to 30 s (the other threads do the work).
bool WaitFor(const std::function<bool()>& ready) {
  const auto until = std::chrono::steady_clock::now() + std::chrono::seconds(30);
  while (!ready()) {
    if (std::chrono::steady_clock::now() > until) return false;
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  return true;
}

TEST(SingleFlightTest, WaitersOnAnotherIoThreadAreResumedOnTheirOwnThread) {
  constexpr std::size_t kWaiters = 10;
  // Declared before the io_contexts, which may destroy unfinished coroutines that use them.
  Flight flight;
  std::atomic<int> loads{0};
  std::atomic<std::thread::id> load_thread;
  struct Seen {
    int result = 0;
    bool joined = false;
    std::thread::id resumed_on;
  };
  Seen leader;
  std::array<Seen, kWaiters> waiters;
  std::atomic<std::size_t> entered{0};
  std::atomic<std::size_t> done{0};

  asio::io_context io_b(1);
  asio::io_context io_a(1);
  auto work_a = asio::make_work_guard(io_a);
  auto work_b = asio::make_work_guard(io_b);
  std::thread thread_a([&] { io_a.run(); });
  std::thread thread_b([&] { io_b.run(); });
  const std::thread::id id_a = thread_a.get_id();
  const std::thread::id id_b = thread_b.get_id();

  Gate gate(io_a.get_executor());  // used on thread a only
  const Flight::Load load = [&]() -> asio::awaitable<int> {
    ++loads;
    load_thread = std::this_thread::get_id();
    co_await gate.Wait();
    co_return 42;
  };
  const auto call = [&](Seen& seen) -> asio::awaitable<void> {
    ++entered;
    seen.result = co_await flight.Run(11, load, kAbandoned, &seen.joined);
    seen.resumed_on = std::this_thread::get_id();
    ++done;
  };

  asio::co_spawn(io_a, call(leader), asio::detached);
  EXPECT_TRUE(WaitFor([&] { return loads.load() == 1; }));
  for (Seen& w : waiters) asio::co_spawn(io_b, call(w), asio::detached);
  EXPECT_TRUE(WaitFor([&] { return entered.load() == kWaiters + 1; }));
  // io_b runs one handler at a time: once this one ran, every waiter has registered.
  std::atomic<bool> b_drained{false};
  asio::post(io_b, [&] { b_drained = true; });
  EXPECT_TRUE(WaitFor([&] { return b_drained.load(); }));
  EXPECT_EQ(done.load(), 0U);

  asio::post(io_a, [&] { gate.Open(); });
  EXPECT_TRUE(WaitFor([&] { return done.load() == kWaiters + 1; }));

  work_a.reset();
  work_b.reset();
  io_a.stop();
  io_b.stop();
  thread_a.join();
  thread_b.join();

  EXPECT_EQ(loads.load(), 1);
  EXPECT_EQ(load_thread.load(), id_a);
  EXPECT_EQ(leader.result, 42);
  EXPECT_FALSE(leader.joined);
  EXPECT_EQ(leader.resumed_on, id_a);
  for (const Seen& w : waiters) {
    EXPECT_EQ(w.result, 42);
    EXPECT_TRUE(w.joined);
    EXPECT_EQ(w.resumed_on, id_b);
  }
  EXPECT_EQ(flight.in_flight(), 0U);
}

}  // namespace
}  // namespace myriad::cache

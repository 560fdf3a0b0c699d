#pragma once

#include <gtest/gtest.h>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/awaitable.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <chrono>
#include <exception>
#include <functional>
#include <optional>
#include <stdexcept>
#include <utility>

// ASSERT_* returns from a function; a coroutine must co_return instead.
#define CO_ASSERT_TRUE(cond)                          \
  do {                                                \
    if (!(cond)) {                                    \
      ADD_FAILURE() << "assertion failed: " << #cond; \
      co_return;                                      \
    }                                                 \
  } while (false)

namespace myriad::testing {

/// Runs `body` as a coroutine on a single-threaded io_context, as an io thread would, and
/// fails the test if it has not finished within `limit`. Rethrows what the body threw.
inline void RunIo(
    const std::function<boost::asio::awaitable<void>(boost::asio::any_io_executor)>& body,
    std::chrono::seconds limit = std::chrono::seconds(60)) {
  boost::asio::io_context ctx(BOOST_ASIO_CONCURRENCY_HINT_UNSAFE_IO);
  bool finished = false;
  std::exception_ptr failure;
  boost::asio::co_spawn(ctx, body(ctx.get_executor()), [&](std::exception_ptr e) {
    failure = e;
    finished = true;
  });
  ctx.run_for(limit);
  ASSERT_TRUE(finished) << "test coroutine did not finish within " << limit.count() << "s";
  if (failure) std::rethrow_exception(failure);
}

/// Suspends the calling coroutine for `d` (its io_context keeps running).
inline boost::asio::awaitable<void> SleepFor(std::chrono::milliseconds d) {
  boost::asio::steady_timer timer(co_await boost::asio::this_coro::executor, d);
  (void)co_await timer.async_wait(boost::asio::as_tuple(boost::asio::use_awaitable));
}

/// Runs `body` on an io_context of its own on the calling thread (as the `migrate` and
/// `seed` commands do) and returns its result; throws if it fails or takes over 120 s.
template <class T>
T RunOnOwnLoop(std::function<boost::asio::awaitable<T>(boost::asio::any_io_executor)> body) {
  boost::asio::io_context io(1);
  std::optional<T> out;
  std::exception_ptr failure;
  boost::asio::co_spawn(
      io, [&]() -> boost::asio::awaitable<void> { out.emplace(co_await body(io.get_executor())); },
      [&failure](std::exception_ptr e) { failure = std::move(e); });
  io.run_for(std::chrono::seconds(120));
  if (failure) std::rethrow_exception(failure);
  if (!out) throw std::runtime_error("the coroutine did not finish within 120s");
  return std::move(*out);
}

}  // namespace myriad::testing

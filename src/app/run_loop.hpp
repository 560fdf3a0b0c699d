#pragma once

#include <boost/asio/awaitable.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <exception>
#include <optional>
#include <utility>

#include "config/database_settings.hpp"
#include "db/pg_pool.hpp"

namespace myriad::app {

/// Runs `work` on `io` (on the calling thread) until it is done and returns its result;
/// rethrows what it threw. For the command-line subcommands, which own their loop. Runs
/// until this step is done rather than until the loop runs out of work: open database
/// connections keep their read loops, and so the io_context, busy for as long as they live.
template <class T>
std::optional<T> RunLoop(boost::asio::io_context& io, boost::asio::awaitable<T> work) {
  std::optional<T> outcome;
  std::exception_ptr failure;
  boost::asio::co_spawn(
      io,
      [&outcome, work = std::move(work)]() mutable -> boost::asio::awaitable<void> {
        outcome.emplace(co_await std::move(work));
      },
      [&failure](std::exception_ptr error) { failure = std::move(error); });
  io.restart();
  while (!outcome && !failure && io.run_one() > 0) {
  }
  if (failure) {
    std::rethrow_exception(failure);
  }
  return outcome;
}

/// A one-connection pool for a subcommand's own loop (blocking libpq calls are banned in
/// src/, so commands use the asynchronous client too), timing out as `database` says.
inline db::PoolOptions CommandPoolOptions(const config::DatabaseSettings& database) {
  db::PoolOptions options;
  options.connect.conninfo = database.url;
  options.size = 1;
  options.connect_timeout = database.connect_timeout;
  options.acquire_timeout = database.connect_timeout;
  return options;
}

}  // namespace myriad::app

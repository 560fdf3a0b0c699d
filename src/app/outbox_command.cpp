#include "app/outbox_command.hpp"

#include <fmt/core.h>

#include <CLI/CLI.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <chrono>
#include <exception>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <utility>

#include "app/run_loop.hpp"
#include "core/result.hpp"
#include "db/pg_pool.hpp"

namespace myriad::app {
namespace {

namespace asio = boost::asio;
using Clock = db::PgPool::Clock;
using ListResult = core::Result<std::vector<accounts::OutboxEntry>, std::string>;

constexpr auto kQueryTimeout = std::chrono::seconds(30);
constexpr std::size_t kMaxLimit = 1000;
constexpr std::string_view kBodyIndent = "    ";
constexpr std::string_view kUndefinedTable = "42P01";

asio::awaitable<ListResult> List(db::PgPool& pool, std::size_t limit) {
  auto entries =
      co_await accounts::AccountStore(pool).ListOutbox(limit, Clock::now() + kQueryTimeout);
  if (!entries) {
    if (entries.error().db.Is(kUndefinedTable)) {
      co_return core::Unexpected<std::string>{
          "the outbox table is missing: run `myriad migrate` first"};
    }
    co_return core::Unexpected<std::string>{"cannot read the outbox: " +
                                            entries.error().db.message};
  }
  co_return std::move(*entries);
}

}  // namespace

void AddOutboxListOptions(CLI::App& app, OutboxListSettings& settings) {
  config::AddDatabaseOptions(app, settings.database);
  app.add_option("--limit", settings.limit, "Messages to show, newest first")
      ->capture_default_str()
      ->check(CLI::Range(std::size_t{1}, kMaxLimit));
}

std::string FormatOutbox(const std::vector<accounts::OutboxEntry>& entries) {
  if (entries.empty()) {
    return "(no messages)\n";
  }
  std::string out;
  for (const auto& entry : entries) {
    if (!out.empty()) {
      out += '\n';
    }
    out += fmt::format("#{} {} {} to {}", entry.id, entry.created_at, entry.kind, entry.recipient);
    if (entry.sent_at) {
      out += fmt::format(", sent {}", *entry.sent_at);
    }
    out += fmt::format("\nsubject: {}\n", entry.subject);
    std::string_view body = entry.body;
    while (!body.empty()) {
      const auto end = body.find('\n');
      out += kBodyIndent;
      out += body.substr(0, end);
      out += '\n';
      body = end == std::string_view::npos ? std::string_view() : body.substr(end + 1);
    }
  }
  return out;
}

int RunOutboxList(const OutboxListSettings& settings) {
  try {
    config::RequireDatabaseUrl(settings.database);
  } catch (const std::invalid_argument& error) {
    fmt::print(stderr, "myriad outbox list: {}\n", error.what());
    return 1;
  }

  asio::io_context io(1);
  db::PgPool pool(io.get_executor(), CommandPoolOptions(settings.database));
  auto listed = RunLoop(io, List(pool, settings.limit));
  if (!listed || !*listed) {
    fmt::print(stderr, "myriad outbox list: {}\n",
               listed ? listed->error() : std::string("the query did not finish"));
    return 1;
  }
  fmt::print("{}", FormatOutbox(**listed));
  return 0;
}

}  // namespace myriad::app

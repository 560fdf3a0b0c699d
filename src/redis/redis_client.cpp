#include "redis/redis_client.hpp"

#include <spdlog/spdlog.h>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <optional>
#include <random>
#include <unordered_map>
#include <utility>

#include "redis/redis_connection.hpp"
#include "redis/redis_metrics.hpp"

namespace myriad::redis {
namespace asio = boost::asio;
using Clock = RedisClient::Clock;

namespace {
constexpr auto kAsTuple = asio::as_tuple(asio::use_awaitable);
}  // namespace

struct RedisClient::State {
  struct Slot {
    explicit Slot(const asio::any_io_executor& ex) : wake(ex) {}
    std::optional<RedisConnection> conn;
    asio::steady_timer wake;  // backoff waits, and "wait until closed" while up
  };

  State(asio::any_io_executor executor, ClientOptions opts)
      : ex(std::move(executor)), options(std::move(opts)), rng(std::random_device{}()) {
    slots.reserve(options.connections);
    for (std::size_t i = 0; i < options.connections; ++i) slots.emplace_back(ex);
  }

  static asio::awaitable<void> Maintain(std::shared_ptr<State> self, std::size_t index);
  static asio::awaitable<RedisResult<Reply>> Run(std::shared_ptr<State> state, Command command,
                                                 Clock::time_point deadline);
  asio::awaitable<bool> Prepare(RedisConnection& conn, Clock::time_point deadline);
  RedisConnection* Pick();
  void Publish();
  Clock::duration Jittered(std::chrono::milliseconds backoff);

  asio::any_io_executor ex;
  ClientOptions options;
  std::vector<Slot> slots;
  std::unordered_map<const Script*, std::string> shas;
  std::mt19937 rng;
  bool stopped = false;
  bool ever_up = false;
  bool reported_down = false;
};

void RedisClient::State::Publish() {
  if (!options.metrics) return;
  std::size_t up = 0;
  std::size_t in_flight = 0;
  for (const auto& slot : slots) {
    if (slot.conn && slot.conn->usable()) {
      ++up;
      in_flight += slot.conn->in_flight();
    }
  }
  auto& m = *options.metrics;
  m.set.Set(options.metrics_shard, m.up, up);
  m.set.Set(options.metrics_shard, m.down, slots.size() - up);
  m.set.Set(options.metrics_shard, m.in_flight, in_flight);
}

Clock::duration RedisClient::State::Jittered(std::chrono::milliseconds backoff) {
  // Full jitter in [backoff/2, backoff]: replicas that lost Redis together do not all
  // knock at the same instant.
  std::uniform_int_distribution<long long> pick(backoff.count() / 2, backoff.count());
  return std::chrono::milliseconds(pick(rng));
}

asio::awaitable<bool> RedisClient::State::Prepare(RedisConnection& conn,
                                                  Clock::time_point deadline) {
  for (const Script* script : options.scripts) {
    Command load("SCRIPT", "LOAD", script->source);
    auto reply = co_await conn.Run(std::move(load), deadline);
    if (!reply || !reply->IsString()) {
      spdlog::warn("redis: SCRIPT LOAD failed: {}",
                   reply ? reply->str : std::string(ToString(reply.error().kind)));
      co_return false;
    }
    shas[script] = reply->str;
  }
  if (options.on_connect) {
    auto setup = options.on_connect();
    for (auto& command : setup.commands) {
      auto reply = co_await conn.Run(std::move(command), deadline);
      if (!reply) co_return false;
    }
    if (setup.done) setup.done();
  }
  co_return true;
}

asio::awaitable<void> RedisClient::State::Maintain(std::shared_ptr<State> self, std::size_t index) {
  auto backoff = self->options.backoff_min;
  const std::string where = Describe(self->options.endpoint);
  while (!self->stopped) {
    const auto deadline = Clock::now() + self->options.connect_timeout;
    auto conn = co_await RedisConnection::Connect(self->ex, self->options.endpoint, deadline);
    if (self->stopped) co_return;
    std::optional<RedisError> failure;
    if (!conn) {
      failure = conn.error();
    } else if (!co_await self->Prepare(*conn, deadline)) {
      failure = RedisError{RedisErrorKind::kConnection, "setting up the connection failed"};
    }
    if (self->stopped) co_return;
    auto* metrics = self->options.metrics.get();
    if (failure) {
      if (metrics) metrics->set.Add(self->options.metrics_shard, metrics->connect_failures);
      if (!self->reported_down) {
        self->reported_down = true;
        spdlog::warn(
            "redis: cannot reach {}: {} ({}); serving without it (cache reads go to the "
            "database, rate limits are kept locally) and retrying in the background",
            where, failure->message, ToString(failure->kind));
      }
      auto& slot = self->slots[index];
      slot.wake.expires_after(self->Jittered(backoff));
      (void)co_await slot.wake.async_wait(kAsTuple);
      backoff = std::min(backoff * 2, self->options.backoff_max);
      continue;
    }
    backoff = self->options.backoff_min;
    if (self->reported_down || !self->ever_up) {
      spdlog::info("redis: connected to {}", where);
    }
    self->reported_down = false;
    self->ever_up = true;
    if (metrics) metrics->set.Add(self->options.metrics_shard, metrics->connects);
    auto& slot = self->slots[index];
    slot.conn.emplace(std::move(*conn));
    std::weak_ptr<State> weak = self;
    slot.conn->OnClose([weak, index] {
      if (auto s = weak.lock()) s->slots[index].wake.cancel();
    });
    self->Publish();
    slot.wake.expires_at(Clock::time_point::max());
    (void)co_await slot.wake.async_wait(kAsTuple);
    if (self->stopped) co_return;
    slot.conn.reset();
    self->Publish();
    // Reconnect at once: a single lost connection (Redis restarted, a timeout) is usually
    // followed by a good one; the backoff starts if that fails.
  }
}

RedisConnection* RedisClient::State::Pick() {
  RedisConnection* best = nullptr;
  for (auto& slot : slots) {
    if (!slot.conn || !slot.conn->usable()) continue;
    if (best == nullptr || slot.conn->in_flight() < best->in_flight()) best = &*slot.conn;
  }
  return best;
}

RedisClient::RedisClient(asio::any_io_executor executor, ClientOptions options)
    : state_(std::make_shared<State>(std::move(executor), std::move(options))) {
  state_->Publish();
  for (std::size_t i = 0; i < state_->slots.size(); ++i) {
    asio::co_spawn(state_->ex, State::Maintain(state_, i), asio::detached);
  }
}

RedisClient::~RedisClient() {
  state_->stopped = true;
  for (auto& slot : state_->slots) {
    slot.wake.cancel();
    if (slot.conn) {
      slot.conn->OnClose(nullptr);
      slot.conn->Close();
    }
  }
}

asio::awaitable<RedisResult<Reply>> RedisClient::Run(Command command, Clock::time_point deadline) {
  co_return co_await State::Run(state_, std::move(command), deadline);
}

void RedisClient::Send(Command command, Clock::time_point deadline,
                       std::function<void(const RedisResult<Reply>&)> done) {
  auto state = state_;
  const auto executor = state->ex;
  asio::co_spawn(
      executor,
      [](std::shared_ptr<State> s, Command c, Clock::time_point d,
         std::function<void(const RedisResult<Reply>&)> then) -> asio::awaitable<void> {
        auto reply = co_await State::Run(std::move(s), std::move(c), d);
        if (then) then(reply);
      }(std::move(state), std::move(command), deadline, std::move(done)),
      asio::detached);
}

asio::awaitable<RedisResult<Reply>> RedisClient::State::Run(std::shared_ptr<State> state,
                                                            Command command,
                                                            Clock::time_point deadline) {
  // `state`, not the client: the client may be destroyed while this waits.
  auto* metrics = state->options.metrics.get();
  const std::size_t shard = state->options.metrics_shard;
  RedisConnection* conn = state->Pick();
  if (conn == nullptr) {
    if (metrics) {
      metrics->set.Add(shard,
                       metrics->failed[static_cast<std::size_t>(RedisErrorKind::kUnavailable)]);
    }
    co_return MakeRedisError(RedisErrorKind::kUnavailable, "no Redis connection is up");
  }
  const auto started = Clock::now();
  deadline = std::min(deadline, started + state->options.command_timeout);
  auto reply = co_await conn->Run(std::move(command), deadline);
  if (metrics) {
    metrics->set.Observe(shard, metrics->duration,
                         std::chrono::duration<double>(Clock::now() - started).count());
    if (!reply) {
      metrics->set.Add(shard, metrics->failed[static_cast<std::size_t>(reply.error().kind)]);
    } else {
      metrics->set.Add(shard, reply->IsError() ? metrics->error_reply : metrics->ok);
    }
  }
  co_return reply;
}

asio::awaitable<RedisResult<Reply>> RedisClient::Eval(const Script& script,
                                                      std::vector<std::string> keys,
                                                      std::vector<std::string> args,
                                                      Clock::time_point deadline) {
  auto state = state_;
  std::vector<std::string> argv;
  argv.reserve(keys.size() + args.size() + 3);
  const auto sha = state->shas.find(&script);
  const bool by_sha = sha != state->shas.end();
  argv.emplace_back(by_sha ? "EVALSHA" : "EVAL");
  argv.push_back(by_sha ? sha->second : script.source);
  argv.push_back(std::to_string(keys.size()));
  for (auto& k : keys) argv.push_back(std::move(k));
  for (auto& a : args) argv.push_back(std::move(a));
  Command first(argv);
  auto reply = co_await Run(std::move(first), deadline);
  if (by_sha && reply && reply->IsError() && reply->str.starts_with("NOSCRIPT")) {
    argv[0] = "EVAL";
    argv[1] = script.source;
    Command again(argv);
    reply = co_await Run(std::move(again), deadline);
  }
  co_return reply;
}

bool RedisClient::up() const { return state_->Pick() != nullptr; }

std::size_t RedisClient::connections_up() const {
  std::size_t up = 0;
  for (const auto& slot : state_->slots) up += slot.conn && slot.conn->usable() ? 1 : 0;
  return up;
}

}  // namespace myriad::redis

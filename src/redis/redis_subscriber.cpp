#include "redis/redis_subscriber.hpp"

#include <spdlog/spdlog.h>

#include <atomic>
#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <optional>
#include <random>
#include <utility>

#include "redis/redis_connection.hpp"

namespace myriad::redis {
namespace asio = boost::asio;
using Clock = RedisConnection::Clock;

namespace {
constexpr auto kAsTuple = asio::as_tuple(asio::use_awaitable);
}  // namespace

struct RedisSubscriber::State {
  State(asio::any_io_executor executor, SubscriberOptions opts)
      : ex(std::move(executor)), options(std::move(opts)), wake(ex), rng(std::random_device{}()) {}

  static asio::awaitable<void> Run(std::shared_ptr<State> self);
  asio::awaitable<bool> Subscribe(RedisConnection& conn);
  asio::awaitable<void> KeepAlive(RedisConnection& conn);
  void SetLive(bool now_live);
  Clock::duration Jittered(std::chrono::milliseconds backoff);

  asio::any_io_executor ex;
  SubscriberOptions options;
  asio::steady_timer wake;  // backoff waits and ping intervals; cancelled on close or stop
  std::optional<RedisConnection> conn;
  std::mt19937 rng;
  std::atomic<bool> live{false};
  bool stopped = false;
  bool reported_down = false;
};

void RedisSubscriber::State::SetLive(bool now_live) {
  if (live.exchange(now_live) == now_live) return;
  if (options.on_state) options.on_state(now_live);
}

Clock::duration RedisSubscriber::State::Jittered(std::chrono::milliseconds backoff) {
  std::uniform_int_distribution<long long> pick(backoff.count() / 2, backoff.count());
  return std::chrono::milliseconds(pick(rng));
}

asio::awaitable<bool> RedisSubscriber::State::Subscribe(RedisConnection& c) {
  // Messages are routed before the confirmation can arrive, so none is lost in between.
  c.OnPush([this](Reply&& reply) {
    // ["message", channel, payload]: anything shorter is not a message we asked for.
    if (stopped || reply.elements.size() != 3 || !reply.elements[2].IsString()) return;
    if (options.on_message) options.on_message(reply.elements[2].str);
  });
  Command subscribe("SUBSCRIBE", options.channel);
  auto reply = co_await c.Run(std::move(subscribe), Clock::now() + options.command_timeout);
  // The confirmation is ["subscribe", channel, count].
  co_return reply && reply->type == Reply::Type::kArray && reply->elements.size() == 3 &&
      reply->elements[0].str == "subscribe";
}

asio::awaitable<void> RedisSubscriber::State::KeepAlive(RedisConnection& c) {
  while (!stopped && c.usable()) {
    wake.expires_after(options.ping_interval);
    (void)co_await wake.async_wait(kAsTuple);
    if (stopped || !c.usable()) co_return;
    // In subscriber mode PING answers ["pong", ""]; any reply proves the link.
    Command ping("PING");
    auto reply = co_await c.Run(std::move(ping), Clock::now() + options.command_timeout);
    if (!reply) co_return;  // a timeout has closed the connection already
  }
}

asio::awaitable<void> RedisSubscriber::State::Run(std::shared_ptr<State> self) {
  auto backoff = self->options.backoff_min;
  const std::string where = Describe(self->options.endpoint);
  while (!self->stopped) {
    auto connected = co_await RedisConnection::Connect(
        self->ex, self->options.endpoint, Clock::now() + self->options.connect_timeout);
    if (self->stopped) co_return;
    bool subscribed = false;
    if (connected) {
      self->conn.emplace(std::move(*connected));
      self->conn->OnClose([weak = std::weak_ptr<State>(self)] {
        if (auto s = weak.lock()) s->wake.cancel();
      });
      subscribed = co_await self->Subscribe(*self->conn);
      if (self->stopped) co_return;
    }
    if (subscribed) {
      backoff = self->options.backoff_min;
      if (self->reported_down) spdlog::info("redis: subscribed to {} again", where);
      self->reported_down = false;
      self->SetLive(true);
      co_await self->KeepAlive(*self->conn);
      if (self->stopped) co_return;
    }
    self->SetLive(false);
    self->conn.reset();
    if (!self->reported_down) {
      self->reported_down = true;
      spdlog::warn("redis: subscription to {} lost; retrying in the background", where);
    }
    if (subscribed) continue;  // reconnect at once after a loss; back off after a failure
    self->wake.expires_after(self->Jittered(backoff));
    (void)co_await self->wake.async_wait(kAsTuple);
    backoff = std::min(backoff * 2, self->options.backoff_max);
  }
}

RedisSubscriber::RedisSubscriber(asio::any_io_executor executor, SubscriberOptions options)
    : state_(std::make_shared<State>(std::move(executor), std::move(options))) {
  asio::co_spawn(state_->ex, State::Run(state_), asio::detached);
}

RedisSubscriber::~RedisSubscriber() {
  state_->stopped = true;
  state_->wake.cancel();
  if (state_->conn) state_->conn->Close();
}

bool RedisSubscriber::live() const { return state_->live.load(); }

}  // namespace myriad::redis

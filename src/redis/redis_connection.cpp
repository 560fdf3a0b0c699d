#include "redis/redis_connection.hpp"

#include <array>
#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/connect.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/experimental/awaitable_operators.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>
#include <deque>
#include <optional>
#include <string>
#include <utility>

namespace myriad::redis {
namespace asio = boost::asio;
using boost::system::error_code;
using tcp = asio::ip::tcp;
using Clock = RedisConnection::Clock;

namespace {

constexpr auto kAsTuple = asio::as_tuple(asio::use_awaitable);
constexpr std::size_t kReadChunk = 16 * 1024;
// A deadline whose timer this thread notices later than this was missed because the thread
// was busy (its loop lags), which says nothing about Redis.
constexpr auto kLagTolerance = std::chrono::milliseconds(10);
// ...unless Redis has sent nothing on the connection for this long: then it is stuck
// whatever the thread is doing. (Not the age of the oldest command: under a lagging loop
// that grows with the lag itself, and retired connections in a bench/scale ramp.)
constexpr auto kSilence = std::chrono::seconds(1);

// One command's place in the pipeline.
struct Pending {
  Pending(const asio::any_io_executor& ex, Clock::time_point deadline) : wake(ex, deadline) {}
  asio::steady_timer wake;  // expires at the deadline; cancelled when the reply is in
  bool done = false;
  std::optional<RedisError> error;
  Reply reply;
};

// A message a subscription delivers, as opposed to the reply to a command.
bool IsPush(const Reply& reply) {
  if (reply.type != Reply::Type::kArray || reply.elements.empty()) return false;
  const Reply& kind = reply.elements.front();
  return kind.IsString() && (kind.str == "message" || kind.str == "pmessage");
}

}  // namespace

struct RedisConnection::Impl : std::enable_shared_from_this<Impl> {
  explicit Impl(asio::any_io_executor executor) : ex(std::move(executor)), socket(ex) {}
  ~Impl() { Fail(RedisErrorKind::kConnection, "connection closed"); }
  Impl(const Impl&) = delete;
  Impl& operator=(const Impl&) = delete;

  std::shared_ptr<Pending> Send(const Command& command, Clock::time_point deadline);
  static asio::awaitable<RedisResult<Reply>> Wait(std::shared_ptr<Impl> self,
                                                  std::shared_ptr<Pending> pending);
  static asio::awaitable<void> ReadLoop(std::shared_ptr<Impl> self);
  static asio::awaitable<void> WriteLoop(std::shared_ptr<Impl> self);
  void Deliver();
  void Fail(RedisErrorKind kind, const std::string& message);

  asio::any_io_executor ex;
  tcp::socket socket;
  ReplyReader reader;
  std::deque<std::shared_ptr<Pending>> fifo;
  std::string out;      // encoded commands not yet handed to the socket
  std::string sending;  // what the write loop is writing now
  bool writing = false;
  bool open = false;
  Clock::time_point last_reply = Clock::now();  // when Redis last sent anything here
  std::function<void()> on_close;
  std::function<void(Reply&&)> on_push;
};

std::shared_ptr<Pending> RedisConnection::Impl::Send(const Command& command,
                                                     Clock::time_point deadline) {
  auto pending = std::make_shared<Pending>(ex, deadline);
  fifo.push_back(pending);
  out += command.bytes();
  if (!writing) {
    // Started through the executor, so every command issued in this turn of the loop
    // goes out in one write.
    writing = true;
    asio::co_spawn(ex, WriteLoop(shared_from_this()), asio::detached);
  }
  return pending;
}

asio::awaitable<RedisResult<Reply>> RedisConnection::Impl::Wait(std::shared_ptr<Impl> self,
                                                                std::shared_ptr<Pending> pending) {
  // The reply may be in already (a handshake waits for its steps one after the other).
  if (!pending->done && !pending->error) {
    (void)co_await pending->wake.async_wait(kAsTuple);
  }
  if (pending->done) co_return std::move(pending->reply);
  if (pending->error) co_return core::Unexpected<RedisError>{*pending->error};
  // The deadline passed with the reply still owed: see the class comment. Noticed late, the
  // thread was behind (the command may even have been written late), and closing would fail
  // every other command in flight here: in one bench/scale run a single such timeout failed
  // 1,362 at once and sent their reads to the database at the busiest moment. The command
  // alone is abandoned then (its reply, when it comes, is matched and dropped).
  const auto now = Clock::now();
  const bool behind = now - pending->wake.expiry() > kLagTolerance;
  const bool stuck = now - self->last_reply > kSilence;
  if (!behind || stuck) self->Fail(RedisErrorKind::kConnection, "closed after a command timed out");
  co_return MakeRedisError(RedisErrorKind::kTimeout, "no reply from Redis in time");
}

asio::awaitable<void> RedisConnection::Impl::WriteLoop(std::shared_ptr<Impl> self) {
  while (self->open && !self->out.empty()) {
    self->sending.swap(self->out);
    self->out.clear();
    auto [ec, n] = co_await asio::async_write(self->socket, asio::buffer(self->sending), kAsTuple);
    (void)n;
    self->sending.clear();
    if (ec) {
      self->Fail(RedisErrorKind::kConnection, "write failed: " + ec.message());
      break;
    }
  }
  self->writing = false;
}

asio::awaitable<void> RedisConnection::Impl::ReadLoop(std::shared_ptr<Impl> self) {
  std::array<char, kReadChunk> buffer{};
  while (self->open) {
    auto [ec, n] = co_await self->socket.async_read_some(asio::buffer(buffer), kAsTuple);
    if (!self->open) co_return;
    if (ec) {
      self->Fail(RedisErrorKind::kConnection,
                 ec == asio::error::eof ? "Redis closed the connection" : ec.message());
      co_return;
    }
    if (!self->reader.Feed({buffer.data(), n})) {
      self->Fail(RedisErrorKind::kProtocol, self->reader.error());
      co_return;
    }
    self->Deliver();
  }
}

void RedisConnection::Impl::Deliver() {
  last_reply = Clock::now();  // bytes came in: Redis is alive, whatever they hold
  Reply reply;
  while (reader.Next(reply)) {
    if (on_push && IsPush(reply)) {
      on_push(std::move(reply));
      if (!open) return;  // the handler closed us
      continue;
    }
    if (fifo.empty()) {
      Fail(RedisErrorKind::kProtocol, "a reply nobody asked for");
      return;
    }
    auto pending = std::move(fifo.front());
    fifo.pop_front();
    pending->reply = std::move(reply);
    pending->done = true;
    pending->wake.cancel();
  }
  if (reader.failed()) Fail(RedisErrorKind::kProtocol, reader.error());
}

void RedisConnection::Impl::Fail(RedisErrorKind kind, const std::string& message) {
  const bool was_open = open;
  open = false;
  error_code ignored;
  socket.close(ignored);
  auto waiting = std::move(fifo);
  fifo.clear();
  for (auto& p : waiting) {
    p->error = RedisError{kind, message};
    p->wake.cancel();
  }
  if (was_open && on_close) {
    auto callback = std::move(on_close);
    on_close = nullptr;
    callback();
  }
}

asio::awaitable<RedisResult<RedisConnection>> RedisConnection::Connect(
    asio::any_io_executor executor, const RedisEndpoint& endpoint, Clock::time_point deadline) {
  using namespace asio::experimental::awaitable_operators;
  auto impl = std::make_shared<Impl>(executor);
  if (impl->reader.failed()) co_return MakeRedisError(RedisErrorKind::kConnection, "out of memory");
  tcp::resolver resolver(executor);
  asio::steady_timer timer(executor, deadline);
  const std::string port = std::to_string(endpoint.port);
  auto resolved = co_await (resolver.async_resolve(endpoint.host, port, kAsTuple) ||
                            timer.async_wait(kAsTuple));
  if (resolved.index() != 0) {
    co_return MakeRedisError(RedisErrorKind::kTimeout, "resolving " + endpoint.host + " timed out");
  }
  auto [resolve_ec, results] = std::get<0>(std::move(resolved));
  if (resolve_ec) {
    co_return MakeRedisError(RedisErrorKind::kConnection,
                             "cannot resolve " + endpoint.host + ": " + resolve_ec.message());
  }
  auto connected =
      co_await (asio::async_connect(impl->socket, results, kAsTuple) || timer.async_wait(kAsTuple));
  if (connected.index() != 0) {
    co_return MakeRedisError(RedisErrorKind::kTimeout, "connecting to Redis timed out");
  }
  if (auto ec = std::get<0>(std::get<0>(connected)); ec) {
    co_return MakeRedisError(RedisErrorKind::kConnection, "cannot connect: " + ec.message());
  }
  error_code ignored;
  impl->socket.set_option(tcp::no_delay(true), ignored);
  impl->open = true;
  asio::co_spawn(executor, Impl::ReadLoop(impl), asio::detached);

  // AUTH and SELECT go out together; PING proves the server answers at all.
  std::vector<std::shared_ptr<Pending>> handshake;
  if (!endpoint.password.empty()) {
    const Command auth = endpoint.username.empty()
                             ? Command("AUTH", endpoint.password)
                             : Command("AUTH", endpoint.username, endpoint.password);
    handshake.push_back(impl->Send(auth, deadline));
  }
  if (endpoint.database != 0) {
    const Command select("SELECT", std::to_string(endpoint.database));
    handshake.push_back(impl->Send(select, deadline));
  }
  handshake.push_back(impl->Send(Command("PING"), deadline));
  for (auto& step : handshake) {
    auto reply = co_await Impl::Wait(impl, step);
    if (!reply) co_return core::Unexpected<RedisError>{std::move(reply).error()};
    if (reply->IsError()) {
      impl->Fail(RedisErrorKind::kConnection, reply->str);
      co_return MakeRedisError(RedisErrorKind::kConnection, "Redis refused: " + reply->str);
    }
  }
  co_return RedisConnection(std::move(impl));
}

RedisConnection& RedisConnection::operator=(RedisConnection&& other) noexcept {
  if (this != &other) {
    Close();
    impl_ = std::move(other.impl_);
  }
  return *this;
}

RedisConnection::~RedisConnection() { Close(); }

asio::awaitable<RedisResult<Reply>> RedisConnection::Run(Command command,
                                                         Clock::time_point deadline) {
  if (!usable()) co_return MakeRedisError(RedisErrorKind::kConnection, "connection closed");
  auto pending = impl_->Send(command, deadline);
  co_return co_await Impl::Wait(impl_, std::move(pending));
}

bool RedisConnection::usable() const { return impl_ && impl_->open; }

std::size_t RedisConnection::in_flight() const { return impl_ ? impl_->fifo.size() : 0; }

void RedisConnection::OnClose(std::function<void()> callback) {
  if (impl_) impl_->on_close = std::move(callback);
}

void RedisConnection::OnPush(std::function<void(Reply&&)> handler) {
  if (impl_) impl_->on_push = std::move(handler);
}

void RedisConnection::Close() {
  if (impl_) impl_->Fail(RedisErrorKind::kConnection, "connection closed");
}

}  // namespace myriad::redis

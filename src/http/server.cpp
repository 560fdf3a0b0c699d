#include "http/server.hpp"

#include <spdlog/spdlog.h>

#include <array>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/redirect_error.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>
#include <cassert>
#include <condition_variable>
#include <cstdlib>
#include <cstring>
#include <mutex>
#include <optional>
#include <random>
#include <thread>
#include <unordered_map>
#include <utility>

#include "core/clock.hpp"
#include "http/problem.hpp"
#include "http/request_id.hpp"
#include "http/request_parser.hpp"
#include "http/response_writer.hpp"
#include "metrics/http_metrics.hpp"
#include "metrics/registry.hpp"

namespace myriad::http {
namespace asio = boost::asio;
using tcp = asio::ip::tcp;
using Clock = std::chrono::steady_clock;
using boost::system::error_code;

namespace {

constexpr std::size_t kInitialReadBuffer = 2048;
constexpr std::size_t kKeptOutputCapacity = 16 * 1024;
constexpr auto kNoDeadline = Clock::time_point::max();

// Where a connection is in its life; decides which deadline applies and whether a
// graceful shutdown may close it right away.
enum class Phase { kIdle, kReading, kHandling, kWriting, kLingering };

}  // namespace

// Open connections per client address. Shared by every io thread: each thread has its own
// listener (SO_REUSEPORT), so one client's connections land on several threads. Sharded so
// that accepts on different threads seldom meet on one mutex; an entry goes at zero, so
// the table only holds addresses with open connections (at most --max-connections).
class Server::PerIpConnections {
 public:
  explicit PerIpConnections(std::size_t cap) : cap_(cap), seed_(std::random_device{}()) {}

  /// Counts one more connection from `address`; false (and no count) when it already has
  /// `cap` open. Any thread.
  bool TryAcquire(const net::Ipv6Bytes& address) {
    const std::uint64_t hash = Hash(address);
    Shard& shard = ShardFor(hash);
    std::lock_guard lock(shard.mutex);
    auto it = shard.counts.try_emplace(Key{address, hash}, 0).first;
    if (it->second >= cap_) return false;
    ++it->second;
    return true;
  }

  /// Gives back one connection counted by TryAcquire. Any thread.
  void Release(const net::Ipv6Bytes& address) {
    const std::uint64_t hash = Hash(address);
    Shard& shard = ShardFor(hash);
    std::lock_guard lock(shard.mutex);
    auto it = shard.counts.find(Key{address, hash});
    if (it == shard.counts.end()) [[unlikely]] {
      // Cannot happen: each slot comes from TryAcquire and is given back once (PerIpSlot).
      spdlog::critical("per-IP connection count released twice");
      std::abort();
    }
    if (--it->second == 0) shard.counts.erase(it);
  }

 private:
  static constexpr std::size_t kShards = 64;
  static constexpr int kShardShift = 58;  // the top 6 bits of a hash pick the shard

  struct Key {
    net::Ipv6Bytes address;
    std::uint64_t hash;
    bool operator==(const Key& other) const { return address == other.address; }
  };
  struct KeyHash {
    std::size_t operator()(const Key& key) const noexcept { return key.hash; }
  };
  // A cache line each, so threads working on different shards do not share one.
  struct alignas(64) Shard {
    std::mutex mutex;
    std::unordered_map<Key, std::size_t, KeyHash> counts;
  };

  // Seeded per process: clients choose their addresses (a whole IPv6 /64), and a fixed hash
  // would let them pile every connection into one bucket chain.
  std::uint64_t Hash(const net::Ipv6Bytes& address) const {
    std::uint64_t high = 0;
    std::uint64_t low = 0;
    std::memcpy(&high, address.data(), sizeof(high));
    std::memcpy(&low, address.data() + sizeof(high), sizeof(low));
    std::uint64_t h = (high ^ seed_) * 0x9e3779b97f4a7c15ULL;
    h = (h ^ (h >> 32) ^ low) * 0xbf58476d1ce4e5b9ULL;
    return h ^ (h >> 31);
  }
  Shard& ShardFor(std::uint64_t hash) { return shards_[hash >> kShardShift]; }

  const std::size_t cap_;
  const std::uint64_t seed_;
  std::array<Shard, kShards> shards_;
};

// Holds one of a client address's connection slots; the session owns it, so the slot is
// given back on every way out, including a session destroyed unfinished with its io_context.
class PerIpSlot {
 public:
  PerIpSlot() = default;
  PerIpSlot(Server::PerIpConnections* table, const net::Ipv6Bytes& address)
      : table_(table), address_(address) {}
  PerIpSlot(PerIpSlot&& other) noexcept
      : table_(std::exchange(other.table_, nullptr)), address_(other.address_) {}
  PerIpSlot& operator=(PerIpSlot&& other) noexcept {
    if (this != &other) {
      Release();
      table_ = std::exchange(other.table_, nullptr);
      address_ = other.address_;
    }
    return *this;
  }
  PerIpSlot(const PerIpSlot&) = delete;
  PerIpSlot& operator=(const PerIpSlot&) = delete;
  ~PerIpSlot() { Release(); }

  /// Gives the slot back now rather than at destruction; later calls do nothing.
  void Release() {
    if (table_ != nullptr) std::exchange(table_, nullptr)->Release(address_);
  }

 private:
  Server::PerIpConnections* table_ = nullptr;
  net::Ipv6Bytes address_{};
};

struct Connection {
  explicit Connection(tcp::socket s) : socket(std::move(s)) {}
  tcp::socket socket;
  PerIpSlot per_ip;
  Connection* prev = nullptr;
  Connection* next = nullptr;
  Clock::time_point deadline = kNoDeadline;
  Phase phase = Phase::kIdle;
  bool timed_out = false;
  std::string peer;
};

struct Server::Worker {
  Worker(Server& s, std::size_t i) : server(s), index(i) {
    ctx.emplace(BOOST_ASIO_CONCURRENCY_HINT_UNSAFE_IO);
    sweeper.emplace(*ctx);
    backoff.emplace(*ctx);
  }
  ~Worker() {
    // Pending coroutine frames are destroyed with the io_context; their connections must
    // not unlink themselves from a list that is going away.
    destroying = true;
    services.reset();
    acceptor.reset();
    sweeper.reset();
    backoff.reset();
    ctx.reset();
  }

  void Link(Connection* c) {
    c->next = head;
    if (head) head->prev = c;
    head = c;
    ++count;
  }
  void Unlink(Connection* c) {
    if (destroying) return;
    if (c->prev != nullptr) {
      c->prev->next = c->next;
    } else {
      head = c->next;
    }
    if (c->next) c->next->prev = c->prev;
    --count;
  }

  Server& server;
  std::size_t index;
  std::optional<asio::io_context> ctx;
  std::optional<tcp::acceptor> acceptor;
  std::optional<asio::steady_timer> sweeper;
  std::optional<asio::steady_timer> backoff;
  std::unique_ptr<WorkerServices> services;
  Connection* head = nullptr;
  std::size_t count = 0;
  bool draining = false;
  bool destroying = false;
  DateCache date;
  RequestIdGenerator ids;
  std::string id_scratch;
  std::thread thread;
};

// The connection loop and its helpers; a friend of Server so that the header stays free
// of Asio types.
struct ServerAccess {
  using Worker = Server::Worker;

  static asio::awaitable<void> Accept(Server& server, Worker& w);
  static asio::awaitable<void> Sweep(Server& server, Worker& w);
  static asio::awaitable<void> Session(Server& server, Worker& w, tcp::socket socket,
                                       PerIpSlot per_ip);
  static bool AdmitPerIp(Server& server, Worker& w, tcp::socket& socket, PerIpSlot& slot);
  static const AsyncHandler* Dispatch(Server& server, Worker& w, Connection& conn, Request& request,
                                      Response& response, std::size_t& route);
  static bool Complete(Server& server, Worker& w, Connection& conn, Request& request,
                       std::size_t route, Response& response, Clock::time_point started,
                       std::string& out);
  static void AnswerError(Server& server, Worker& w, Connection& conn, ParseError error,
                          std::string& out);
  static void Finish(Server& server, Worker& w, Connection& conn, const Request* request,
                     std::size_t route, Method method, Response& response,
                     Clock::time_point started, bool keep_alive, std::string& out);
  static void RejectConnection(Server& server, Worker& w, tcp::socket& socket);
  static Response HandlerFailed(Server& server, const Request& request, std::size_t route,
                                const std::exception& e);
  static asio::awaitable<void> LingeringClose(Connection& conn);
};

namespace {

Clock::duration SweepInterval(const ServerOptions& o) {
  auto shortest = std::min({o.header_timeout, o.body_timeout, o.idle_timeout, o.write_timeout});
  auto interval = shortest / 4;
  return std::clamp<Clock::duration>(interval, std::chrono::milliseconds(10),
                                     std::chrono::milliseconds(500));
}

bool TransientAcceptError(const error_code& ec) {
  return ec == asio::error::no_descriptors || ec.value() == ENFILE ||
         ec == asio::error::no_buffer_space || ec == asio::error::no_memory;
}

// Idle: between requests with nothing received. A request that has reached our socket
// buffer but not been read yet does not count, so shutdown never drops a request the
// client already sent.
bool IsIdle(Connection& c) {
  if (c.phase != Phase::kIdle) return false;
  error_code ec;
  return c.socket.available(ec) == 0 || ec;
}

net::Ipv6Bytes ToBytes(const asio::ip::address& address) {
  net::Ipv6Bytes bytes{};
  if (address.is_v4()) {
    bytes[10] = 0xff;
    bytes[11] = 0xff;
    const auto v4 = address.to_v4().to_bytes();
    std::copy(v4.begin(), v4.end(), bytes.begin() + 12);
  } else {
    const auto v6 = address.to_v6().to_bytes();
    std::copy(v6.begin(), v6.end(), bytes.begin());
  }
  return bytes;
}

// A whole answer for a connection refused before any request is read: no Date or request
// id, so it can be built once.
std::string CannedProblem(ErrorCode code, std::string detail) {
  const Response problem = ProblemResponse({code, std::move(detail)}, "");
  return "HTTP/1.1 " + std::to_string(problem.status) + " " +
         std::string(ReasonPhrase(problem.status)) +
         "\r\nContent-Type: " + std::string(problem.content_type) +
         "\r\nContent-Length: " + std::to_string(problem.body.size()) +
         "\r\nRetry-After: 1\r\nConnection: close\r\n\r\n" + problem.body;
}

// Refused fast: one non-blocking write of a canned answer, then close. No request is read.
void AnswerAndClose(tcp::socket& socket, const std::string& answer) {
  error_code ec;
  socket.non_blocking(true, ec);
  socket.write_some(asio::buffer(answer), ec);
  socket.shutdown(tcp::socket::shutdown_both, ec);
  socket.close(ec);
}

std::string PeerOf(const tcp::socket& socket) {
  error_code ec;
  auto endpoint = socket.remote_endpoint(ec);
  if (ec) return "unknown";
  return endpoint.address().to_string();
}

}  // namespace

Server::Server(ServerOptions options, const Routes& routes, metrics::Registry& registry,
               AccessLog* access_log)
    : options_(std::move(options)),
      routes_(routes),
      metrics_(std::make_unique<metrics::HttpMetrics>(std::max(1U, options_.threads),
                                                      routes.router().Templates())),
      access_log_(access_log != nullptr && access_log->enabled() ? access_log : nullptr),
      cors_(options_.cors_origins) {
  if (options_.threads == 0) options_.threads = 1;
  if (options_.max_connections_per_ip != 0) {
    per_ip_ = std::make_unique<PerIpConnections>(options_.max_connections_per_ip);
  }
  registry.Add(metrics_->Collectable());
  registry.AddCallbackGauge("http_requests_in_flight", "Requests being handled now.",
                            [this] { return static_cast<double>(in_flight()); });
  registry.AddCallbackGauge("http_connections_open", "Open client connections.",
                            [this] { return static_cast<double>(open_connections()); });
}

Server::~Server() {
  if (joined_ || workers_.empty()) return;
  try {
    Shutdown();
    Wait(std::chrono::milliseconds(0));
  } catch (const std::exception& e) {
    // Nothing sensible is left to do with a failure while tearing down.
    spdlog::error("server teardown: {}", e.what());
  }
}

void Server::Start() {
  error_code ec;
  auto address =
      asio::ip::make_address(options_.host == "localhost" ? "127.0.0.1" : options_.host, ec);
  if (ec) throw std::system_error(ec, "listen address '" + options_.host + "'");

  for (unsigned i = 0; i < options_.threads; ++i) {
    workers_.push_back(std::make_unique<Worker>(*this, i));
  }
  std::uint16_t port = options_.port;
  for (auto& w : workers_) {
    tcp::endpoint endpoint(address, port);
    w->acceptor.emplace(*w->ctx);
    auto& acceptor = *w->acceptor;
    acceptor.open(endpoint.protocol());
    acceptor.set_option(tcp::acceptor::reuse_address(true));
    // One listener per io thread on the same port: the kernel spreads new connections
    // across them, so no thread hands sockets to another.
    acceptor.set_option(asio::detail::socket_option::boolean<SOL_SOCKET, SO_REUSEPORT>(true));
    acceptor.bind(endpoint, ec);
    if (ec) {
      throw std::system_error(ec, "cannot listen on " + options_.host + ":" + std::to_string(port));
    }
    // The kernel caps this at net.core.somaxconn; asking for more lets a raised sysctl count.
    acceptor.listen(65535);
    port = acceptor.local_endpoint().port();
  }
  port_ = port;
  if (worker_init_) {
    for (auto& w : workers_) w->services = worker_init_(w->index, w->ctx->get_executor());
  }

  {
    std::lock_guard lock(running_mutex_);
    running_workers_ = workers_.size();
  }
  for (auto& w : workers_) {
    asio::co_spawn(*w->ctx, ServerAccess::Accept(*this, *w), asio::detached);
    asio::co_spawn(*w->ctx, ServerAccess::Sweep(*this, *w), asio::detached);
    w->thread = std::thread([this, worker = w.get()] {
      try {
        worker->ctx->run();
      } catch (const std::exception& e) {
        spdlog::critical("io thread {} stopped: {}", worker->index, e.what());
      }
      {
        std::lock_guard lock(running_mutex_);
        --running_workers_;
      }
      running_changed_.notify_all();
    });
  }
}

void Server::Shutdown() {
  if (draining_.exchange(true)) return;
  for (auto& w : workers_) {
    asio::post(*w->ctx, [worker = w.get()] {
      worker->draining = true;
      error_code ignored;
      if (worker->acceptor) worker->acceptor->close(ignored);
      worker->backoff->cancel();
      // Idle keep-alive connections have nothing in flight: close them now. The others
      // finish their current request first (answered with "Connection: close").
      for (Connection* c = worker->head; c != nullptr; c = c->next) {
        if (IsIdle(*c)) c->socket.cancel(ignored);
      }
      worker->sweeper->cancel();
    });
  }
}

bool Server::Wait(std::chrono::milliseconds timeout) {
  if (joined_) return true;
  bool drained;
  {
    std::unique_lock lock(running_mutex_);
    drained = running_changed_.wait_for(lock, timeout, [this] { return running_workers_ == 0; });
  }
  if (!drained) {
    for (auto& w : workers_) w->ctx->stop();
  }
  for (auto& w : workers_) {
    if (w->thread.joinable()) w->thread.join();
  }
  joined_ = true;
  return drained;
}

asio::awaitable<void> ServerAccess::Accept(Server& server, Worker& w) {
  auto& acceptor = *w.acceptor;
  for (;;) {
    error_code ec;
    tcp::socket socket =
        co_await acceptor.async_accept(asio::redirect_error(asio::use_awaitable, ec));
    if (w.draining) co_return;
    if (ec) {
      if (ec == asio::error::operation_aborted || !acceptor.is_open()) co_return;
      if (TransientAcceptError(ec)) {
        // Out of descriptors or memory: accepting again at once would spin. Pending
        // connections wait in the backlog meanwhile.
        spdlog::warn("accept failed: {}; pausing accepts for 50 ms", ec.message());
        server.metrics_->Reject(w.index, metrics::Rejection::kConnections);
        w.backoff->expires_after(std::chrono::milliseconds(50));
        co_await w.backoff->async_wait(asio::redirect_error(asio::use_awaitable, ec));
      }
      continue;
    }
    if (server.open_connections_.load(std::memory_order_relaxed) >=
        server.options_.max_connections) {
      RejectConnection(server, w, socket);
      continue;
    }
    PerIpSlot per_ip;
    if (server.per_ip_ != nullptr && !AdmitPerIp(server, w, socket, per_ip)) continue;
    server.open_connections_.fetch_add(1, std::memory_order_relaxed);
    asio::co_spawn(*w.ctx, Session(server, w, std::move(socket), std::move(per_ip)),
                   asio::detached);
  }
}

void ServerAccess::RejectConnection(Server& server, Worker& w, tcp::socket& socket) {
  server.metrics_->Reject(w.index, metrics::Rejection::kConnections);
  static const std::string kAnswer =
      CannedProblem(ErrorCode::kOverloaded, "Too many open connections; retry later.");
  AnswerAndClose(socket, kAnswer);
}

bool ServerAccess::AdmitPerIp(Server& server, Worker& w, tcp::socket& socket, PerIpSlot& slot) {
  error_code ec;
  const auto endpoint = socket.remote_endpoint(ec);
  // A peer already gone has nothing left to cap; its session ends at the first read.
  if (ec) return true;
  const net::Ipv6Bytes address = ToBytes(endpoint.address());
  if (server.options_.trusted_proxies.Contains(address)) return true;
  if (!server.per_ip_->TryAcquire(address)) {
    server.metrics_->Reject(w.index, metrics::Rejection::kPerIpConnections);
    static const std::string kAnswer =
        CannedProblem(ErrorCode::kTooManyConnections,
                      "Too many open connections from your address; retry later.");
    AnswerAndClose(socket, kAnswer);
    return false;
  }
  slot = PerIpSlot(server.per_ip_.get(), address);
  return true;
}

asio::awaitable<void> ServerAccess::Sweep(Server& server, Worker& w) {
  const auto interval = SweepInterval(server.options_);
  for (;;) {
    w.sweeper->expires_after(interval);
    error_code ec;
    co_await w.sweeper->async_wait(asio::redirect_error(asio::use_awaitable, ec));
    const auto now = Clock::now();
    for (Connection* c = w.head; c != nullptr; c = c->next) {
      if (c->deadline <= now && !c->timed_out) {
        c->timed_out = true;
        c->socket.cancel(ec);
      } else if (w.draining && IsIdle(*c)) {
        c->socket.cancel(ec);
      }
    }
    if (w.draining && w.count == 0) {
      // Nothing can use the services any more; their idle connections and timers would
      // keep the io_context running.
      w.services.reset();
      co_return;
    }
  }
}

asio::awaitable<void> ServerAccess::LingeringClose(Connection& conn) {
  // After an error answer the client may still be sending (a body we refused). Closing
  // with unread data makes the kernel send RST, which can destroy our answer before the
  // client reads it; so stop writing, drain for a moment, then close.
  error_code ec;
  conn.socket.shutdown(tcp::socket::shutdown_send, ec);
  conn.phase = Phase::kLingering;
  conn.deadline = Clock::now() + std::chrono::seconds(2);
  std::array<char, 4096> sink{};
  std::size_t drained = 0;
  while (!ec && drained < 1024 * 1024) {
    std::size_t n = co_await conn.socket.async_read_some(
        asio::buffer(sink), asio::redirect_error(asio::use_awaitable, ec));
    drained += n;
  }
}

// The connection's whole life is one loop (read, answer in order, write) kept in one
// coroutine on purpose: splitting it into nested coroutines costs a frame per request.
// NOLINTNEXTLINE(readability-function-cognitive-complexity)
asio::awaitable<void> ServerAccess::Session(Server& server, Worker& w, tcp::socket socket,
                                            PerIpSlot per_ip) {
  Connection conn(std::move(socket));
  conn.per_ip = std::move(per_ip);
  w.Link(&conn);
  error_code ec;
  conn.socket.set_option(tcp::no_delay(true), ec);
  // Direct sends below must return would_block rather than wait.
  conn.socket.non_blocking(true, ec);
  conn.peer = PeerOf(conn.socket);

  const auto& opt = server.options_;
  RequestParser parser({opt.max_header_bytes, opt.max_body_bytes});
  Request request;
  std::string in(kInitialReadBuffer, '\0');
  std::string out;
  std::size_t start = 0;
  std::size_t end = 0;
  bool request_started = false;  // bytes of a request not yet answered have arrived
  bool sent_continue = false;
  bool lingering = false;
  Clock::time_point request_began{};

  try {
    for (;;) {
      bool close_after = false;
      // Answer every complete request already buffered, in order (pipelining).
      while (start < end && !close_after) {
        if (!request_started) {
          request_started = true;
          request_began = Clock::now();
        }
        auto result = parser.Parse({in.data() + start, end - start}, request);
        start += result.consumed;
        if (result.status == RequestParser::Status::kNeedMore) {
          if (parser.ExpectsContinue() && !sent_continue) {
            out.append("HTTP/1.1 100 Continue\r\n\r\n");
            sent_continue = true;
          }
          break;
        }
        if (result.status == RequestParser::Status::kError) {
          AnswerError(server, w, conn, result.error, out);
          close_after = true;
          lingering = true;
          break;
        }
        request.SetPeer(conn.peer);
        const auto started = Clock::now();
        request.SetWorker(w.index);
        request.SetDeadline(started + server.options_.request_timeout);
        Response response;
        std::size_t route = 0;
        // Synchronous handlers answer inside Dispatch; only I/O-bound ones pay for a
        // coroutine frame.
        if (const AsyncHandler* async = Dispatch(server, w, conn, request, response, route)) {
          try {
            response = co_await (*async)(request);
          } catch (const std::exception& e) {
            response = HandlerFailed(server, request, route, e);
          }
          server.in_flight_.fetch_sub(1, std::memory_order_relaxed);
        }
        bool keep = Complete(server, w, conn, request, route, response, started, out);
        parser.Reset();
        request_started = false;
        sent_continue = false;
        if (!keep) close_after = true;
      }
      if (start == end) start = end = 0;

      if (!out.empty()) {
        // Small answers nearly always fit the socket's send buffer: one direct send
        // skips Asio's composed write and a coroutine suspension per request. Only a
        // client that stops reading makes us wait (bounded by the write timeout).
        std::size_t sent = conn.socket.write_some(asio::buffer(out), ec);
        if (ec == asio::error::would_block || ec == asio::error::try_again) {
          ec = {};
          sent = 0;
        }
        if (!ec && sent < out.size()) {
          conn.phase = Phase::kWriting;
          conn.deadline = Clock::now() + opt.write_timeout;
          co_await asio::async_write(conn.socket,
                                     asio::buffer(out.data() + sent, out.size() - sent),
                                     asio::redirect_error(asio::use_awaitable, ec));
        }
        if (ec) {
          if (conn.timed_out) server.metrics_->Reject(w.index, metrics::Rejection::kTimeout);
          break;
        }
        out.clear();
        if (out.capacity() > kKeptOutputCapacity) std::string().swap(out);
      }
      if (close_after) break;
      if (w.draining && !request_started && start == end) break;

      // Make room for more input: move the unparsed tail to the front, grow if the
      // tail fills the buffer (the parser caps what it will hold without progress).
      if (start > 0) {
        std::memmove(in.data(), in.data() + start, end - start);
        end -= start;
        start = 0;
      }
      if (end == in.size()) {
        std::size_t cap = opt.max_header_bytes + 4096;
        if (in.size() >= cap) {
          // Cannot happen: the parser reports oversized heads before the buffer fills.
          AnswerError(server, w, conn, ParseError::kHeadersTooLarge, out);
          lingering = true;
          co_await asio::async_write(conn.socket, asio::buffer(out),
                                     asio::redirect_error(asio::use_awaitable, ec));
          break;
        }
        in.resize(std::min(cap, in.size() * 2));
      } else if (end == 0 && in.size() > kInitialReadBuffer) {
        in.resize(kInitialReadBuffer);
        in.shrink_to_fit();
        request.ShrinkToFit();
      }

      const auto now = Clock::now();
      if (!request_started && end == 0) {
        conn.phase = Phase::kIdle;
        conn.deadline = now + opt.idle_timeout;
      } else {
        if (!request_started) {
          request_started = true;
          request_began = now;
        }
        conn.phase = Phase::kReading;
        conn.deadline =
            parser.HeaderDone() ? now + opt.body_timeout : request_began + opt.header_timeout;
      }
      std::size_t n =
          co_await conn.socket.async_read_some(asio::buffer(in.data() + end, in.size() - end),
                                               asio::redirect_error(asio::use_awaitable, ec));
      if (ec) {
        if (conn.timed_out && conn.phase == Phase::kReading) {
          server.metrics_->Reject(w.index, metrics::Rejection::kTimeout);
          // Best effort: tell the slow client why, without waiting for it to read.
          Response timeout = ProblemResponse(
              {ErrorCode::kRequestTimeout, "The request was not received in time."}, "");
          out.clear();
          ResponseMeta meta{"", w.date.Get(), 11, false, false};
          AppendResponse(timeout, meta, out);
          conn.socket.non_blocking(true, ec);
          conn.socket.write_some(asio::buffer(out), ec);
        }
        break;
      }
      end += n;
    }
    if (lingering) {
      co_await LingeringClose(conn);
    }
  } catch (const std::exception& e) {
    spdlog::error("connection from {} failed: {}", conn.peer, e.what());
  }
  conn.socket.close(ec);
  w.Unlink(&conn);
  // Before the count below, so that a client seeing the connection gone also finds its slot
  // free; the frame's destruction would release it a little later.
  conn.per_ip.Release();
  server.open_connections_.fetch_sub(1, std::memory_order_relaxed);
}

void ServerAccess::AnswerError(Server& server, Worker& w, Connection& conn, ParseError error,
                               std::string& out) {
  Error e;
  metrics::Rejection reason = metrics::Rejection::kBadRequest;
  switch (error) {
    case ParseError::kHeadersTooLarge:
      e = {ErrorCode::kHeadersTooLarge, "The request line and headers exceed " +
                                            std::to_string(server.options_.max_header_bytes) +
                                            " bytes."};
      reason = metrics::Rejection::kTooLarge;
      break;
    case ParseError::kBodyTooLarge:
      e = {
          ErrorCode::kPayloadTooLarge,
          "The request body exceeds " + std::to_string(server.options_.max_body_bytes) + " bytes."};
      reason = metrics::Rejection::kTooLarge;
      break;
    case ParseError::kVersion:
      e = {ErrorCode::kVersionNotSupported, "Only HTTP/1.0 and HTTP/1.1 are supported."};
      break;
    case ParseError::kMalformed:
    case ParseError::kNone:
      e = {ErrorCode::kBadRequest, "The request is not valid HTTP/1.1."};
      break;
  }
  server.metrics_->Reject(w.index, reason);
  w.ids.Next(w.id_scratch);
  Response response = ProblemResponse(e, w.id_scratch);
  Finish(server, w, conn, nullptr, server.metrics_->UnmatchedRoute(), Method::kOther, response,
         Clock::now(), false, out);
}

const AsyncHandler* ServerAccess::Dispatch(Server& server, Worker& w, Connection& conn,
                                           Request& request, Response& response,
                                           std::size_t& route) {
  conn.phase = Phase::kHandling;
  conn.deadline = kNoDeadline;

  std::string_view client_id = request.Header("X-Request-ID");
  if (IsAcceptableRequestId(client_id)) {
    request.SetRequestId(client_id);
  } else {
    w.ids.Next(w.id_scratch);
    request.SetRequestId(w.id_scratch);
  }

  const Router& router = server.routes_.router();
  route = server.metrics_->UnmatchedRoute();
  if (server.cors_.IsPreflight(request)) {
    // Answered here, ahead of the concurrency limit, rate limits and handlers: a preflight
    // only asks what the route allows and costs nothing to answer.
    std::string allow = router.AllowedMethods(request.path());
    if (allow.empty()) {
      response = ProblemResponse({ErrorCode::kNotFound, "No resource at this path."},
                                 request.request_id());
      return nullptr;
    }
    route = router.Find(Method::kOptions, request.path()).route;
    response = server.cors_.Preflight(request, allow);
    return nullptr;
  }
  auto match = router.Find(request.method(), request.path(), &request);
  switch (match.outcome) {
    case Router::Outcome::kNotFound:
      response = ProblemResponse({ErrorCode::kNotFound, "No resource at this path."},
                                 request.request_id());
      return nullptr;
    case Router::Outcome::kMethodNotAllowed:
      route = match.route;
      if (request.method() == Method::kOptions) {
        response.status = 204;
      } else {
        response =
            ProblemResponse({ErrorCode::kMethodNotAllowed, "Allowed methods: " + match.allow + "."},
                            request.request_id());
      }
      response.Header("Allow", match.allow);
      return nullptr;
    case Router::Outcome::kFound:
      break;
  }
  route = match.route;
  const Handler& handler = server.routes_.handler(match.slot);
  std::size_t in_flight = server.in_flight_.fetch_add(1, std::memory_order_relaxed) + 1;
  if (!handler.exempt_from_limits && in_flight > server.options_.max_concurrency) {
    server.in_flight_.fetch_sub(1, std::memory_order_relaxed);
    server.metrics_->Reject(w.index, metrics::Rejection::kConcurrency);
    response =
        ProblemResponse({ErrorCode::kOverloaded, "Too many requests in flight; retry later."},
                        request.request_id());
    response.Header("Retry-After", std::to_string(server.options_.retry_after.count()));
    return nullptr;
  }
  if (handler.async) return &handler.async;
  try {
    response = handler.sync(request);
  } catch (const std::exception& e) {
    response = HandlerFailed(server, request, route, e);
  }
  server.in_flight_.fetch_sub(1, std::memory_order_relaxed);
  return nullptr;
}

bool ServerAccess::Complete(Server& server, Worker& w, Connection& conn, Request& request,
                            std::size_t route, Response& response, Clock::time_point started,
                            std::string& out) {
  bool keep = request.keep_alive() && !w.draining && !response.close;
  Finish(server, w, conn, &request, route, request.method(), response, started, keep, out);
  return keep;
}

Response ServerAccess::HandlerFailed(Server& server, const Request& request, std::size_t route,
                                     const std::exception& e) {
  // Handlers return errors as values; an escaped exception is a bug, answered as 500
  // rather than taking the connection down.
  spdlog::error("handler for {} {} threw: {} (request {})", request.method_text(),
                server.routes_.router().Templates()[route], e.what(), request.request_id());
  return ProblemResponse({ErrorCode::kInternal, "Unexpected error."}, request.request_id());
}

void ServerAccess::Finish(Server& server, Worker& w, Connection& conn, const Request* request,
                          std::size_t route, Method method, Response& response,
                          Clock::time_point started, bool keep_alive, std::string& out) {
  const std::size_t before = out.size();
  ResponseMeta meta;
  meta.request_id = request != nullptr ? request->request_id() : std::string_view(w.id_scratch);
  meta.date = w.date.Get();
  meta.version = request != nullptr ? request->version() : 11;
  meta.keep_alive = keep_alive;
  meta.head = request != nullptr && request->method() == Method::kHead;
  server.cors_.Decorate(request, response);
  AppendResponse(response, meta, out);

  const double seconds = std::chrono::duration<double>(Clock::now() - started).count();
  server.metrics_->ObserveRequest(w.index, route, method, response.status, seconds);
  if (server.access_log_ != nullptr) {
    AccessEntry entry;
    entry.method = request != nullptr ? request->method_text() : std::string_view("-");
    entry.route = route == server.metrics_->UnmatchedRoute()
                      ? std::string_view("unmatched")
                      : std::string_view(server.routes_.router().Templates()[route]);
    entry.path = request != nullptr ? request->path() : std::string_view("-");
    entry.status = response.status;
    entry.duration_seconds = seconds;
    entry.bytes = out.size() - before;
    entry.request_id = meta.request_id;
    entry.peer = conn.peer;
    server.access_log_->Write(entry);
  }
}

}  // namespace myriad::http

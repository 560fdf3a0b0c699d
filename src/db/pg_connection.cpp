#include "db/pg_connection.hpp"

#include <libpq-fe.h>
#include <spdlog/spdlog.h>

#include <array>
#include <atomic>
#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/experimental/awaitable_operators.hpp>
#include <boost/asio/posix/stream_descriptor.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <cassert>
#include <cstdlib>
#include <deque>
#include <optional>
#include <thread>
#include <unordered_set>
#include <utility>

namespace myriad::db {
namespace asio = boost::asio;
using boost::system::error_code;
using Clock = PgConnection::Clock;

namespace {

constexpr auto kAsTuple = asio::as_tuple(asio::use_awaitable);

std::string TrimmedError(const PGconn* conn) {
  std::string message = conn != nullptr ? PQerrorMessage(conn) : "out of memory";
  while (!message.empty() && (message.back() == '\n' || message.back() == ' ')) {
    message.pop_back();
  }
  return message;
}

void IgnoreNotice(void* /*arg*/, const char* message) {
  spdlog::debug("postgres notice: {}", message);
}

// One query's place in the pipeline: everything between its first command and its Sync.
struct Pending {
  explicit Pending(const asio::any_io_executor& ex) : wake(ex) {}
  asio::steady_timer wake;   // expires at the deadline; cancelled when the answer is in
  std::string prepare_name;  // set when the segment starts with this statement's Prepare
  int commands_seen = 0;
  bool done = false;
  bool abandoned = false;          // the caller timed out or was cancelled
  bool cancel_when_front = false;  // abandoned before the server reached it
  std::optional<DbError> error;
  PgResult result;
};

enum class State { kConnecting, kReady, kDraining, kCopying, kClosed };

// Cancel requests on their way, process-wide. Each PQcancel is a new connection, and so a
// new backend process on the server: on an overloaded machine, where every query timed out,
// one per abandoned query made thousands a second, which kept the server from the real
// queries and turned a slow database into an unreachable one. Beyond this many in flight,
// an abandoned query runs to its end instead (the caller has its answer already).
constexpr int kMaxCancelsInFlight = 4;
std::atomic<int> cancels_in_flight{0};

}  // namespace

struct PgConnection::Impl : std::enable_shared_from_this<Impl> {
  Impl(asio::any_io_executor executor, ConnectOptions opts)
      : ex(std::move(executor)), options(std::move(opts)), socket(ex), copy_wake(ex) {}
  ~Impl() { Finish(); }
  Impl(const Impl&) = delete;
  Impl& operator=(const Impl&) = delete;

  asio::awaitable<DbResult<void>> Connect(Clock::time_point deadline);
  static asio::awaitable<void> ReadLoop(std::shared_ptr<Impl> self);
  static asio::awaitable<void> FlushLoop(std::shared_ptr<Impl> self);
  static asio::awaitable<DbResult<PgResult>> Run(std::shared_ptr<Impl> self,
                                                 const std::string* name, std::string_view sql,
                                                 Params params, Clock::time_point deadline);
  static asio::awaitable<DbResult<std::int64_t>> Copy(std::shared_ptr<Impl> self,
                                                      std::string_view sql, CopySource source,
                                                      Clock::time_point deadline);
  asio::awaitable<DbResult<void>> FlushAll(Clock::time_point deadline);
  asio::awaitable<DbResult<void>> SendCopyData(CopySource source, Clock::time_point deadline);
  asio::awaitable<DbResult<void>> AwaitNotBusy(Clock::time_point deadline);
  asio::awaitable<bool> WaitSocket(asio::posix::descriptor_base::wait_type type,
                                   Clock::time_point deadline);
  bool Watch(int fd);
  void ScheduleFlush();
  void ProcessResults();
  void Abandon(const std::shared_ptr<Pending>& p);
  void SendCancel() const;
  void FailAll(DbErrorKind kind, const std::string& message);
  void Finish();

  asio::any_io_executor ex;
  ConnectOptions options;
  asio::posix::stream_descriptor socket;  // wraps PQsocket; released, never closed, by us
  PGconn* conn = nullptr;
  State state = State::kConnecting;
  std::deque<std::shared_ptr<Pending>> fifo;
  std::unordered_set<std::string> prepared;
  bool flush_posted = false;
  bool write_waiting = false;
  // During COPY the read loop still owns reading; it wakes the COPY coroutine through this
  // timer after every PQconsumeInput.
  asio::steady_timer copy_wake;
  bool copy_input_seen = false;
};

bool PgConnection::Impl::Watch(int fd) {
  // libpq may close and reopen its socket during connect (another host, SSL retry), and
  // the new one can reuse the old number: re-register every time.
  if (socket.is_open()) (void)socket.release();
  error_code ec;
  socket.assign(fd, ec);
  return !ec;
}

asio::awaitable<bool> PgConnection::Impl::WaitSocket(asio::posix::descriptor_base::wait_type type,
                                                     Clock::time_point deadline) {
  using namespace asio::experimental::awaitable_operators;
  asio::steady_timer timer(ex, deadline);
  auto which = co_await (socket.async_wait(type, kAsTuple) || timer.async_wait(kAsTuple));
  co_return which.index() == 0 && !std::get<0>(std::get<0>(which));
}

asio::awaitable<DbResult<void>> PgConnection::Impl::Connect(Clock::time_point deadline) {
  const std::array<const char*, 2> keys{"dbname", nullptr};
  const std::array<const char*, 2> values{options.conninfo.c_str(), nullptr};
  conn = PQconnectStartParams(keys.data(), values.data(), 1);
  if (conn == nullptr || PQstatus(conn) == CONNECTION_BAD) {
    auto error = MakeDbError(DbErrorKind::kConnection, TrimmedError(conn));
    Finish();
    co_return error;
  }
  PQsetNoticeProcessor(conn, IgnoreNotice, nullptr);
  // PQconnectStart's contract: behave as if PQconnectPoll had asked to wait for writing.
  PostgresPollingStatusType poll = PGRES_POLLING_WRITING;
  while (poll != PGRES_POLLING_OK) {
    if (poll == PGRES_POLLING_FAILED) {
      auto error = MakeDbError(DbErrorKind::kConnection, TrimmedError(conn));
      Finish();
      co_return error;
    }
    if (poll == PGRES_POLLING_READING || poll == PGRES_POLLING_WRITING) {
      if (!Watch(PQsocket(conn))) {
        Finish();
        co_return MakeDbError(DbErrorKind::kConnection, "cannot watch the connection's socket");
      }
      auto type = poll == PGRES_POLLING_READING ? asio::posix::descriptor_base::wait_read
                                                : asio::posix::descriptor_base::wait_write;
      if (!co_await WaitSocket(type, deadline)) {
        Finish();
        co_return MakeDbError(DbErrorKind::kTimeout, "connect timed out");
      }
    }
    poll = PQconnectPoll(conn);
  }
  if (PQsetnonblocking(conn, 1) != 0 || PQenterPipelineMode(conn) != 1 || !Watch(PQsocket(conn))) {
    auto error = MakeDbError(DbErrorKind::kConnection, TrimmedError(conn));
    Finish();
    co_return error;
  }
  state = State::kReady;
  co_return DbResult<void>{};
}

asio::awaitable<void> PgConnection::Impl::ReadLoop(std::shared_ptr<Impl> self) {
  // Always waiting to read, also when nothing is pending: that is how a server that goes
  // away is noticed, and how a flush blocked on a full server buffer gets unstuck.
  while (self->state == State::kReady || self->state == State::kDraining ||
         self->state == State::kCopying) {
    auto [ec] = co_await self->socket.async_wait(asio::posix::descriptor_base::wait_read, kAsTuple);
    if (ec || self->state == State::kClosed) co_return;
    if (PQconsumeInput(self->conn) == 0 || PQstatus(self->conn) == CONNECTION_BAD) {
      self->FailAll(DbErrorKind::kConnection, "connection lost: " + TrimmedError(self->conn));
      co_return;
    }
    if (self->state == State::kCopying) {
      self->copy_input_seen = true;
      self->copy_wake.cancel();
      continue;
    }
    self->ProcessResults();
  }
}

void PgConnection::Impl::ProcessResults() {
  int empty_in_a_row = 0;
  while (!fifo.empty() && conn != nullptr && PQisBusy(conn) == 0) {
    PGresult* raw = PQgetResult(conn);
    if (raw == nullptr) {
      // One NULL ends each command's results; a second in a row means libpq has nothing
      // queued that we are waiting for yet.
      if (++empty_in_a_row > 1) return;
      continue;
    }
    empty_in_a_row = 0;
    PgResult result(raw);
    Pending& p = *fifo.front();
    switch (PQresultStatus(raw)) {
      case PGRES_PIPELINE_SYNC: {
        auto finished = std::move(fifo.front());
        fifo.pop_front();
        finished->done = true;
        if (!finished->error && finished->commands_seen == 0) {
          finished->error = DbError{DbErrorKind::kConnection, {}, "no result before Sync"};
        }
        finished->wake.cancel();
        if (fifo.empty()) {
          if (state == State::kDraining) {
            FailAll(DbErrorKind::kConnection, "connection drained after a timeout");
            return;
          }
        } else if (fifo.front()->cancel_when_front) {
          fifo.front()->cancel_when_front = false;
          SendCancel();
        }
        break;
      }
      case PGRES_TUPLES_OK:
      case PGRES_COMMAND_OK:
      case PGRES_EMPTY_QUERY:
        ++p.commands_seen;
        p.result = std::move(result);
        break;
      case PGRES_FATAL_ERROR:
      case PGRES_BAD_RESPONSE:
      case PGRES_PIPELINE_ABORTED: {
        bool is_prepare = p.commands_seen == 0 && !p.prepare_name.empty();
        ++p.commands_seen;
        if (is_prepare) prepared.erase(p.prepare_name);
        if (!p.error) {
          p.error = PQresultStatus(raw) == PGRES_PIPELINE_ABORTED
                        ? DbError{DbErrorKind::kQuery, {}, "pipeline aborted"}
                        : ErrorFromResult(raw);
        }
        break;
      }
      case PGRES_COPY_IN:
      case PGRES_COPY_OUT:
      case PGRES_COPY_BOTH:
        FailAll(DbErrorKind::kConnection, "COPY is not supported through Query()");
        return;
      default:
        break;  // PGRES_NONFATAL_ERROR and single-row results are not produced here
    }
  }
}

void PgConnection::Impl::ScheduleFlush() {
  // Queries sent in the same turn of the loop leave in one write.
  if (flush_posted) return;
  flush_posted = true;
  asio::post(ex, [self = shared_from_this()] {
    self->flush_posted = false;
    if (self->state == State::kClosed) return;
    int r = PQflush(self->conn);
    if (r < 0) {
      self->FailAll(DbErrorKind::kConnection, "connection lost: " + TrimmedError(self->conn));
    } else if (r == 1 && !self->write_waiting) {
      self->write_waiting = true;
      asio::co_spawn(self->ex, FlushLoop(self), asio::detached);
    }
  });
}

asio::awaitable<void> PgConnection::Impl::FlushLoop(std::shared_ptr<Impl> self) {
  while (self->state != State::kClosed) {
    auto [ec] =
        co_await self->socket.async_wait(asio::posix::descriptor_base::wait_write, kAsTuple);
    if (ec || self->state == State::kClosed) break;
    int r = PQflush(self->conn);
    if (r < 0) {
      self->FailAll(DbErrorKind::kConnection, "connection lost: " + TrimmedError(self->conn));
      break;
    }
    if (r == 0) break;
  }
  self->write_waiting = false;
}

asio::awaitable<DbResult<PgResult>> PgConnection::Impl::Run(std::shared_ptr<Impl> self,
                                                            const std::string* name,
                                                            std::string_view sql, Params params,
                                                            Clock::time_point deadline) {
  if (!self) co_return MakeDbError(DbErrorKind::kConnection, "connection is closed");
  if (self->state != State::kReady) {
    co_return MakeDbError(DbErrorKind::kConnection,
                          self->state == State::kDraining  ? "connection is draining"
                          : self->state == State::kCopying ? "connection is busy with COPY"
                                                           : "connection is closed");
  }
  if (params.bad_index() >= 0) {
    co_return MakeDbError(
        DbErrorKind::kBadParameter,
        "parameter $" + std::to_string(params.bad_index() + 1) + " contains a NUL byte");
  }
  if (Clock::now() >= deadline) {
    co_return MakeDbError(DbErrorKind::kTimeout, "deadline passed before the query was sent");
  }

  auto p = std::make_shared<Pending>(self->ex);
  p->wake.expires_at(deadline);
  const std::vector<const char*> values = params.Values();
  PGconn* conn = self->conn;
  int ok = 1;
  if (name != nullptr && self->options.prepared) {
    if (!self->prepared.contains(*name)) {
      std::string text(sql);
      ok = PQsendPrepare(conn, name->c_str(), text.c_str(), params.size(), nullptr);
      if (ok == 1) {
        self->prepared.insert(*name);
        p->prepare_name = *name;
      }
    }
    if (ok == 1) {
      ok = PQsendQueryPrepared(conn, name->c_str(), params.size(), values.data(), nullptr, nullptr,
                               0);
    }
  } else {
    std::string text(sql);
    ok = PQsendQueryParams(conn, text.c_str(), params.size(), nullptr, values.data(), nullptr,
                           nullptr, 0);
  }
  if (ok == 1) ok = PQpipelineSync(conn);
  if (ok != 1) {
    // A half-sent segment leaves the pipeline out of step with our queue.
    std::string message = "send failed: " + TrimmedError(conn);
    self->FailAll(DbErrorKind::kConnection, message);
    co_return MakeDbError(DbErrorKind::kConnection, message);
  }
  self->fifo.push_back(p);
  self->ScheduleFlush();

  auto [ec] = co_await p->wake.async_wait(kAsTuple);
  if (p->done) {
    if (p->error) co_return core::Unexpected<DbError>{std::move(*p->error)};
    co_return std::move(p->result);
  }
  bool timed_out = !ec;
  self->Abandon(p);
  if (timed_out) co_return MakeDbError(DbErrorKind::kTimeout, "query deadline passed");
  co_return MakeDbError(DbErrorKind::kCancelled, "query cancelled by the caller");
}

asio::awaitable<DbResult<void>> PgConnection::Impl::FlushAll(Clock::time_point deadline) {
  for (;;) {
    if (state == State::kClosed)
      co_return MakeDbError(DbErrorKind::kConnection, "connection closed");
    int r = PQflush(conn);
    if (r == 0) co_return DbResult<void>{};
    if (r < 0) {
      std::string message = "connection lost: " + TrimmedError(conn);
      FailAll(DbErrorKind::kConnection, message);
      co_return MakeDbError(DbErrorKind::kConnection, message);
    }
    if (!co_await WaitSocket(asio::posix::descriptor_base::wait_write, deadline)) {
      if (state == State::kClosed) {
        co_return MakeDbError(DbErrorKind::kConnection, "connection closed");
      }
      FailAll(DbErrorKind::kConnection, "COPY deadline passed");
      co_return MakeDbError(DbErrorKind::kTimeout, "COPY deadline passed");
    }
  }
}

asio::awaitable<DbResult<void>> PgConnection::Impl::AwaitNotBusy(Clock::time_point deadline) {
  // PQisBusy parses what the read loop consumed; between this check and the wait nothing
  // else runs on this thread, so no wake-up is lost.
  while (state == State::kCopying && PQisBusy(conn) != 0) {
    copy_input_seen = false;
    copy_wake.expires_at(deadline);
    (void)co_await copy_wake.async_wait(kAsTuple);
    if (state != State::kCopying) break;
    if (!copy_input_seen) {
      FailAll(DbErrorKind::kConnection, "COPY deadline passed");
      co_return MakeDbError(DbErrorKind::kTimeout, "COPY deadline passed");
    }
  }
  if (state != State::kCopying) {
    co_return MakeDbError(DbErrorKind::kConnection, "connection lost during COPY");
  }
  co_return DbResult<void>{};
}

asio::awaitable<DbResult<void>> PgConnection::Impl::SendCopyData(CopySource source,
                                                                 Clock::time_point deadline) {
  std::string chunk;
  bool more = true;
  while (more) {
    chunk.clear();
    more = source(chunk);
    if (chunk.empty()) continue;
    int r = 0;
    while ((r = PQputCopyData(conn, chunk.data(), static_cast<int>(chunk.size()))) == 0) {
      // libpq's buffer is full in non-blocking mode: let the socket drain first.
      if (auto flushed = co_await FlushAll(deadline); !flushed) co_return flushed;
    }
    if (r < 0) {
      std::string message = "COPY send failed: " + TrimmedError(conn);
      FailAll(DbErrorKind::kConnection, message);
      co_return MakeDbError(DbErrorKind::kConnection, message);
    }
    if (auto flushed = co_await FlushAll(deadline); !flushed) co_return flushed;
  }
  int r = 0;
  while ((r = PQputCopyEnd(conn, nullptr)) == 0) {
    if (auto flushed = co_await FlushAll(deadline); !flushed) co_return flushed;
  }
  if (r < 0) {
    std::string message = "COPY end failed: " + TrimmedError(conn);
    FailAll(DbErrorKind::kConnection, message);
    co_return MakeDbError(DbErrorKind::kConnection, message);
  }
  co_return co_await FlushAll(deadline);
}

asio::awaitable<DbResult<std::int64_t>> PgConnection::Impl::Copy(std::shared_ptr<Impl> self,
                                                                 std::string_view sql,
                                                                 CopySource source,
                                                                 Clock::time_point deadline) {
  if (!self || self->state != State::kReady) {
    co_return MakeDbError(DbErrorKind::kConnection, "connection is not usable");
  }
  if (!self->fifo.empty() || self->write_waiting || self->flush_posted) {
    co_return MakeDbError(DbErrorKind::kConnection, "connection is busy: COPY needs an idle one");
  }
  PGconn* conn = self->conn;
  if (PQexitPipelineMode(conn) != 1) {
    co_return MakeDbError(DbErrorKind::kConnection,
                          "cannot leave pipeline mode: " + TrimmedError(conn));
  }
  self->state = State::kCopying;
  std::string text(sql);
  if (PQsendQueryParams(conn, text.c_str(), 0, nullptr, nullptr, nullptr, nullptr, 0) != 1) {
    std::string message = "send failed: " + TrimmedError(conn);
    self->FailAll(DbErrorKind::kConnection, message);
    co_return MakeDbError(DbErrorKind::kConnection, message);
  }
  if (auto flushed = co_await self->FlushAll(deadline); !flushed) {
    co_return core::Unexpected<DbError>{std::move(flushed).error()};
  }

  // The server answers CopyInResponse, or an error (no table, bad column, not COPY).
  std::optional<DbError> error;
  bool copy_in = false;
  for (;;) {
    if (auto ready = co_await self->AwaitNotBusy(deadline); !ready) {
      co_return core::Unexpected<DbError>{std::move(ready).error()};
    }
    PGresult* raw = PQgetResult(conn);
    if (raw == nullptr) break;
    PgResult result(raw);
    if (PQresultStatus(raw) == PGRES_COPY_IN) {
      copy_in = true;
      break;
    }
    if (!error) {
      error = PQresultStatus(raw) == PGRES_FATAL_ERROR
                  ? ErrorFromResult(raw)
                  : DbError{DbErrorKind::kQuery, {}, "the statement is not COPY FROM STDIN"};
    }
  }

  std::int64_t rows = 0;
  if (copy_in) {
    auto sent = co_await self->SendCopyData(std::move(source), deadline);
    if (!sent) co_return core::Unexpected<DbError>{std::move(sent).error()};
    for (;;) {
      if (auto ready = co_await self->AwaitNotBusy(deadline); !ready) {
        co_return core::Unexpected<DbError>{std::move(ready).error()};
      }
      PGresult* raw = PQgetResult(conn);
      if (raw == nullptr) break;
      PgResult result(raw);
      if (PQresultStatus(raw) == PGRES_COMMAND_OK) {
        rows = std::strtoll(PQcmdTuples(raw), nullptr, 10);
      } else if (!error) {
        error = ErrorFromResult(raw);
      }
    }
  }

  if (PQenterPipelineMode(conn) != 1) {
    std::string message = "cannot re-enter pipeline mode: " + TrimmedError(conn);
    self->FailAll(DbErrorKind::kConnection, message);
    co_return MakeDbError(DbErrorKind::kConnection, message);
  }
  self->state = State::kReady;
  if (error) co_return core::Unexpected<DbError>{std::move(*error)};
  co_return rows;
}

void PgConnection::Impl::Abandon(const std::shared_ptr<Pending>& p) {
  p->abandoned = true;
  if (state == State::kReady) state = State::kDraining;
  if (!fifo.empty() && fifo.front() == p) {
    SendCancel();
  } else {
    p->cancel_when_front = true;
  }
}

void PgConnection::Impl::SendCancel() const {
  if (conn == nullptr) return;
  if (cancels_in_flight.fetch_add(1, std::memory_order_relaxed) >= kMaxCancelsInFlight) {
    cancels_in_flight.fetch_sub(1, std::memory_order_relaxed);
    spdlog::debug("postgres cancel request skipped: {} already in flight", kMaxCancelsInFlight);
    return;
  }
  PGcancel* cancel = PQgetCancel(conn);
  if (cancel == nullptr) {
    cancels_in_flight.fetch_sub(1, std::memory_order_relaxed);
    return;
  }
  // PQcancel opens a new connection and waits for the server: never on an io thread.
  std::thread([cancel] {
    std::array<char, 256> error{};
    if (PQcancel(cancel, error.data(), static_cast<int>(error.size())) == 0) {
      spdlog::warn("postgres cancel request failed: {}", error.data());
    }
    PQfreeCancel(cancel);
    cancels_in_flight.fetch_sub(1, std::memory_order_relaxed);
  }).detach();
}

void PgConnection::Impl::FailAll(DbErrorKind kind, const std::string& message) {
  auto pending = std::move(fifo);
  fifo.clear();
  for (auto& p : pending) {
    if (p->done) continue;
    p->done = true;
    p->error = DbError{kind, {}, message};
    p->wake.cancel();
  }
  Finish();
}

void PgConnection::Impl::Finish() {
  state = State::kClosed;
  copy_wake.cancel();
  if (socket.is_open()) (void)socket.release();  // libpq owns the fd; PQfinish closes it
  if (conn != nullptr) {
    PQfinish(conn);
    conn = nullptr;
  }
}

// Connect and Query are plain functions, not coroutines, so that what they are given is
// copied or moved into the coroutine frame before they return (GCC 12 mishandles
// by-value aggregate arguments of a coroutine built inside a co_await expression).
asio::awaitable<DbResult<PgConnection>> PgConnection::Connect(asio::any_io_executor executor,
                                                              const ConnectOptions& options,
                                                              Clock::time_point deadline) {
  return ConnectImpl(std::make_shared<Impl>(executor, options), deadline);
}

asio::awaitable<DbResult<PgConnection>> PgConnection::ConnectImpl(std::shared_ptr<Impl> impl,
                                                                  Clock::time_point deadline) {
  auto connected = co_await impl->Connect(deadline);
  if (!connected) co_return core::Unexpected<DbError>{std::move(connected).error()};
  asio::co_spawn(impl->ex, Impl::ReadLoop(impl), asio::detached);
  co_return PgConnection(std::move(impl));
}

PgConnection& PgConnection::operator=(PgConnection&& other) noexcept {
  if (this != &other) {
    Close();
    impl_ = std::move(other.impl_);
  }
  return *this;
}

PgConnection::~PgConnection() { Close(); }

asio::awaitable<DbResult<PgResult>> PgConnection::Query(std::string_view sql, Params params,
                                                        Clock::time_point deadline) {
  return Impl::Run(impl_, nullptr, sql, std::move(params), deadline);
}

asio::awaitable<DbResult<PgResult>> PgConnection::Query(const Statement& statement, Params params,
                                                        Clock::time_point deadline) {
  return Impl::Run(impl_, &statement.name, statement.sql, std::move(params), deadline);
}

asio::awaitable<DbResult<std::int64_t>> PgConnection::CopyIn(std::string_view sql,
                                                             CopySource source,
                                                             Clock::time_point deadline) {
  return Impl::Copy(impl_, sql, std::move(source), deadline);
}

bool PgConnection::usable() const { return impl_ && impl_->state == State::kReady; }

std::size_t PgConnection::in_flight() const { return impl_ ? impl_->fifo.size() : 0; }

int PgConnection::backend_pid() const {
  return impl_ && impl_->conn != nullptr ? PQbackendPID(impl_->conn) : 0;
}

void PgConnection::Close() {
  if (impl_) impl_->FailAll(DbErrorKind::kConnection, "connection closed");
}

}  // namespace myriad::db

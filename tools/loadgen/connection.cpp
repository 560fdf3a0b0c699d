#include "loadgen/connection.hpp"

#include <sys/socket.h>
#include <sys/uio.h>

#include <array>
#include <boost/asio/as_tuple.hpp>
#include <boost/asio/buffer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/http/basic_parser.hpp>
#include <boost/beast/http/error.hpp>
#include <boost/optional/optional.hpp>
#include <cerrno>
#include <charconv>
#include <cstring>
#include <ctime>
#include <optional>
#include <tuple>

namespace myriad::load {
namespace {

namespace asio = boost::asio;
namespace http = boost::beast::http;
using boost::system::error_code;

constexpr std::size_t kInitialBuffer = 4096;
constexpr std::size_t kHeaderLimit = 64 * 1024;
constexpr std::uint64_t kBodyLimit = 64ULL * 1024 * 1024;

// Beast's own response_parser keeps every field and the body in a message; a load
// generator reads most responses only for their status and length, so this parser keeps
// the rest only when a capture needs it.
class ResponseParser final : public http::basic_parser<false> {
 public:
  ResponseParser(Response& out, bool keep) : out_(out), keep_(keep) {
    header_limit(kHeaderLimit);
    body_limit(kBodyLimit);
    eager(true);
  }

 private:
  void on_request_impl(http::verb /*method*/, boost::beast::string_view /*method_str*/,
                       boost::beast::string_view /*target*/, int /*version*/,
                       error_code& ec) override {
    ec = http::error::bad_method;  // cannot happen: this parser reads responses
  }
  void on_response_impl(int code, boost::beast::string_view /*reason*/, int /*version*/,
                        error_code& /*ec*/) override {
    out_.status = code;
  }
  void on_field_impl(http::field field, boost::beast::string_view name,
                     boost::beast::string_view value, error_code& /*ec*/) override {
    if (keep_) out_.headers.emplace_back(std::string(name), std::string(value));
    if (field == http::field::retry_after) {
      // Delay-seconds only (RFC 9110 10.2.3); an HTTP-date is ignored.
      std::int64_t seconds = 0;
      const auto* end = value.data() + value.size();
      const auto [ptr, parse_ec] = std::from_chars(value.data(), end, seconds);
      if (parse_ec == std::errc() && ptr == end && seconds >= 0 && seconds <= 3600) {
        out_.retry_after = std::chrono::seconds(seconds);
      }
    }
  }
  void on_header_impl(error_code& /*ec*/) override {}
  void on_body_init_impl(const boost::optional<std::uint64_t>& length,
                         error_code& /*ec*/) override {
    if (keep_ && length && *length <= kBodyLimit) out_.body.reserve(*length);
  }
  std::size_t on_body_impl(boost::beast::string_view body, error_code& /*ec*/) override {
    if (keep_) out_.body.append(body.data(), body.size());
    return body.size();
  }
  void on_chunk_header_impl(std::uint64_t /*size*/, boost::beast::string_view /*extensions*/,
                            error_code& /*ec*/) override {}
  std::size_t on_chunk_body_impl(std::uint64_t /*remain*/, boost::beast::string_view body,
                                 error_code& /*ec*/) override {
    if (keep_) out_.body.append(body.data(), body.size());
    return body.size();
  }
  void on_finish_impl(error_code& /*ec*/) override {}

  Response& out_;
  bool keep_;
};

// When the data recvmsg() returned reached this host's network stack: the kernel's receive
// timestamp (SO_TIMESTAMPNS, the wall clock) moved to the steady clock by its age now.
// Without a timestamp (the option refused), now.
std::chrono::steady_clock::time_point ArrivalOf(msghdr& message) {
  const auto steady_now = std::chrono::steady_clock::now();
  for (cmsghdr* c = CMSG_FIRSTHDR(&message); c != nullptr; c = CMSG_NXTHDR(&message, c)) {
    if (c->cmsg_level != SOL_SOCKET || c->cmsg_type != SCM_TIMESTAMPNS) continue;
    timespec stamp{};
    std::memcpy(&stamp, CMSG_DATA(c), sizeof stamp);
    timespec real_now{};
    ::clock_gettime(CLOCK_REALTIME, &real_now);
    const auto age = std::chrono::seconds(real_now.tv_sec - stamp.tv_sec) +
                     std::chrono::nanoseconds(real_now.tv_nsec - stamp.tv_nsec);
    // A wall clock stepped between the two readings gives a nonsense age: keep now.
    if (age < std::chrono::nanoseconds(0) || age > std::chrono::minutes(10)) return steady_now;
    return steady_now - std::chrono::duration_cast<std::chrono::steady_clock::duration>(age);
  }
  return steady_now;
}

bool IsReset(const error_code& ec) {
  return ec == asio::error::eof || ec == asio::error::connection_reset ||
         ec == asio::error::broken_pipe || ec == asio::error::connection_aborted ||
         ec == http::error::partial_message;
}

}  // namespace

HttpConnection::HttpConnection(const asio::any_io_executor& executor, bool arrival_timestamps)
    : socket_(executor), arrival_timestamps_(arrival_timestamps), buffer_(kInitialBuffer) {}

asio::awaitable<bool> HttpConnection::Connect(const asio::ip::tcp::endpoint& endpoint,
                                              Clock::time_point deadline) {
  Close();
  expired_ = false;
  deadline_ = deadline;
  error_code ec;
  socket_.open(endpoint.protocol(), ec);
  if (ec) {
    deadline_ = Clock::time_point::max();
    co_return false;
  }
  auto [connect_ec] = co_await socket_.async_connect(endpoint, asio::as_tuple(asio::use_awaitable));
  deadline_ = Clock::time_point::max();
  if (connect_ec || !socket_.is_open()) {
    Close();
    co_return false;
  }
  socket_.set_option(asio::ip::tcp::no_delay(true), ec);
  // Receive timestamps, so a response's latency ends when it arrived, not when this
  // process got round to reading it (see Response::received_at). Refused: Receive falls
  // back to the time of the read.
  if (arrival_timestamps_) {
    const int on = 1;
    ::setsockopt(socket_.native_handle(), SOL_SOCKET, SO_TIMESTAMPNS, &on, sizeof on);
  }
  // For Exchange's direct write: would_block instead of blocking when the buffer is full.
  socket_.non_blocking(true, ec);
  if (ec) {
    Close();
    co_return false;
  }
  co_return true;
}

asio::awaitable<Response> HttpConnection::Exchange(std::string_view request, bool head, bool keep,
                                                   Clock::time_point deadline) {
  Response out;
  const auto fail = [&](ErrorKind kind) {
    out.ok = false;
    out.error = kind;
    Close();
    return std::move(out);
  };
  if (!socket_.is_open()) co_return fail(ErrorKind::kReset);
  expired_ = false;
  deadline_ = deadline;

  // The request is written here, not through async_write: its completion would resume this
  // coroutine only after every handler already queued on the thread (thousands, with
  // thousands of connections), and that wait, which wrk does not have, would count in the
  // latency. A request fits in an idle connection's send buffer; whatever does not goes
  // the asynchronous way.
  error_code write_ec;
  std::size_t written = socket_.write_some(asio::buffer(request.data(), request.size()), write_ec);
  if (write_ec == asio::error::would_block || write_ec == asio::error::try_again) {
    write_ec = {};
    written = 0;
  }
  if (!write_ec && written < request.size()) {
    std::tie(write_ec, std::ignore) = co_await asio::async_write(
        socket_, asio::buffer(request.data() + written, request.size() - written),
        asio::as_tuple(asio::use_awaitable));
  }
  if (write_ec) {
    deadline_ = Clock::time_point::max();
    co_return fail(expired_ ? ErrorKind::kTimeout : ErrorKind::kReset);
  }

  ResponseParser parser(out, keep);
  if (head) parser.skip(true);
  for (;;) {
    // Parse what is buffered first: it may hold the whole response already.
    if (buffered_ > 0) {
      error_code parse_ec;
      const std::size_t used = parser.put(asio::buffer(buffer_.data(), buffered_), parse_ec);
      if (used > 0) {
        std::memmove(buffer_.data(), buffer_.data() + used, buffered_ - used);
        buffered_ -= used;
        out.bytes += static_cast<std::int64_t>(used);
      }
      if (parse_ec && parse_ec != http::error::need_more) {
        deadline_ = Clock::time_point::max();
        co_return fail(ErrorKind::kProtocol);
      }
      if (parser.is_done()) break;
      if (!parse_ec && used > 0) continue;
    }
    if (buffered_ == buffer_.size()) {
      if (buffer_.size() >= kHeaderLimit && !parser.is_header_done()) {
        deadline_ = Clock::time_point::max();
        co_return fail(ErrorKind::kProtocol);
      }
      buffer_.resize(buffer_.size() * 2);
    }
    auto [read_ec, n] =
        co_await ReadSome(asio::buffer(buffer_.data() + buffered_, buffer_.size() - buffered_));
    if (read_ec == asio::error::eof && parser.got_some() && !parser.is_done()) {
      // A body delimited by the end of the connection ends here.
      error_code eof_ec;
      parser.put_eof(eof_ec);
      if (!eof_ec && parser.is_done()) {
        out.keep_alive = false;
        break;
      }
    }
    if (read_ec) {
      deadline_ = Clock::time_point::max();
      if (expired_) co_return fail(ErrorKind::kTimeout);
      co_return fail(IsReset(read_ec) ? ErrorKind::kReset : ErrorKind::kProtocol);
    }
    buffered_ += n;
  }
  deadline_ = Clock::time_point::max();
  out.ok = true;
  if (arrival_timestamps_) out.received_at = arrival_;
  out.keep_alive = out.keep_alive && parser.keep_alive();
  if (!out.keep_alive) Close();
  co_return out;
}

// Not a coroutine itself: it hands back the awaitable of one or the other read.
asio::awaitable<std::tuple<error_code, std::size_t>> HttpConnection::ReadSome(
    asio::mutable_buffer space) {
  if (arrival_timestamps_) return Receive(space);
  return socket_.async_read_some(space, asio::as_tuple(asio::use_awaitable));
}

// recvmsg() instead of async_read_some: the read needs its control message, the receive
// timestamp, which Asio's reads drop. Asio still does the waiting (async_wait).
asio::awaitable<std::tuple<error_code, std::size_t>> HttpConnection::Receive(
    asio::mutable_buffer space) {
  // After a read that drained the socket, a read now would only say "would block" (a
  // request was just written): wait first, as Asio's own reads do. The wait re-arms the
  // socket in epoll (EPOLL_CTL_MOD), which also reports data that is already there.
  for (bool wait = drained_;; wait = true) {
    if (wait) {
      auto [wait_ec] = co_await socket_.async_wait(asio::ip::tcp::socket::wait_read,
                                                   asio::as_tuple(asio::use_awaitable));
      if (wait_ec) co_return std::tuple(wait_ec, std::size_t{0});
    }
    iovec chunk{space.data(), space.size()};
    alignas(cmsghdr) std::array<char, CMSG_SPACE(sizeof(timespec))> control{};
    msghdr message{};
    message.msg_iov = &chunk;
    message.msg_iovlen = 1;
    message.msg_control = control.data();
    message.msg_controllen = control.size();
    ssize_t n = 0;
    do {
      n = ::recvmsg(socket_.native_handle(), &message, MSG_DONTWAIT);
    } while (n < 0 && errno == EINTR);
    if (n > 0) {
      arrival_ = ArrivalOf(message);
      drained_ = static_cast<std::size_t>(n) < space.size();
      co_return std::tuple(error_code(), static_cast<std::size_t>(n));
    }
    if (n == 0) co_return std::tuple(error_code(asio::error::eof), std::size_t{0});
    const int error = errno;
    if (error != EAGAIN && error != EWOULDBLOCK) {
      co_return std::tuple(error_code(error, asio::error::get_system_category()), std::size_t{0});
    }
  }
}

bool HttpConnection::ExpireIfLate(Clock::time_point now) {
  if (now < deadline_ || !socket_.is_open()) return false;
  expired_ = true;
  deadline_ = Clock::time_point::max();
  error_code ignored;
  socket_.close(ignored);
  return true;
}

void HttpConnection::Close() {
  buffered_ = 0;
  drained_ = false;
  if (!socket_.is_open()) return;
  error_code ignored;
  socket_.close(ignored);
}

}  // namespace myriad::load

#pragma once

#include <boost/asio/awaitable.hpp>
#include <boost/asio/buffer.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <chrono>
#include <cstdint>
#include <string>
#include <string_view>
#include <tuple>
#include <utility>
#include <vector>

#include "loadgen/stats.hpp"

namespace myriad::load {

/// What one exchange got back.
struct Response {
  bool ok = false;    // a complete response arrived (any status)
  ErrorKind error{};  // when !ok
  int status = 0;
  bool keep_alive = true;
  std::int64_t bytes = 0;                           // header and body bytes read for this response
  std::chrono::steady_clock::time_point sent_at{};  // when the request was written (Send)
  /// When the response's last bytes reached this host's network stack (the kernel's receive
  /// timestamp), which can be well before this process reads them: with thousands of
  /// connections on one thread, a response waits its turn in the socket. Latency ends here,
  /// so that wait, the load generator's own, is not charged to the server.
  std::chrono::steady_clock::time_point received_at{};
  std::chrono::seconds retry_after{0};  // a Retry-After header's delay, if any
  /// Only when the exchange asked for them (captures need them).
  std::vector<std::pair<std::string, std::string>> headers;
  std::string body;
};

/// One HTTP/1.1 keep-alive client connection, used by one coroutine at a time on one io
/// thread. Deadlines are not timers per request: the thread's watchdog calls
/// ExpireIfLate() every few milliseconds, which closes a connection past its deadline (so
/// the pending operation fails and the exchange reports kTimeout).
class HttpConnection {
 public:
  using Clock = std::chrono::steady_clock;

  /// `arrival_timestamps`: time each response by the kernel's receive timestamp
  /// (Response::received_at); otherwise received_at stays unset and reads go through Asio.
  HttpConnection(const boost::asio::any_io_executor& executor, bool arrival_timestamps);

  bool IsOpen() const { return socket_.is_open(); }
  /// Connects (closing any previous socket). Fails with kConnect, also on the deadline.
  boost::asio::awaitable<bool> Connect(const boost::asio::ip::tcp::endpoint& endpoint,
                                       Clock::time_point deadline);
  /// Writes `request` (a complete HTTP/1.1 request) and reads one response. `head`: a HEAD
  /// request (no body follows). `keep` asks for the headers and body in the Response.
  /// On any failure the socket is closed; so is it when the response says Connection: close.
  boost::asio::awaitable<Response> Exchange(std::string_view request, bool head, bool keep,
                                            Clock::time_point deadline);
  /// Closes the socket if an operation is pending past its deadline; true if it did.
  bool ExpireIfLate(Clock::time_point now);
  /// Closes the socket now (the run is over); a pending operation ends with an error.
  void Close();

 private:
  // Reads some bytes into `space`: through Receive with arrival timestamps, else Asio.
  boost::asio::awaitable<std::tuple<boost::system::error_code, std::size_t>> ReadSome(
      boost::asio::mutable_buffer space);
  // With arrival timestamps: reads what is there into `space`, waiting until the socket is
  // readable; sets arrival_.
  boost::asio::awaitable<std::tuple<boost::system::error_code, std::size_t>> Receive(
      boost::asio::mutable_buffer space);

  boost::asio::ip::tcp::socket socket_;
  bool arrival_timestamps_;
  std::vector<char> buffer_;  // bytes read but not yet parsed: the start of the next response
  std::size_t buffered_ = 0;
  Clock::time_point deadline_ = Clock::time_point::max();
  bool expired_ = false;
  Clock::time_point arrival_{};  // of the last bytes Receive returned
  bool drained_ = false;         // the last read left nothing in the socket
};

}  // namespace myriad::load

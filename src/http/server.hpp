#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "http/access_log.hpp"
#include "http/cors.hpp"
#include "http/handler.hpp"
#include "http/worker_services.hpp"
#include "net/trusted_proxies.hpp"

namespace myriad::metrics {
class HttpMetrics;
class Registry;
}  // namespace myriad::metrics

namespace myriad::http {

struct ServerOptions {
  std::string host = "127.0.0.1";
  std::uint16_t port = 8080;  // 0: an ephemeral port, see Server::port()
  unsigned threads = 1;
  std::size_t max_connections = 16384;
  std::size_t max_concurrency = 10240;
  std::size_t max_header_bytes = 16 * 1024;
  std::size_t max_body_bytes = 1024 * 1024;
  std::chrono::milliseconds header_timeout{10'000};
  std::chrono::milliseconds body_timeout{30'000};
  std::chrono::milliseconds idle_timeout{60'000};
  std::chrono::milliseconds write_timeout{30'000};
  std::chrono::seconds retry_after{1};
  /// Each request's Request::deadline() is its dispatch time plus this.
  std::chrono::milliseconds request_timeout{10'000};
  /// Open connections allowed from one client address (nginx's limit_conn); 0 = no cap.
  std::size_t max_connections_per_ip = 0;
  /// Peers in these networks (a load balancer) are never capped: their connections carry
  /// many clients.
  net::TrustedProxies trusted_proxies;
  /// Origins allowed to make cross-origin requests (see CorsPolicy); empty: no CORS headers.
  std::vector<std::string> cors_origins;
};

/// The HTTP/1.1 server: T io threads, each with its own io_context and SO_REUSEPORT
/// listener; a connection lives and dies on one thread. Requests on a connection are
/// answered in order (pipelining), handlers run on the connection's io thread.
class Server {
 public:
  /// `routes` and `registry` must outlive the server; `access_log` may be null.
  Server(ServerOptions options, const Routes& routes, metrics::Registry& registry,
         AccessLog* access_log);
  ~Server();
  Server(const Server&) = delete;
  Server& operator=(const Server&) = delete;

  /// Sets what each io thread gets as its WorkerServices; call before Start().
  void SetWorkerInit(WorkerInit init) { worker_init_ = std::move(init); }

  /// Binds every listener and starts the io threads. Throws std::system_error when the
  /// address cannot be bound (a start-up error).
  void Start();
  /// The bound port (useful with port 0). Valid after Start().
  std::uint16_t port() const { return port_; }

  /// Graceful shutdown; thread-safe, idempotent, returns at once. Stops accepting,
  /// closes idle keep-alive connections, lets requests in flight finish and answers
  /// them with "Connection: close".
  void Shutdown();
  /// Waits until every connection is gone or `timeout` passes; then closes whatever is
  /// left and joins the io threads. Returns true when it drained in time.
  bool Wait(std::chrono::milliseconds timeout);

  bool draining() const { return draining_.load(std::memory_order_relaxed); }
  std::size_t open_connections() const { return open_connections_.load(std::memory_order_relaxed); }
  std::size_t in_flight() const { return in_flight_.load(std::memory_order_relaxed); }

  struct Worker;           // per-thread state, defined in server.cpp
  class PerIpConnections;  // open connections per client address, defined in server.cpp

 private:
  friend struct ServerAccess;
  ServerOptions options_;
  const Routes& routes_;
  std::unique_ptr<metrics::HttpMetrics> metrics_;
  AccessLog* access_log_;
  CorsPolicy cors_;
  WorkerInit worker_init_;
  // Declared before workers_: sessions destroyed with a worker's io_context release their
  // slot in it.
  std::unique_ptr<PerIpConnections> per_ip_;  // null when the cap is off
  std::vector<std::unique_ptr<Worker>> workers_;
  std::uint16_t port_ = 0;
  std::atomic<bool> draining_{false};
  std::atomic<std::size_t> open_connections_{0};
  std::atomic<std::size_t> in_flight_{0};
  std::mutex running_mutex_;
  std::condition_variable running_changed_;
  std::size_t running_workers_ = 0;  // guarded by running_mutex_
  bool joined_ = false;
};

}  // namespace myriad::http

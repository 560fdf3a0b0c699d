#pragma once

#include <boost/asio/awaitable.hpp>
#include <functional>
#include <string_view>
#include <vector>

#include "http/request.hpp"
#include "http/response.hpp"
#include "http/router.hpp"

namespace myriad::http {

/// A handler that answers without waiting on I/O (health, metrics, validation errors).
/// Runs on the io thread: it must not block.
using SyncHandler = std::function<Response(const Request&)>;
/// A handler that awaits I/O (database, cache). Runs as a coroutine on the io thread.
using AsyncHandler = std::function<boost::asio::awaitable<Response>(const Request&)>;

/// A route's handler and its policy flags.
struct Handler {
  SyncHandler sync;
  AsyncHandler async;
  /// Exempt from --max-concurrency (cheap probes that must answer under overload).
  bool exempt_from_limits = false;
};

/// The routing table plus handlers: what `Register...()` functions add to and the server
/// dispatches from. Built at start-up, then read-only.
class Routes {
 public:
  void Add(Method method, std::string_view pattern, SyncHandler handler, bool exempt = false) {
    Store(router_.Add(method, pattern), Handler{std::move(handler), nullptr, exempt});
  }
  void AddAsync(Method method, std::string_view pattern, AsyncHandler handler) {
    Store(router_.Add(method, pattern), Handler{nullptr, std::move(handler), false});
  }
  const Router& router() const { return router_; }
  const Handler& handler(std::size_t slot) const { return handlers_[slot]; }

 private:
  void Store(std::size_t slot, Handler handler) {
    if (handlers_.size() <= slot) handlers_.resize(slot + 1);
    handlers_[slot] = std::move(handler);
  }
  Router router_;
  std::vector<Handler> handlers_;
};

}  // namespace myriad::http

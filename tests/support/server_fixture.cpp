#include "support/server_fixture.hpp"

#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <charconv>
#include <stdexcept>
#include <thread>

namespace myriad::testing {

http::ServerOptions TestServer::DefaultOptions() {
  http::ServerOptions o;
  o.host = "127.0.0.1";
  o.port = 0;
  o.threads = 2;
  return o;
}

TestServer::TestServer(http::ServerOptions options,
                       const std::function<void(http::Routes&)>& add_routes,
                       const std::string& access_log) {
  registry_.AddProcessMetrics();
  health::RegisterHealthRoutes(routes_, readiness_, registry_);
  AddTestRoutes(routes_);
  if (add_routes) add_routes(routes_);
  access_log_ = std::make_unique<http::AccessLog>(access_log, log::Format::kJson);
  server_ = std::make_unique<http::Server>(options, routes_, registry_, access_log_.get());
  server_->Start();
}

TestServer::~TestServer() {
  access_log_->Flush();
  server_->Shutdown();
  server_->Wait(std::chrono::seconds(10));
}

void AddTestRoutes(http::Routes& routes) {
  routes.AddAsync(http::Method::kGet, "/test/sleep",
                  [](const http::Request& request) -> boost::asio::awaitable<http::Response> {
                    int ms = 0;
                    auto query = request.query();
                    if (query.substr(0, 3) == "ms=") {
                      std::from_chars(query.data() + 3, query.data() + query.size(), ms);
                    }
                    boost::asio::steady_timer timer(co_await boost::asio::this_coro::executor);
                    timer.expires_after(std::chrono::milliseconds(ms));
                    co_await timer.async_wait(boost::asio::use_awaitable);
                    co_return http::JsonResponse(200, R"({"slept":true})");
                  });
  routes.Add(http::Method::kPost, "/test/echo", [](const http::Request& request) {
    http::Response r;
    r.content_type = "application/octet-stream";
    r.body = std::string(request.body());
    return r;
  });
  routes.Add(http::Method::kGet, "/test/throw",
             [](const http::Request&) -> http::Response { throw std::runtime_error("boom"); });
}

double MetricValue(const std::string& text, const std::string& series) {
  std::size_t pos = 0;
  while ((pos = text.find(series, pos)) != std::string::npos) {
    bool line_start = pos == 0 || text[pos - 1] == '\n';
    std::size_t after = pos + series.size();
    if (line_start && after < text.size() && text[after] == ' ') {
      std::size_t end = text.find('\n', after);
      return std::stod(text.substr(after + 1, end - after - 1));
    }
    pos = after;
  }
  return -1;
}

bool Eventually(const std::function<bool()>& condition, std::chrono::milliseconds timeout) {
  auto deadline = std::chrono::steady_clock::now() + timeout;
  while (std::chrono::steady_clock::now() < deadline) {
    if (condition()) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  return condition();
}

}  // namespace myriad::testing

#include "app/serve_command.hpp"

#include <spdlog/spdlog.h>
#include <sys/resource.h>

#include <boost/asio/io_context.hpp>
#include <boost/asio/signal_set.hpp>
#include <csignal>
#include <cstdlib>
#include <future>
#include <thread>

#include "core/build_info.hpp"
#include "health/health_api.hpp"
#include "http/access_log.hpp"
#include "http/server.hpp"
#include "log/log.hpp"
#include "metrics/registry.hpp"

namespace myriad::app {
namespace {

// Descriptors the process needs besides client sockets: listeners, logs, /proc reads,
// and later database and Redis connections.
constexpr unsigned long kReservedDescriptors = 256;

http::ServerOptions ToServerOptions(const config::ServeSettings& s) {
  http::ServerOptions o;
  o.host = s.listen.host;
  o.port = s.listen.port;
  o.threads = s.threads != 0 ? s.threads : std::max(1U, std::thread::hardware_concurrency());
  o.max_connections = s.max_connections;
  o.max_concurrency = s.max_concurrency;
  o.max_header_bytes = s.max_header_bytes;
  o.max_body_bytes = s.max_body_bytes;
  o.header_timeout = s.header_timeout;
  o.body_timeout = s.body_timeout;
  o.idle_timeout = s.idle_timeout;
  o.write_timeout = s.write_timeout;
  o.retry_after = s.retry_after;
  return o;
}

std::string HostForUrl(const std::string& host) {
  return host.find(':') != std::string::npos ? "[" + host + "]" : host;
}

}  // namespace

unsigned long RaiseOpenFilesLimit() {
  rlimit limit{};
  if (getrlimit(RLIMIT_NOFILE, &limit) != 0) return 0;
  if (limit.rlim_cur < limit.rlim_max) {
    rlimit raised = limit;
    raised.rlim_cur = limit.rlim_max;
    if (setrlimit(RLIMIT_NOFILE, &raised) == 0) limit = raised;
  }
  return static_cast<unsigned long>(limit.rlim_cur);
}

int RunServe(const config::ServeSettings& settings) {
  const auto format =
      settings.log_format == config::LogFormat::kJson ? log::Format::kJson : log::Format::kText;
  log::Init(settings.log_level, format);
  std::signal(SIGPIPE, SIG_IGN);

  const unsigned long files = RaiseOpenFilesLimit();
  if (files < settings.max_connections + kReservedDescriptors) {
    spdlog::warn(
        "open-files limit is {} but --max-connections {} needs about {}; connections beyond "
        "the limit will fail to be accepted (raise the hard limit: ulimit -Hn)",
        files, settings.max_connections, settings.max_connections + kReservedDescriptors);
  }

  metrics::Registry registry;
  registry.AddProcessMetrics();
  health::Readiness readiness;
  http::Routes routes;
  health::RegisterHealthRoutes(routes, readiness, registry);

  std::unique_ptr<http::AccessLog> access_log;
  try {
    access_log = std::make_unique<http::AccessLog>(settings.access_log, format);
  } catch (const std::exception& e) {
    spdlog::critical("--access-log {}: {}", settings.access_log, e.what());
    return 1;
  }

  // Signals are claimed before the listeners open: a SIGTERM that arrives as soon as the
  // port answers must drain, not kill.
  boost::asio::io_context signals_ctx(1);
  boost::asio::signal_set signals(signals_ctx, SIGINT, SIGTERM);
  std::promise<void> first_signal;

  const auto options = ToServerOptions(settings);
  http::Server server(options, routes, registry, access_log.get());
  try {
    server.Start();
  } catch (const std::exception& e) {
    spdlog::critical("cannot start: {}", e.what());
    return 1;
  }
  const auto& build = core::GetBuildInfo();
  spdlog::info("myriad {} listening on http://{}:{} ({} io threads, max {} connections)",
               build.version, HostForUrl(options.host), server.port(), options.threads,
               options.max_connections);

  signals.async_wait([&](const boost::system::error_code& ec, int signo) {
    if (ec) return;
    spdlog::info("signal {}: draining (up to {} ms); a second signal exits at once", signo,
                 settings.shutdown_timeout.count());
    readiness.SetDraining();
    server.Shutdown();
    first_signal.set_value();
    signals.async_wait([](const boost::system::error_code& ec2, int signo2) {
      if (ec2) return;
      spdlog::warn("second signal {}: exiting now", signo2);
      spdlog::default_logger()->flush();
      std::_Exit(128 + signo2);
    });
  });
  std::thread signal_thread([&] { signals_ctx.run(); });

  first_signal.get_future().wait();
  const bool drained = server.Wait(settings.shutdown_timeout);
  if (drained) {
    spdlog::info("drained; exiting");
  } else {
    spdlog::warn("shutdown timeout ({} ms) reached with {} connections open; closed them",
                 settings.shutdown_timeout.count(), server.open_connections());
  }
  signals_ctx.stop();
  signal_thread.join();
  if (access_log) access_log->Flush();
  log::Shutdown();
  return 0;
}

}  // namespace myriad::app

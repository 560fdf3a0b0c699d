#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "config/auth_settings.hpp"
#include "config/database_settings.hpp"
#include "config/redis_settings.hpp"
#include "net/trusted_proxies.hpp"

namespace CLI {
class App;
}

namespace myriad::config {

enum class LogFormat { kJson, kText };

struct ListenAddress {
  std::string host = "127.0.0.1";
  std::uint16_t port = 8080;
};

/// Everything `myriad serve` can be told. Each field is a flag and a MYRIAD_* environment
/// variable of the same name (flag `--max-connections`, variable MYRIAD_MAX_CONNECTIONS).
struct ServeSettings {
  ListenAddress listen;
  /// io threads; 0 means the number of cores.
  unsigned threads = 0;
  std::string log_level = "info";
  LogFormat log_format = LogFormat::kJson;
  /// "stdout", "stderr", "off" or a file path.
  std::string access_log = "stdout";

  std::size_t max_connections = 16384;
  /// Open connections from one client address (nginx's limit_conn); 0 = no cap. Peers in
  /// trusted_proxies are exempt.
  std::size_t max_connections_per_ip = 20;
  /// Load balancers whose X-Forwarded-For is believed; no one by default.
  net::TrustedProxies trusted_proxies;
  /// Browser origins allowed to make cross-origin requests, in canonical form
  /// ("https://app.example.com"); none by default: no CORS headers at all.
  std::vector<std::string> cors_origins;
  /// In-flight requests per process. A connection has at most one request in flight, so
  /// this default never trips for a server that keeps up with 10,000 connections.
  std::size_t max_concurrency = 10240;
  std::size_t max_header_bytes = 16 * 1024;
  std::size_t max_body_bytes = 1024 * 1024;

  std::chrono::milliseconds header_timeout{10'000};
  std::chrono::milliseconds body_timeout{30'000};
  std::chrono::milliseconds idle_timeout{60'000};
  std::chrono::milliseconds write_timeout{30'000};
  std::chrono::milliseconds shutdown_timeout{10'000};
  std::chrono::seconds retry_after{1};
  /// Time a request may take from its arrival; database work past it is cancelled and the
  /// request answered 504.
  std::chrono::milliseconds request_timeout{10'000};

  /// Without a URL the server runs without its database: only health and metrics.
  DatabaseSettings database;
  PoolSettings pool;
  /// Apply pending migrations before listening.
  bool migrate = false;
  std::string migrations_dir = "migrations";
  /// Key material for list cursors; replicas behind one load balancer must share it.
  std::string cursor_secret;
  /// How often the users search index's pending list is flushed into the index, on a
  /// connection of its own (users/search_index.hpp); 0: never (PostgreSQL then flushes it
  /// when it reaches its size limit, inside some update, or in autovacuum).
  std::chrono::milliseconds search_index_flush{10'000};

  /// Without a URL: an in-process cache and local rate limits only.
  RedisSettings redis;
  CacheSettings cache;
  RateLimitSettings rate_limit;
  AuthSettings auth;
};

/// Registers every ServeSettings field on `app` as a flag with its environment variable,
/// default shown in --help and a validator that names the setting on a bad value.
/// `settings` must outlive `app`: fields are written during app.parse(), and only for
/// settings given on the command line or in the environment (a flag beats its variable;
/// an empty variable counts as unset). The --help defaults are `settings`' values at
/// registration time. A bad value makes app.parse() throw CLI::ValidationError whose
/// message starts with the flag name, e.g. "--threads (MYRIAD_THREADS): ...", whether the
/// value came from the flag or the variable. Giving a flag twice keeps the last value.
void AddServeOptions(CLI::App& app, ServeSettings& settings);

/// Parses "10s", "250ms", "2m", "1h" or a bare number of seconds. Throws
/// std::invalid_argument on anything else or a negative value.
std::chrono::milliseconds ParseDuration(const std::string& text);

/// Parses "1048576", "64k", "1MiB", "16KB"... (k/K/KB/KiB = 1024). Throws
/// std::invalid_argument on anything else.
std::size_t ParseSize(const std::string& text);

/// Parses "host:port", "[v6]:port" or ":port" (host 0.0.0.0). Throws std::invalid_argument.
/// The host must be a literal IPv4 or IPv6 address or "localhost"; the result's host is
/// always a literal address without brackets ("localhost" becomes "127.0.0.1"), so it can
/// be handed to asio::ip::make_address. Port 0 (an ephemeral port) is allowed.
ListenAddress ParseListenAddress(const std::string& text);

/// A whole number in [min, max]; throws std::invalid_argument "must be between ...".
std::size_t ParseCount(const std::string& text, std::size_t min, std::size_t max);

/// ParseSize, then a range check like ParseCount's.
std::size_t ParseSizeInRange(const std::string& text, std::size_t min, std::size_t max);

/// ParseDuration for a timeout: greater than 0 and at most 24 hours.
std::chrono::milliseconds ParseTimeout(const std::string& text);

/// The shortest exact form ParseDuration reads back: "10s", "250ms", "2m", "1h".
std::string FormatDuration(std::chrono::milliseconds duration);

/// The shortest exact form ParseSize reads back: "16KiB", "1MiB", "1000".
std::string FormatSize(std::size_t bytes);

/// "127.0.0.1:8080" or "[::1]:8080".
std::string FormatListenAddress(const ListenAddress& address);

}  // namespace myriad::config

#include "config/settings.hpp"

#include <arpa/inet.h>
#include <netinet/in.h>

#include <CLI/CLI.hpp>
#include <algorithm>
#include <array>
#include <cctype>
#include <charconv>
#include <functional>
#include <limits>
#include <stdexcept>
#include <string_view>
#include <system_error>
#include <utility>

#include "config/cli_option.hpp"
#include "config/redis_settings.hpp"
#include "http/cors.hpp"

namespace myriad::config {
namespace {

using std::chrono::milliseconds;

constexpr std::size_t kKiB = 1024;
constexpr std::size_t kMiB = 1024 * kKiB;
constexpr std::size_t kGiB = 1024 * kMiB;

constexpr milliseconds kMaxTimeout = std::chrono::hours{24};
// Longer gaps let the pending list grow to PostgreSQL's limit, which then flushes it inside
// a user's update.
constexpr milliseconds kMaxSearchIndexFlush = std::chrono::minutes{10};
constexpr std::chrono::seconds kMaxRetryAfter{3600};
constexpr unsigned kMaxThreads = 256;
constexpr std::size_t kMaxConnections = 1'000'000;
constexpr std::size_t kMaxConcurrency = 1'000'000;
constexpr std::size_t kMinHeaderBytes = kKiB;
constexpr std::size_t kMaxHeaderBytes = kMiB;
constexpr std::size_t kMaxBodyBytes = kGiB;

constexpr std::array<std::string_view, 7> kLogLevels = {"trace", "debug",    "info", "warn",
                                                        "error", "critical", "off"};

struct Unit {
  std::string_view suffix;
  std::uint64_t factor;
};

// In increasing order of factor: FormatDuration picks the largest unit that divides exactly.
constexpr std::array<Unit, 5> kDurationUnits = {{
    {"ms", 1},
    {"", 1000},
    {"s", 1000},
    {"m", 60'000},
    {"h", 3'600'000},
}};

// Binary multiples throughout: "16KB" in a server config means 16384 in practice, and mixing
// 1000 and 1024 would make "1MB" and "1MiB" limits differ by 5% for no benefit.
constexpr std::array<Unit, 11> kSizeUnits = {{
    {"", 1},
    {"b", 1},
    {"k", kKiB},
    {"kb", kKiB},
    {"kib", kKiB},
    {"m", kMiB},
    {"mb", kMiB},
    {"mib", kMiB},
    {"g", kGiB},
    {"gb", kGiB},
    {"gib", kGiB},
}};

std::string ToLower(std::string_view text) {
  std::string lower(text);
  std::transform(lower.begin(), lower.end(), lower.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return lower;
}

struct NumberWithSuffix {
  std::uint64_t number;
  std::string_view suffix;
};

// Hand-rolled rather than CLI11's conversion: CLI11 2.1.2 reads unsigned values with strtoull
// in base 0, which wraps "-5" around to a huge number and reads "010" as octal 8.
NumberWithSuffix SplitNumber(std::string_view text, std::string_view what) {
  if (text.empty()) {
    throw std::invalid_argument("empty " + std::string(what));
  }
  if (text.front() == '-') {
    throw std::invalid_argument("invalid " + std::string(what) + " " + Quoted(text) +
                                ": must not be negative");
  }
  std::uint64_t number = 0;
  const auto [end, error] = std::from_chars(text.data(), text.data() + text.size(), number);
  if (error == std::errc::result_out_of_range) {
    throw std::invalid_argument("invalid " + std::string(what) + " " + Quoted(text) +
                                ": too large");
  }
  if (error != std::errc{}) {
    throw std::invalid_argument("invalid " + std::string(what) + " " + Quoted(text) +
                                ": expected a number");
  }
  return {number, text.substr(static_cast<std::size_t>(end - text.data()))};
}

std::uint64_t ParseWholeNumber(std::string_view text) {
  const auto [number, suffix] = SplitNumber(text, "number");
  if (!suffix.empty()) {
    throw std::invalid_argument("invalid number " + Quoted(text) + ": expected digits only");
  }
  return number;
}

std::uint64_t Scale(std::string_view text, std::string_view what, std::uint64_t number,
                    std::uint64_t factor, std::uint64_t max) {
  if (number > max / factor) {
    throw std::invalid_argument("invalid " + std::string(what) + " " + Quoted(text) +
                                ": too large");
  }
  return number * factor;
}

std::string FormatNumber(std::uint64_t number) { return std::to_string(number); }

void CheckRange(std::uint64_t value, std::uint64_t min, std::uint64_t max, std::string_view text,
                const std::function<std::string(std::uint64_t)>& format) {
  if (value < min || value > max) {
    throw std::invalid_argument("must be between " + format(min) + " and " + format(max) +
                                ", got " + Quoted(text));
  }
}

}  // namespace

std::size_t ParseCount(const std::string& text, std::size_t min, std::size_t max) {
  const std::uint64_t value = ParseWholeNumber(text);
  CheckRange(value, min, max, text, FormatNumber);
  return static_cast<std::size_t>(value);
}

std::size_t ParseSizeInRange(const std::string& text, std::size_t min, std::size_t max) {
  const std::size_t value = ParseSize(text);
  CheckRange(value, min, max, text, [](std::uint64_t bytes) { return FormatSize(bytes); });
  return value;
}

milliseconds ParseTimeout(const std::string& text) {
  const milliseconds value = ParseDuration(text);
  if (value <= milliseconds::zero() || value > kMaxTimeout) {
    throw std::invalid_argument("must be greater than 0 and at most " +
                                FormatDuration(kMaxTimeout) + ", got " + Quoted(text));
  }
  return value;
}

namespace {

std::chrono::seconds ParseRetryAfter(const std::string& text) {
  const milliseconds value = ParseDuration(text);
  // Retry-After carries whole seconds; rounding silently would send a different value.
  if (value % std::chrono::seconds{1} != milliseconds::zero()) {
    throw std::invalid_argument("must be a whole number of seconds, got " + Quoted(text));
  }
  const auto seconds = std::chrono::duration_cast<std::chrono::seconds>(value);
  if (seconds < std::chrono::seconds{1} || seconds > kMaxRetryAfter) {
    throw std::invalid_argument("must be between 1s and " + FormatDuration(kMaxRetryAfter) +
                                ", got " + Quoted(text));
  }
  return seconds;
}

milliseconds ParseSearchIndexFlush(const std::string& text) {
  const milliseconds value = ParseDuration(text);
  if (value > kMaxSearchIndexFlush) {
    throw std::invalid_argument("must be at most " + FormatDuration(kMaxSearchIndexFlush) +
                                " (0 turns it off), got " + Quoted(text));
  }
  return value;
}

std::string ParseLogLevel(const std::string& text) {
  if (std::find(kLogLevels.begin(), kLogLevels.end(), text) == kLogLevels.end()) {
    throw std::invalid_argument(
        "must be one of trace, debug, info, warn, error, critical, off; got " + Quoted(text));
  }
  return text;
}

LogFormat ParseLogFormat(const std::string& text) {
  if (text == "json") {
    return LogFormat::kJson;
  }
  if (text == "text") {
    return LogFormat::kText;
  }
  throw std::invalid_argument("must be json or text, got " + Quoted(text));
}

std::string ParseAccessLog(const std::string& text) {
  if (text.empty()) {
    throw std::invalid_argument("must not be empty (use \"off\" to disable the access log)");
  }
  return text;
}

std::string FormatLogFormat(LogFormat format) {
  return format == LogFormat::kJson ? "json" : "text";
}

std::uint16_t ParsePort(std::string_view port, std::string_view text) {
  if (port.empty() || !std::all_of(port.begin(), port.end(),
                                   [](unsigned char c) { return std::isdigit(c) != 0; })) {
    throw std::invalid_argument("invalid listen address " + Quoted(text) +
                                ": the port must be a number from 0 to 65535");
  }
  std::uint64_t number = 0;
  const auto [end, error] = std::from_chars(port.data(), port.data() + port.size(), number);
  if (error != std::errc{} || number > std::numeric_limits<std::uint16_t>::max()) {
    throw std::invalid_argument("invalid listen address " + Quoted(text) +
                                ": the port must be a number from 0 to 65535");
  }
  return static_cast<std::uint16_t>(number);
}

bool IsIpv4(const std::string& host) {
  in_addr address{};
  return inet_pton(AF_INET, host.c_str(), &address) == 1;
}

bool IsIpv6(const std::string& host) {
  in6_addr address{};
  return inet_pton(AF_INET6, host.c_str(), &address) == 1;
}

}  // namespace

void AddServeOptions(CLI::App& app, ServeSettings& settings) {
  ServeSettings& s = settings;
  AddSetting(app, "listen", "ADDR", FormatListenAddress(s.listen),
             "Address to listen on: host:port, [ipv6]:port or :port (all IPv4 interfaces)",
             [&s](const std::string& t) { s.listen = ParseListenAddress(t); });
  AddSetting(app, "threads", "N", std::to_string(s.threads),
             "io threads, 0..256; 0 means one per CPU core", [&s](const std::string& t) {
               s.threads = static_cast<unsigned>(ParseCount(t, 0, kMaxThreads));
             });
  AddSetting(app, "log-level", "LEVEL", s.log_level,
             "Log level: trace, debug, info, warn, error, critical or off",
             [&s](const std::string& t) { s.log_level = ParseLogLevel(t); });
  AddSetting(app, "log-format", "FORMAT", FormatLogFormat(s.log_format),
             "Log line format: json or text",
             [&s](const std::string& t) { s.log_format = ParseLogFormat(t); });
  AddSetting(app, "access-log", "DEST", s.access_log,
             "Access log destination: stdout, stderr, off or a file path",
             [&s](const std::string& t) { s.access_log = ParseAccessLog(t); });
  AddSetting(app, "max-connections", "N", std::to_string(s.max_connections),
             "Open connections per process, 1..1000000; further ones wait in the backlog",
             [&s](const std::string& t) { s.max_connections = ParseCount(t, 1, kMaxConnections); });
  AddSetting(
      app, "max-connections-per-ip", "N", std::to_string(s.max_connections_per_ip),
      "Open connections allowed from one client address, 0..1000000 (0 = no cap); "
      "peers in --trusted-proxies are exempt",
      [&s](const std::string& t) { s.max_connections_per_ip = ParseCount(t, 0, kMaxConnections); });
  AddSetting(app, "trusted-proxies", "CIDRS", s.trusted_proxies.ToString(),
             "Comma-separated CIDRs of load balancers whose X-Forwarded-For is believed; no one "
             "by default",
             [&s](const std::string& t) {
               if (t.empty()) {
                 throw std::invalid_argument("must not be empty (use \"none\" to trust no one)");
               }
               s.trusted_proxies = net::TrustedProxies::Parse(t);
             });
  AddSetting(app, "cors-origins", "ORIGINS", http::FormatCorsOrigins(s.cors_origins),
             "Comma-separated browser origins (scheme://host[:port]) allowed to make "
             "cross-origin requests; none by default (no CORS headers)",
             [&s](const std::string& t) {
               if (t.empty()) {
                 throw std::invalid_argument("must not be empty (use \"none\" to allow no origin)");
               }
               s.cors_origins = http::ParseCorsOrigins(t);
             });
  AddSetting(app, "max-concurrency", "N", std::to_string(s.max_concurrency),
             "In-flight requests per process, 1..1000000; beyond it: 503 with Retry-After",
             [&s](const std::string& t) { s.max_concurrency = ParseCount(t, 1, kMaxConcurrency); });
  AddSetting(app, "max-header-bytes", "SIZE", FormatSize(s.max_header_bytes),
             "Largest request line + headers, 1KiB..1MiB (e.g. 16384, 16KiB)",
             [&s](const std::string& t) {
               s.max_header_bytes = ParseSizeInRange(t, kMinHeaderBytes, kMaxHeaderBytes);
             });
  AddSetting(app, "max-body-bytes", "SIZE", FormatSize(s.max_body_bytes),
             "Largest request body, 0..1GiB (e.g. 1048576, 1MiB)", [&s](const std::string& t) {
               s.max_body_bytes = ParseSizeInRange(t, 0, kMaxBodyBytes);
             });
  AddSetting(app, "header-timeout", "DURATION", FormatDuration(s.header_timeout),
             "Time allowed to receive a request's headers (e.g. 10s, 250ms; bare = seconds)",
             [&s](const std::string& t) { s.header_timeout = ParseTimeout(t); });
  AddSetting(app, "body-timeout", "DURATION", FormatDuration(s.body_timeout),
             "Time allowed to receive a request's body",
             [&s](const std::string& t) { s.body_timeout = ParseTimeout(t); });
  AddSetting(app, "idle-timeout", "DURATION", FormatDuration(s.idle_timeout),
             "Time a keep-alive connection may sit idle between requests",
             [&s](const std::string& t) { s.idle_timeout = ParseTimeout(t); });
  AddSetting(app, "write-timeout", "DURATION", FormatDuration(s.write_timeout),
             "Time allowed to write a response",
             [&s](const std::string& t) { s.write_timeout = ParseTimeout(t); });
  AddSetting(app, "shutdown-timeout", "DURATION", FormatDuration(s.shutdown_timeout),
             "Time in-flight requests get to finish after SIGTERM",
             [&s](const std::string& t) { s.shutdown_timeout = ParseTimeout(t); });
  AddSetting(app, "retry-after", "DURATION", FormatDuration(s.retry_after),
             "Retry-After sent with 503 when overloaded, whole seconds, 1s..1h",
             [&s](const std::string& t) { s.retry_after = ParseRetryAfter(t); });
  AddSetting(app, "request-timeout", "DURATION", FormatDuration(s.request_timeout),
             "Time a request may take; database work past it is cancelled and answered 504",
             [&s](const std::string& t) { s.request_timeout = ParseTimeout(t); });
  AddDatabaseOptions(app, s.database);
  AddPoolOptions(app, s.pool);
  AddRedisOptions(app, s.redis);
  AddCacheOptions(app, s.cache);
  AddAuthOptions(app, s.auth);
  AddRateLimitOptions(app, s.rate_limit);
  AddMigrationsDirOption(app, s.migrations_dir);
  app.add_flag("--migrate", s.migrate, "Apply pending migrations before listening")
      ->envname("MYRIAD_MIGRATE");
  // Shown without a default: it is a secret.
  AddSetting(app, "cursor-secret", "TEXT", "",
             "Key for list cursors; replicas behind one load balancer must share it "
             "(default: a fixed key, which detects tampering but lets anyone mint cursors)",
             [&s](const std::string& t) {
               if (t.empty()) throw std::invalid_argument("must not be empty");
               s.cursor_secret = t;
             });
  AddSetting(app, "search-index-flush", "DURATION", FormatDuration(s.search_index_flush),
             "How often the search index's pending list is flushed (0: leave it to PostgreSQL)",
             [&s](const std::string& t) { s.search_index_flush = ParseSearchIndexFlush(t); });
}

milliseconds ParseDuration(const std::string& text) {
  const auto [number, suffix] = SplitNumber(text, "duration");
  const auto* const unit =
      std::find_if(kDurationUnits.begin(), kDurationUnits.end(),
                   [suffix = suffix](const Unit& u) { return u.suffix == suffix; });
  if (unit == kDurationUnits.end()) {
    throw std::invalid_argument("invalid duration " + Quoted(text) +
                                ": expected a whole number with ms, s, m or h (bare = seconds)");
  }
  const auto max = static_cast<std::uint64_t>(std::numeric_limits<milliseconds::rep>::max());
  return milliseconds{
      static_cast<milliseconds::rep>(Scale(text, "duration", number, unit->factor, max))};
}

std::size_t ParseSize(const std::string& text) {
  const auto [number, suffix] = SplitNumber(text, "size");
  const std::string lower = ToLower(suffix);
  const auto* const unit = std::find_if(kSizeUnits.begin(), kSizeUnits.end(),
                                        [&lower](const Unit& u) { return u.suffix == lower; });
  if (unit == kSizeUnits.end()) {
    throw std::invalid_argument("invalid size " + Quoted(text) +
                                ": expected a whole number of bytes, optionally with "
                                "KiB, MiB or GiB (k, KB, M, MB, G, GB are the same)");
  }
  return static_cast<std::size_t>(
      Scale(text, "size", number, unit->factor, std::numeric_limits<std::size_t>::max()));
}

ListenAddress ParseListenAddress(const std::string& text) {
  if (text.empty()) {
    throw std::invalid_argument("empty listen address: expected host:port, [ipv6]:port or :port");
  }
  ListenAddress address;
  std::string_view rest = text;
  if (rest.front() == '[') {
    const std::size_t close = rest.find(']');
    if (close == std::string_view::npos || close + 1 >= rest.size() || rest[close + 1] != ':') {
      throw std::invalid_argument("invalid listen address " + Quoted(text) +
                                  ": expected [ipv6]:port");
    }
    address.host = std::string(rest.substr(1, close - 1));
    if (!IsIpv6(address.host)) {
      throw std::invalid_argument("invalid listen address " + Quoted(text) + ": " +
                                  Quoted(address.host) + " is not an IPv6 address");
    }
    address.port = ParsePort(rest.substr(close + 2), text);
    return address;
  }
  const std::size_t colon = rest.find(':');
  if (colon == std::string_view::npos) {
    throw std::invalid_argument("invalid listen address " + Quoted(text) +
                                ": expected host:port, [ipv6]:port or :port");
  }
  if (rest.find(':', colon + 1) != std::string_view::npos) {
    throw std::invalid_argument("invalid listen address " + Quoted(text) +
                                ": write an IPv6 host in brackets, e.g. [::1]:8080");
  }
  const std::string host(rest.substr(0, colon));
  if (host.empty()) {
    address.host = "0.0.0.0";
  } else if (host == "localhost") {
    address.host = "127.0.0.1";
  } else if (IsIpv4(host)) {
    address.host = host;
  } else {
    throw std::invalid_argument("invalid listen address " + Quoted(text) +
                                ": the host must be an IPv4 or IPv6 address or localhost");
  }
  address.port = ParsePort(rest.substr(colon + 1), text);
  return address;
}

std::string FormatDuration(milliseconds duration) {
  const auto count = duration.count();
  if (count != 0) {
    // Largest unit first, so 120000 ms prints as "2m".
    for (std::size_t i = kDurationUnits.size(); i-- > 0;) {
      const Unit& unit = kDurationUnits[i];
      const auto factor = static_cast<milliseconds::rep>(unit.factor);
      if (!unit.suffix.empty() && count % factor == 0) {
        return std::to_string(count / factor) + std::string(unit.suffix);
      }
    }
  }
  return std::to_string(count) + "ms";
}

std::string FormatSize(std::size_t bytes) {
  if (bytes != 0) {
    for (const auto& [factor, suffix] :
         {std::pair{kGiB, "GiB"}, std::pair{kMiB, "MiB"}, std::pair{kKiB, "KiB"}}) {
      if (bytes % factor == 0) {
        return std::to_string(bytes / factor) + suffix;
      }
    }
  }
  return std::to_string(bytes);
}

std::string FormatListenAddress(const ListenAddress& address) {
  const bool is_ipv6 = address.host.find(':') != std::string::npos;
  return (is_ipv6 ? "[" + address.host + "]" : address.host) + ":" + std::to_string(address.port);
}

}  // namespace myriad::config

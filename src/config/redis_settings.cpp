#include "config/redis_settings.hpp"

#include <CLI/CLI.hpp>
#include <algorithm>
#include <cctype>
#include <charconv>
#include <cmath>
#include <sstream>
#include <stdexcept>

#include "config/cli_option.hpp"
#include "config/settings.hpp"

namespace myriad::config {
namespace {

using std::chrono::milliseconds;

constexpr std::size_t kMaxRedisConnections = 1000;
constexpr std::size_t kMaxLocalEntries = 100'000'000;
constexpr double kMaxRate = 1'000'000;
constexpr std::size_t kMaxBurst = 1'000'000;

double ParseRate(std::string_view text) {
  double rate = 0;
  const auto* end = text.data() + text.size();
  const auto [ptr, ec] = std::from_chars(text.data(), end, rate);
  if (ec != std::errc{} || ptr != end || !std::isfinite(rate) || rate <= 0 || rate > kMaxRate) {
    throw std::invalid_argument(
        "a rate must be a number of requests per second in (0, 1000000], got " + Quoted(text));
  }
  return rate;
}

std::string FormatRate(double rate) {
  std::ostringstream out;
  out << rate;
  return out.str();
}

bool ValidGroupName(std::string_view name) {
  return !name.empty() && name.size() <= 64 && std::ranges::all_of(name, [](char c) {
    return std::isalnum(static_cast<unsigned char>(c)) != 0 || c == '-' || c == '_';
  });
}

std::string ParseKeyPrefix(const std::string& text) {
  if (text.empty() || text.size() > 64) {
    throw std::invalid_argument("must be 1 to 64 characters, got " + Quoted(text));
  }
  for (char c : text) {
    if (std::isgraph(static_cast<unsigned char>(c)) == 0) {
      throw std::invalid_argument("must be printable characters without spaces, got " +
                                  Quoted(text));
    }
  }
  return text;
}

}  // namespace

std::map<std::string, ratelimit::Limit> ParseRateLimitGroups(const std::string& text) {
  std::map<std::string, ratelimit::Limit> groups;
  std::string_view rest = text;
  while (!rest.empty()) {
    const auto comma = rest.find(',');
    std::string_view entry = rest.substr(0, comma);
    rest = comma == std::string_view::npos ? std::string_view{} : rest.substr(comma + 1);
    while (!entry.empty() && entry.front() == ' ') entry.remove_prefix(1);
    while (!entry.empty() && entry.back() == ' ') entry.remove_suffix(1);
    if (entry.empty()) continue;
    const auto eq = entry.find('=');
    const auto colon = entry.find(':', eq == std::string_view::npos ? 0 : eq);
    if (eq == std::string_view::npos || colon == std::string_view::npos) {
      throw std::invalid_argument("expected group=rate:burst (e.g. users-write=20:10), got " +
                                  Quoted(entry));
    }
    const std::string name(entry.substr(0, eq));
    if (!ValidGroupName(name)) {
      throw std::invalid_argument("in " + Quoted(entry) +
                                  ": a group name is 1 to 64 letters, digits, '-' and '_'");
    }
    ratelimit::Limit limit;
    try {
      limit.rate = ParseRate(entry.substr(eq + 1, colon - eq - 1));
      limit.burst = ParseCount(std::string(entry.substr(colon + 1)), 1, kMaxBurst);
    } catch (const std::invalid_argument& e) {
      throw std::invalid_argument("in " + Quoted(entry) + ": " + e.what());
    }
    groups[name] = limit;
  }
  return groups;
}

std::string FormatRateLimitGroups(const std::map<std::string, ratelimit::Limit>& groups) {
  std::string out;
  for (const auto& [name, limit] : groups) {
    if (!out.empty()) out += ',';
    out += name + "=" + FormatRate(limit.rate) + ":" + std::to_string(limit.burst);
  }
  return out;
}

void AddRedisOptions(CLI::App& app, RedisSettings& settings) {
  RedisSettings& s = settings;
  // The URL may carry a password, so --help shows no default from the environment.
  AddSetting(app, "redis-url", "URL", "",
             "Redis for the cache and shared rate limits, redis://[:password@]host:port/db; "
             "unset: in-process cache and local rate limits only",
             [&s](const std::string& t) {
               s.endpoint = redis::ParseRedisUrl(t);
               s.url = t;
             });
  AddSetting(
      app, "redis-max-connections", "N", std::to_string(s.max_connections),
      "Redis connections per process (split across io threads; pipelined), 1..1000",
      [&s](const std::string& t) { s.max_connections = ParseCount(t, 1, kMaxRedisConnections); });
  AddSetting(app, "redis-timeout", "DURATION", FormatDuration(s.timeout),
             "Longest wait for a Redis reply; past it the request carries on without Redis",
             [&s](const std::string& t) { s.timeout = ParseTimeout(t); });
  AddSetting(app, "redis-connect-timeout", "DURATION", FormatDuration(s.connect_timeout),
             "Time allowed to open a Redis connection",
             [&s](const std::string& t) { s.connect_timeout = ParseTimeout(t); });
  AddSetting(app, "redis-key-prefix", "TEXT", s.key_prefix,
             "Put before every Redis key, so deployments can share one Redis",
             [&s](const std::string& t) { s.key_prefix = ParseKeyPrefix(t); });
}

void AddCacheOptions(CLI::App& app, CacheSettings& settings) {
  CacheSettings& s = settings;
  AddSetting(app, "cache", "on|off", FormatSwitch(s.enabled),
             "Cache user reads (in process, and in Redis when --redis-url is set)",
             [&s](const std::string& t) { s.enabled = ParseSwitch(t); });
  AddSetting(app, "cache-ttl", "DURATION", FormatDuration(s.ttl),
             "How long Redis keeps a cached user (each entry +-10% jitter)",
             [&s](const std::string& t) { s.ttl = ParseTimeout(t); });
  AddSetting(app, "cache-negative-ttl", "DURATION", FormatDuration(s.negative_ttl),
             "How long a \"no such user\" is cached",
             [&s](const std::string& t) { s.negative_ttl = ParseTimeout(t); });
  AddSetting(app, "cache-local-entries", "N", std::to_string(s.local_entries),
             "Users kept in process in front of Redis (0: none)",
             [&s](const std::string& t) { s.local_entries = ParseCount(t, 0, kMaxLocalEntries); });
  AddSetting(app, "cache-local-ttl", "DURATION", FormatDuration(s.local_ttl),
             "Lifetime of an in-process entry while other instances' writes reach this one "
             "(Redis pub/sub invalidations)",
             [&s](const std::string& t) { s.local_ttl = ParseTimeout(t); });
  AddSetting(app, "cache-local-ttl-degraded", "DURATION", FormatDuration(s.local_ttl_degraded),
             "Lifetime of an in-process entry while they may not (no Redis, or its "
             "subscription lost): how stale another instance's write can leave this one",
             [&s](const std::string& t) { s.local_ttl_degraded = ParseTimeout(t); });
}

void AddRateLimitOptions(CLI::App& app, RateLimitSettings& settings) {
  RateLimitSettings& s = settings;
  AddSetting(app, "rate-limit", "on|off", FormatSwitch(s.enabled),
             "Per-client rate limits (off for capacity benchmarks from one address)",
             [&s](const std::string& t) { s.enabled = ParseSwitch(t); });
  AddSetting(app, "rate-limit-rate", "PER_SECOND", FormatRate(s.default_limit.rate),
             "Requests per second per client and route group (token refill rate)",
             [&s](const std::string& t) { s.default_limit.rate = ParseRate(t); });
  AddSetting(app, "rate-limit-burst", "N", std::to_string(s.default_limit.burst),
             "Requests a client may send at once before the rate applies (bucket size)",
             [&s](const std::string& t) { s.default_limit.burst = ParseCount(t, 1, kMaxBurst); });
  AddSetting(app, "rate-limit-groups", "GROUP=RATE:BURST,...", FormatRateLimitGroups(s.groups),
             "Limits for route groups that differ from the default (groups: users-read, "
             "users-write)",
             [&s](const std::string& t) {
               if (t.empty())
                 throw std::invalid_argument("must not be empty (unset: no overrides)");
               s.groups = ParseRateLimitGroups(t);
             });
}

}  // namespace myriad::config

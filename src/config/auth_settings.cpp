#include "config/auth_settings.hpp"

#include <CLI/CLI.hpp>
#include <stdexcept>

#include "config/cli_option.hpp"
#include "config/settings.hpp"

namespace myriad::config {
namespace {

constexpr std::size_t kMaxHashThreads = 256;
constexpr std::size_t kMaxHashQueue = 1'000'000;
// libsodium's Argon2id bounds are far wider; these keep a typo from asking for 4 TiB.
constexpr std::size_t kMinHashMemoryKib = 8;
constexpr std::size_t kMaxHashMemoryKib = 4 * 1024 * 1024;
constexpr std::size_t kMaxHashPasses = 64;
// Past a minute a client has long given up; the queue timeout is there to answer sooner.
constexpr std::chrono::milliseconds kMaxHashQueueTimeout{60'000};

// Token lifetimes: at least a second (tokens carry whole seconds), at most a year.
std::chrono::milliseconds ParseLifetime(const std::string& text) {
  constexpr std::chrono::milliseconds kMin{1'000};
  constexpr std::chrono::milliseconds kMax = std::chrono::hours{24 * 366};
  const auto value = ParseDuration(text);
  if (value < kMin || value > kMax || value.count() % 1000 != 0) {
    throw std::invalid_argument("must be whole seconds from 1s to " + FormatDuration(kMax) +
                                ", got " + Quoted(text));
  }
  return value;
}

std::chrono::milliseconds ParseHashQueueTimeout(const std::string& text) {
  const auto value = ParseDuration(text);
  if (value <= std::chrono::milliseconds::zero() || value > kMaxHashQueueTimeout) {
    throw std::invalid_argument("must be greater than 0 and at most " +
                                FormatDuration(kMaxHashQueueTimeout) + ", got " + Quoted(text));
  }
  return value;
}

std::vector<std::string> ParseList(const std::string& text) {
  std::vector<std::string> out;
  std::size_t start = 0;
  while (start <= text.size()) {
    const auto comma = text.find(',', start);
    const auto end = comma == std::string::npos ? text.size() : comma;
    std::string item = text.substr(start, end - start);
    if (item.empty()) throw std::invalid_argument("has an empty entry, got " + Quoted(text));
    out.push_back(std::move(item));
    if (comma == std::string::npos) break;
    start = comma + 1;
  }
  return out;
}

std::string Join(const std::vector<std::string>& items) {
  std::string out;
  for (const auto& item : items) {
    if (!out.empty()) out += ',';
    out += item;
  }
  return out;
}

std::string ParseName(const std::string& text) {
  if (text.empty() || text.size() > 256) {
    throw std::invalid_argument("must be 1..256 characters, got " + Quoted(text));
  }
  for (const char c : text) {
    if (static_cast<unsigned char>(c) < 0x20 || c == '"' || c == '\\' || c == 0x7f) {
      throw std::invalid_argument(
          "must not contain quotes, backslashes or control characters, got " + Quoted(text));
    }
  }
  return text;
}

}  // namespace

void AddAuthOptions(CLI::App& app, AuthSettings& settings) {
  AuthSettings& s = settings;
  AddSetting(app, "environment", "development|production",
             s.production ? "production" : "development",
             "production refuses to start without --jwt-key-files", [&s](const std::string& t) {
               if (t != "development" && t != "production") {
                 throw std::invalid_argument("must be development or production, got " + Quoted(t));
               }
               s.production = t == "production";
             });
  AddSetting(app, "jwt-key-files", "PATH,...", Join(s.key_files),
             "Ed25519 signing key files (myriad keygen): the first signs, all verify",
             [&s](const std::string& t) { s.key_files = ParseList(t); });
  AddSetting(app, "jwt-issuer", "TEXT", s.issuer, "The iss of access tokens",
             [&s](const std::string& t) { s.issuer = ParseName(t); });
  AddSetting(app, "jwt-audience", "TEXT", s.audience, "The aud of access tokens",
             [&s](const std::string& t) { s.audience = ParseName(t); });
  AddSetting(app, "access-token-ttl", "DURATION", FormatDuration(s.access_ttl),
             "Lifetime of an access token",
             [&s](const std::string& t) { s.access_ttl = ParseLifetime(t); });
  AddSetting(app, "refresh-token-ttl", "DURATION", FormatDuration(s.refresh_ttl),
             "Lifetime of a refresh token (each refresh issues a new one)",
             [&s](const std::string& t) { s.refresh_ttl = ParseLifetime(t); });
  AddSetting(app, "hash-threads", "N", std::to_string(s.hash_threads),
             "Threads hashing and verifying passwords (Argon2id), apart from the io threads",
             [&s](const std::string& t) { s.hash_threads = ParseCount(t, 1, kMaxHashThreads); });
  AddSetting(app, "hash-queue", "N", std::to_string(s.hash_queue),
             "Password hashes that may wait; beyond it auth endpoints answer 503",
             [&s](const std::string& t) { s.hash_queue = ParseCount(t, 1, kMaxHashQueue); });
  AddSetting(app, "hash-queue-timeout", "DURATION", FormatDuration(s.hash_queue_timeout),
             "Longest a password hash may wait for a thread; past it auth endpoints answer 503",
             [&s](const std::string& t) { s.hash_queue_timeout = ParseHashQueueTimeout(t); });
  AddSetting(app, "hash-memory", "KIB", std::to_string(s.hash_memory_kib),
             "Argon2id memory per hash in KiB (OWASP minimum 19456)", [&s](const std::string& t) {
               s.hash_memory_kib = ParseCount(t, kMinHashMemoryKib, kMaxHashMemoryKib);
             });
  AddSetting(app, "hash-passes", "N", std::to_string(s.hash_passes),
             "Argon2id passes (OWASP minimum 2 at 19 MiB)",
             [&s](const std::string& t) { s.hash_passes = ParseCount(t, 1, kMaxHashPasses); });
  AddSetting(
      app, "login-free-failures", "N", std::to_string(s.login_free_failures),
      "Failed logins an account may have before it is locked out",
      [&s](const std::string& t) { s.login_free_failures = ParseCount(t, 0, kMaxHashQueue); });
  AddSetting(app, "login-lockout", "DURATION", FormatDuration(s.login_lockout),
             "First lockout; each further failure doubles it",
             [&s](const std::string& t) { s.login_lockout = ParseLifetime(t); });
  AddSetting(app, "login-lockout-max", "DURATION", FormatDuration(s.login_lockout_max),
             "Longest lockout (also how long failures are remembered)",
             [&s](const std::string& t) { s.login_lockout_max = ParseLifetime(t); });
  AddSetting(app, "insecure-anonymous-user", "ID", std::to_string(s.insecure_anonymous_user),
             "Development only, for benchmarks: requests without credentials act as this user "
             "(0: off)",
             [&s](const std::string& t) {
               s.insecure_anonymous_user =
                   static_cast<std::int64_t>(ParseCount(t, 0, static_cast<std::size_t>(INT64_MAX)));
             });
}

}  // namespace myriad::config

#include "config/settings.hpp"

#include <gtest/gtest.h>

#include <CLI/CLI.hpp>
#include <cstdlib>
#include <functional>
#include <memory>
#include <optional>
#include <sstream>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

#include "support/scoped_env.hpp"

namespace myriad::config {
namespace {

using myriad::testing::ScopedEnv;

using std::chrono::milliseconds;
using std::chrono::seconds;

struct Setting {
  std::string flag;  // without the leading "--"
  std::string env;
  // A valid non-default value and what it must parse to.
  std::string value;
  std::function<void(const ServeSettings&)> expect_value;
  // A second valid value, different from `value`.
  std::string other;
  std::vector<std::string> invalid;
};

const std::vector<Setting>& AllSettings() {
  static const auto* const kSettings = new std::vector<Setting>{
      {"listen",
       "MYRIAD_LISTEN",
       "[::1]:9090",
       [](const ServeSettings& s) {
         EXPECT_EQ(s.listen.host, "::1");
         EXPECT_EQ(s.listen.port, 9090);
       },
       ":7070",
       {"nonsense", "127.0.0.1", "127.0.0.1:65536", "example.com:80", "::1:80", "[::1]"}},
      {"threads",
       "MYRIAD_THREADS",
       "8",
       [](const ServeSettings& s) { EXPECT_EQ(s.threads, 8U); },
       "3",
       {"abc", "-1", "257", "1.5", "4x", "99999999999999999999"}},
      {"log-level",
       "MYRIAD_LOG_LEVEL",
       "debug",
       [](const ServeSettings& s) { EXPECT_EQ(s.log_level, "debug"); },
       "warn",
       {"verbose", "warning", "INFO "}},
      {"log-format",
       "MYRIAD_LOG_FORMAT",
       "text",
       [](const ServeSettings& s) { EXPECT_EQ(s.log_format, LogFormat::kText); },
       "json",
       {"xml", "JSON "}},
      {"access-log",
       "MYRIAD_ACCESS_LOG",
       "/var/log/myriad/access.log",
       [](const ServeSettings& s) { EXPECT_EQ(s.access_log, "/var/log/myriad/access.log"); },
       "off",
       {}},  // only "" is invalid, and an empty variable counts as unset
      {"max-connections",
       "MYRIAD_MAX_CONNECTIONS",
       "20000",
       [](const ServeSettings& s) { EXPECT_EQ(s.max_connections, 20000U); },
       "1",
       {"0", "-5", "1000001", "lots", "10k"}},
      {"max-connections-per-ip",
       "MYRIAD_MAX_CONNECTIONS_PER_IP",
       "0",
       [](const ServeSettings& s) { EXPECT_EQ(s.max_connections_per_ip, 0U); },
       "1000000",
       {"-1", "1000001", "many", "20 "}},
      {"trusted-proxies",
       "MYRIAD_TRUSTED_PROXIES",
       "10.0.0.0/8, ::1",
       [](const ServeSettings& s) {
         EXPECT_EQ(s.trusted_proxies.ToString(), "10.0.0.0/8,::1/128");
         EXPECT_TRUE(s.trusted_proxies.Contains("10.1.2.3"));
         EXPECT_FALSE(s.trusted_proxies.Contains("192.168.0.1"));
       },
       "none",
       {"10.0.0.1/8", "10.0.0.0/33", "example.com", "::1/129", "unknown"}},
      {"cors-origins",
       "MYRIAD_CORS_ORIGINS",
       "https://App.Example.com:443, http://localhost:3000",
       [](const ServeSettings& s) {
         EXPECT_EQ(s.cors_origins,
                   (std::vector<std::string>{"https://app.example.com", "http://localhost:3000"}));
       },
       "none",
       {"*", "null", "https://app.example.com/", "https://app.example.com/path",
        "ftp://app.example.com", "app.example.com", "http://localhost:0", "https://*.example.com"}},
      {"max-concurrency",
       "MYRIAD_MAX_CONCURRENCY",
       "1000000",
       [](const ServeSettings& s) { EXPECT_EQ(s.max_concurrency, 1'000'000U); },
       "1",
       {"0", "-1", "1000001", "1e3"}},
      {"max-header-bytes",
       "MYRIAD_MAX_HEADER_BYTES",
       "64KiB",
       [](const ServeSettings& s) { EXPECT_EQ(s.max_header_bytes, 64U * 1024); },
       "1024",
       {"1023", "0", "2MiB", "1048577", "16 KiB", "16kq", "-1"}},
      {"max-body-bytes",
       "MYRIAD_MAX_BODY_BYTES",
       "0",
       [](const ServeSettings& s) { EXPECT_EQ(s.max_body_bytes, 0U); },
       "1GiB",
       {"2GiB", "1073741825", "-1", "1.5M", "big"}},
      {"header-timeout",
       "MYRIAD_HEADER_TIMEOUT",
       "250ms",
       [](const ServeSettings& s) { EXPECT_EQ(s.header_timeout, milliseconds{250}); },
       "1",
       {"0", "0ms", "-1s", "25h", "86400001ms", "10x", "abc"}},
      {"body-timeout",
       "MYRIAD_BODY_TIMEOUT",
       "2m",
       [](const ServeSettings& s) { EXPECT_EQ(s.body_timeout, milliseconds{120'000}); },
       "24h",
       {"0", "1441m", "s"}},
      {"idle-timeout",
       "MYRIAD_IDLE_TIMEOUT",
       "1h",
       [](const ServeSettings& s) { EXPECT_EQ(s.idle_timeout, milliseconds{3'600'000}); },
       "5",
       {"0s", "86401", "99999999999999999999s"}},
      {"write-timeout",
       "MYRIAD_WRITE_TIMEOUT",
       "5",
       [](const ServeSettings& s) { EXPECT_EQ(s.write_timeout, milliseconds{5'000}); },
       "86400000ms",
       {"0h", "-5", "5 s"}},
      {"shutdown-timeout",
       "MYRIAD_SHUTDOWN_TIMEOUT",
       "1ms",
       [](const ServeSettings& s) { EXPECT_EQ(s.shutdown_timeout, milliseconds{1}); },
       "30s",
       {"0", "2d", "1.5s"}},
      {"retry-after",
       "MYRIAD_RETRY_AFTER",
       "3600",
       [](const ServeSettings& s) { EXPECT_EQ(s.retry_after, seconds{3600}); },
       "2s",
       {"0", "3601", "1500ms", "2h", "-1", "1m30"}},
      {"request-timeout",
       "MYRIAD_REQUEST_TIMEOUT",
       "750ms",
       [](const ServeSettings& s) { EXPECT_EQ(s.request_timeout, milliseconds{750}); },
       "30s",
       {"0", "-1s", "25h", "soon"}},
      {"database-url",
       "MYRIAD_DATABASE_URL",
       "postgresql://app@127.0.0.1:6432/accounts",
       [](const ServeSettings& s) {
         EXPECT_EQ(s.database.url, "postgresql://app@127.0.0.1:6432/accounts");
       },
       "host=127.0.0.1 dbname=myriad",
       {}},  // only "" is invalid, and an empty variable counts as unset
      {"db-pool-size",
       "MYRIAD_DB_POOL_SIZE",
       "16",
       [](const ServeSettings& s) { EXPECT_EQ(s.pool.size, 16U); },
       "3",
       {"0", "1001", "-1", "four"}},
      {"db-max-overflow",
       "MYRIAD_DB_MAX_OVERFLOW",
       "0",
       [](const ServeSettings& s) { EXPECT_EQ(s.pool.max_overflow, 0U); },
       "150",
       {"1001", "-1", "x"}},
      {"db-write-connections",
       "MYRIAD_DB_WRITE_CONNECTIONS",
       "0",
       [](const ServeSettings& s) { EXPECT_EQ(s.pool.write_connections, 0U); },
       "4",
       {"1001", "-1", "x"}},
      {"db-pool-timeout",
       "MYRIAD_DB_POOL_TIMEOUT",
       "300ms",
       [](const ServeSettings& s) { EXPECT_EQ(s.pool.timeout, milliseconds{300}); },
       "30s",
       {"0", "25h", "-1"}},
      {"db-pipeline-depth",
       "MYRIAD_DB_PIPELINE_DEPTH",
       "1",
       [](const ServeSettings& s) { EXPECT_EQ(s.pool.pipeline_depth, 1U); },
       "256",
       {"0", "1000001", "deep"}},
      {"db-statement-timeout",
       "MYRIAD_DB_STATEMENT_TIMEOUT",
       "250ms",
       [](const ServeSettings& s) { EXPECT_EQ(s.pool.statement_timeout, milliseconds{250}); },
       "1m",
       {"0", "-5s", "forever"}},
      {"db-prepared-statements",
       "MYRIAD_DB_PREPARED_STATEMENTS",
       "off",
       [](const ServeSettings& s) { EXPECT_FALSE(s.pool.prepared_statements); },
       "ON",
       {"maybe", "2", "o"}},
      {"migrations-dir",
       "MYRIAD_MIGRATIONS_DIR",
       "/opt/myriad/migrations",
       [](const ServeSettings& s) { EXPECT_EQ(s.migrations_dir, "/opt/myriad/migrations"); },
       "db/migrations",
       {}},
      {"cursor-secret",
       "MYRIAD_CURSOR_SECRET",
       "s3cr3t",
       [](const ServeSettings& s) { EXPECT_EQ(s.cursor_secret, "s3cr3t"); },
       "another",
       {}},
      {"search-index-flush",
       "MYRIAD_SEARCH_INDEX_FLUSH",
       "0",
       [](const ServeSettings& s) { EXPECT_EQ(s.search_index_flush, milliseconds::zero()); },
       "2s",
       {"11m", "-1s", "often"}},
      {"redis-url",
       "MYRIAD_REDIS_URL",
       "redis://:s3cret@cache.internal:6380/2",
       [](const ServeSettings& s) {
         EXPECT_EQ(s.redis.url, "redis://:s3cret@cache.internal:6380/2");
         EXPECT_EQ(s.redis.endpoint.host, "cache.internal");
         EXPECT_EQ(s.redis.endpoint.port, 6380);
         EXPECT_EQ(s.redis.endpoint.username, "");
         EXPECT_EQ(s.redis.endpoint.password, "s3cret");
         EXPECT_EQ(s.redis.endpoint.database, 2U);
       },
       "redis://127.0.0.1",
       {"http://h", "rediss://h", "redis://h:0", "redis://h/abc", "redis://user@h",
        "redis://h/0?x=1", "localhost:6379"}},
      {"redis-max-connections",
       "MYRIAD_REDIS_MAX_CONNECTIONS",
       "8",
       [](const ServeSettings& s) { EXPECT_EQ(s.redis.max_connections, 8U); },
       "1000",
       {"0", "1001", "-1", "many", "2.5"}},
      {"redis-timeout",
       "MYRIAD_REDIS_TIMEOUT",
       "100ms",
       [](const ServeSettings& s) { EXPECT_EQ(s.redis.timeout, milliseconds{100}); },
       "2s",
       {"0", "-1s", "soon", "25h"}},
      {"redis-connect-timeout",
       "MYRIAD_REDIS_CONNECT_TIMEOUT",
       "5s",
       [](const ServeSettings& s) { EXPECT_EQ(s.redis.connect_timeout, milliseconds{5'000}); },
       "1",
       {"0", "x", "1.5s"}},
      {"cache",
       "MYRIAD_CACHE",
       "off",
       [](const ServeSettings& s) { EXPECT_FALSE(s.cache.enabled); },
       "on",
       {"maybe", "2", "of"}},
      {"cache-ttl",
       "MYRIAD_CACHE_TTL",
       "10m",
       [](const ServeSettings& s) { EXPECT_EQ(s.cache.ttl, milliseconds{600'000}); },
       "1s",
       {"0", "-5s", "long"}},
      {"cache-negative-ttl",
       "MYRIAD_CACHE_NEGATIVE_TTL",
       "1500ms",
       [](const ServeSettings& s) { EXPECT_EQ(s.cache.negative_ttl, milliseconds{1'500}); },
       "1s",
       {"0", "forever"}},
      {"cache-local-entries",
       "MYRIAD_CACHE_LOCAL_ENTRIES",
       "0",
       [](const ServeSettings& s) { EXPECT_EQ(s.cache.local_entries, 0U); },
       "5000",
       {"-1", "100000001", "lots", "1e3"}},
      {"cache-local-ttl",
       "MYRIAD_CACHE_LOCAL_TTL",
       "250ms",
       [](const ServeSettings& s) { EXPECT_EQ(s.cache.local_ttl, milliseconds{250}); },
       "3s",
       {"0", "3x"}},
      {"cache-local-ttl-degraded",
       "MYRIAD_CACHE_LOCAL_TTL_DEGRADED",
       "1500ms",
       [](const ServeSettings& s) { EXPECT_EQ(s.cache.local_ttl_degraded, milliseconds{1'500}); },
       "2s",
       {"0", "soon"}},
      {"environment",
       "MYRIAD_ENVIRONMENT",
       "production",
       [](const ServeSettings& s) { EXPECT_TRUE(s.auth.production); },
       "development",
       {"prod", "Production"}},
      {"jwt-key-files",
       "MYRIAD_JWT_KEY_FILES",
       "a.key,b.key",
       [](const ServeSettings& s) {
         EXPECT_EQ(s.auth.key_files, (std::vector<std::string>{"a.key", "b.key"}));
       },
       "c.key",
       {"a.key,", ",a.key", "a,,b"}},
      {"jwt-issuer",
       "MYRIAD_JWT_ISSUER",
       "https://id.example",
       [](const ServeSettings& s) { EXPECT_EQ(s.auth.issuer, "https://id.example"); },
       "myriad",
       {"has\"quote", "back\\slash"}},
      {"access-token-ttl",
       "MYRIAD_ACCESS_TOKEN_TTL",
       "5m",
       [](const ServeSettings& s) { EXPECT_EQ(s.auth.access_ttl, milliseconds{300'000}); },
       "15m",
       {"0", "500ms", "1500ms", "367d", "soon"}},
      {"refresh-token-ttl",
       "MYRIAD_REFRESH_TOKEN_TTL",
       "720h",
       [](const ServeSettings& s) {
         EXPECT_EQ(s.auth.refresh_ttl, milliseconds{720LL * 3600 * 1000});
       },
       "24h",
       {"0", "9000h"}},
      {"hash-threads",
       "MYRIAD_HASH_THREADS",
       "3",
       [](const ServeSettings& s) { EXPECT_EQ(s.auth.hash_threads, 3U); },
       "1",
       {"0", "257", "two"}},
      {"hash-queue",
       "MYRIAD_HASH_QUEUE",
       "500",
       [](const ServeSettings& s) { EXPECT_EQ(s.auth.hash_queue, 500U); },
       "64",
       {"0", "-1"}},
      {"hash-queue-timeout",
       "MYRIAD_HASH_QUEUE_TIMEOUT",
       "500ms",
       [](const ServeSettings& s) { EXPECT_EQ(s.auth.hash_queue_timeout, milliseconds{500}); },
       "2s",
       {"0", "0ms", "61s", "2m", "-1s", "soon"}},
      {"hash-memory",
       "MYRIAD_HASH_MEMORY",
       "65536",
       [](const ServeSettings& s) { EXPECT_EQ(s.auth.hash_memory_kib, 65536U); },
       "19456",
       {"0", "7", "4194305"}},
      {"hash-passes",
       "MYRIAD_HASH_PASSES",
       "3",
       [](const ServeSettings& s) { EXPECT_EQ(s.auth.hash_passes, 3U); },
       "2",
       {"0", "65"}},
      {"rate-limit",
       "MYRIAD_RATE_LIMIT",
       "off",
       [](const ServeSettings& s) { EXPECT_FALSE(s.rate_limit.enabled); },
       "on",
       {"sometimes", "offf"}},
      {"rate-limit-rate",
       "MYRIAD_RATE_LIMIT_RATE",
       "2.5",
       [](const ServeSettings& s) { EXPECT_DOUBLE_EQ(s.rate_limit.default_limit.rate, 2.5); },
       "100",
       {"0", "-1", "abc", "inf", "nan", "1000001", "5/s"}},
      {"rate-limit-burst",
       "MYRIAD_RATE_LIMIT_BURST",
       "7",
       [](const ServeSettings& s) { EXPECT_EQ(s.rate_limit.default_limit.burst, 7U); },
       "50",
       {"0", "-1", "1000001", "1.5"}},
      {"rate-limit-groups",
       "MYRIAD_RATE_LIMIT_GROUPS",
       "users-read=200:100,users-write=20.5:10",
       [](const ServeSettings& s) {
         EXPECT_EQ(FormatRateLimitGroups(s.rate_limit.groups),
                   "users-read=200:100,users-write=20.5:10");
       },
       "users-read=1:1",
       {"users-read", "users-read=200", "users-read=0:10", "a b=1:1", "users-read=1:0"}},
      {"redis-key-prefix",
       "MYRIAD_REDIS_KEY_PREFIX",
       "staging:",
       [](const ServeSettings& s) { EXPECT_EQ(s.redis.key_prefix, "staging:"); },
       "a",
       {"has space", std::string(65, 'k')}},
  };
  return *kSettings;
}

// Clears every MYRIAD_* variable the settings read, so the developer's environment cannot
// leak into a test, and restores them afterwards.
class SettingsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    for (const Setting& setting : AllSettings()) {
      cleared_.push_back(std::make_unique<ScopedEnv>(setting.env, std::nullopt));
    }
  }
  void TearDown() override { cleared_.clear(); }

  // Parses `args` (program name excluded) into settings that start at their defaults.
  static ServeSettings Parse(const std::vector<std::string>& args) {
    ServeSettings settings;
    CLI::App app{"test"};
    AddServeOptions(app, settings);
    std::vector<const char*> argv{"myriad"};
    for (const std::string& arg : args) {
      argv.push_back(arg.c_str());
    }
    app.parse(static_cast<int>(argv.size()), argv.data());
    return settings;
  }

  // What app.exit() prints for the error `args` cause; empty (and a test failure) if none.
  static std::string ParseFailure(const std::vector<std::string>& args) {
    ServeSettings settings;
    CLI::App app{"test"};
    AddServeOptions(app, settings);
    std::vector<const char*> argv{"myriad"};
    for (const std::string& arg : args) {
      argv.push_back(arg.c_str());
    }
    try {
      app.parse(static_cast<int>(argv.size()), argv.data());
    } catch (const CLI::ParseError& e) {
      std::ostringstream out;
      std::ostringstream err;
      EXPECT_NE(app.exit(e, out, err), 0) << e.what();
      EXPECT_EQ(out.str(), "");
      EXPECT_NE(err.str().find(e.what()), std::string::npos) << err.str();
      return e.what();
    }
    ADD_FAILURE() << "no error for the arguments";
    return {};
  }

  std::vector<std::unique_ptr<ScopedEnv>> cleared_;
};

TEST_F(SettingsTest, DefaultsWithoutFlagsOrEnvironment) {
  const ServeSettings s = Parse({});
  EXPECT_EQ(s.listen.host, "127.0.0.1");
  EXPECT_EQ(s.listen.port, 8080);
  EXPECT_EQ(s.threads, 0U);
  EXPECT_EQ(s.log_level, "info");
  EXPECT_EQ(s.log_format, LogFormat::kJson);
  EXPECT_EQ(s.access_log, "stdout");
  EXPECT_EQ(s.max_connections, 16384U);
  EXPECT_EQ(s.max_connections_per_ip, 20U);
  EXPECT_TRUE(s.trusted_proxies.empty());
  EXPECT_TRUE(s.cors_origins.empty());
  EXPECT_EQ(s.max_concurrency, 10240U);
  EXPECT_EQ(s.max_header_bytes, 16U * 1024);
  EXPECT_EQ(s.max_body_bytes, 1024U * 1024);
  EXPECT_EQ(s.header_timeout, seconds{10});
  EXPECT_EQ(s.body_timeout, seconds{30});
  EXPECT_EQ(s.idle_timeout, seconds{60});
  EXPECT_EQ(s.write_timeout, seconds{30});
  EXPECT_EQ(s.shutdown_timeout, seconds{10});
  EXPECT_EQ(s.retry_after, seconds{1});
  EXPECT_EQ(s.request_timeout, seconds{10});
  EXPECT_EQ(s.database.url, "");
  EXPECT_EQ(s.pool.size, 2U);
  EXPECT_EQ(s.pool.max_overflow, 2U);
  EXPECT_EQ(s.pool.write_connections, 2U);
  EXPECT_EQ(s.pool.timeout, seconds{2});
  EXPECT_EQ(s.pool.pipeline_depth, 10000U);
  EXPECT_EQ(s.pool.statement_timeout, seconds{5});
  EXPECT_TRUE(s.pool.prepared_statements);
  EXPECT_FALSE(s.migrate);
  EXPECT_EQ(s.migrations_dir, "migrations");
  EXPECT_EQ(s.cursor_secret, "");
}

TEST_F(SettingsTest, HashQueueTimeoutDefaultsToTwoSecondsAndAllowsAMinute) {
  EXPECT_EQ(Parse({}).auth.hash_queue_timeout, seconds{2});
  EXPECT_EQ(Parse({"--hash-queue-timeout", "60s"}).auth.hash_queue_timeout, seconds{60});
  EXPECT_EQ(Parse({"--hash-queue-timeout", "1ms"}).auth.hash_queue_timeout, milliseconds{1});
  try {
    Parse({"--hash-queue-timeout", "90s"});
    FAIL() << "no error";
  } catch (const CLI::ValidationError& e) {
    EXPECT_STREQ(e.what(),
                 "--hash-queue-timeout (MYRIAD_HASH_QUEUE_TIMEOUT): must be greater than 0 and "
                 "at most 1m, got '90s'");
  }
}

TEST_F(SettingsTest, MigrateIsAFlagAndAVariable) {
  EXPECT_TRUE(Parse({"--migrate"}).migrate);
  ScopedEnv env("MYRIAD_MIGRATE", "true");
  EXPECT_TRUE(Parse({}).migrate);
}

TEST_F(SettingsTest, EachFlagIsParsedInBothSpellings) {
  for (const Setting& setting : AllSettings()) {
    SCOPED_TRACE(setting.flag);
    setting.expect_value(Parse({"--" + setting.flag, setting.value}));
    setting.expect_value(Parse({"--" + setting.flag + "=" + setting.value}));
  }
}

TEST_F(SettingsTest, EachEnvironmentVariableIsHonoured) {
  for (const Setting& setting : AllSettings()) {
    SCOPED_TRACE(setting.env);
    const ScopedEnv env(setting.env, setting.value);
    setting.expect_value(Parse({}));
  }
}

TEST_F(SettingsTest, FlagBeatsEnvironmentVariable) {
  for (const Setting& setting : AllSettings()) {
    SCOPED_TRACE(setting.flag);
    const ScopedEnv env(setting.env, setting.other);
    setting.expect_value(Parse({"--" + setting.flag, setting.value}));
  }
}

TEST_F(SettingsTest, AllFlagsTogether) {
  std::vector<std::string> args;
  for (const Setting& setting : AllSettings()) {
    args.push_back("--" + setting.flag + "=" + setting.value);
  }
  const ServeSettings s = Parse(args);
  for (const Setting& setting : AllSettings()) {
    SCOPED_TRACE(setting.flag);
    setting.expect_value(s);
  }
}

TEST_F(SettingsTest, LastOfARepeatedFlagWins) {
  EXPECT_EQ(Parse({"--threads", "2", "--threads", "4"}).threads, 4U);
}

TEST_F(SettingsTest, EmptyEnvironmentVariableCountsAsUnset) {
  const ScopedEnv env("MYRIAD_ACCESS_LOG", "");
  EXPECT_EQ(Parse({}).access_log, "stdout");
}

TEST_F(SettingsTest, InvalidFlagValueIsRejectedNamingTheFlag) {
  for (const Setting& setting : AllSettings()) {
    for (const std::string& bad : setting.invalid) {
      SCOPED_TRACE("--" + setting.flag + "=" + bad);
      const std::string message = ParseFailure({"--" + setting.flag + "=" + bad});
      EXPECT_NE(message.find("--" + setting.flag), std::string::npos) << message;
      // A Redis URL may carry a password: its errors never quote it (redis_url.cpp).
      if (setting.flag != "redis-url") {
        EXPECT_NE(message.find(bad), std::string::npos) << message;
      }
    }
  }
}

TEST_F(SettingsTest, InvalidEnvironmentValueIsRejectedNamingFlagAndVariable) {
  for (const Setting& setting : AllSettings()) {
    for (const std::string& bad : setting.invalid) {
      SCOPED_TRACE(setting.env + "=" + bad);
      const ScopedEnv env(setting.env, bad);
      const std::string message = ParseFailure({});
      EXPECT_NE(message.find("--" + setting.flag), std::string::npos) << message;
      EXPECT_NE(message.find(setting.env), std::string::npos) << message;
    }
  }
}

TEST_F(SettingsTest, ErrorIsAValidationErrorWithReadableMessage) {
  try {
    Parse({"--threads", "300"});
    FAIL() << "no error";
  } catch (const CLI::ValidationError& e) {
    EXPECT_STREQ(e.what(), "--threads (MYRIAD_THREADS): must be between 0 and 256, got '300'");
  }
  try {
    const ScopedEnv env("MYRIAD_MAX_CONNECTIONS", "-5");
    Parse({});
    FAIL() << "no error";
  } catch (const CLI::ValidationError& e) {
    EXPECT_STREQ(e.what(),
                 "--max-connections (MYRIAD_MAX_CONNECTIONS): invalid number '-5': "
                 "must not be negative");
  }
}

TEST_F(SettingsTest, EmptyFlagValueIsRejected) {
  for (const Setting& setting : AllSettings()) {
    SCOPED_TRACE(setting.flag);
    // CLI11 itself rejects "--flag=" as a missing value; "--flag ''" reaches our validation.
    std::string message = ParseFailure({"--" + setting.flag + "="});
    EXPECT_NE(message.find("--" + setting.flag), std::string::npos) << message;
    message = ParseFailure({"--" + setting.flag, ""});
    EXPECT_NE(message.find("--" + setting.flag + " (" + setting.env + ")"), std::string::npos)
        << message;
  }
}

TEST_F(SettingsTest, TrustedProxiesErrorNamesFlagVariableAndEntry) {
  try {
    Parse({"--trusted-proxies", "127.0.0.1, 10.0.0.1/8"});
    FAIL() << "no error";
  } catch (const CLI::ValidationError& e) {
    EXPECT_STREQ(e.what(),
                 "--trusted-proxies (MYRIAD_TRUSTED_PROXIES): 10.0.0.1/8 has bits set beyond the "
                 "prefix; did you mean 10.0.0.0/8?");
  }
  const ScopedEnv env("MYRIAD_TRUSTED_PROXIES", "10.0.0.0/8,bogus");
  const std::string message = ParseFailure({});
  EXPECT_NE(message.find("MYRIAD_TRUSTED_PROXIES"), std::string::npos) << message;
  EXPECT_NE(message.find("\"bogus\""), std::string::npos) << message;
}

TEST_F(SettingsTest, TrustedProxiesNoneAndPerIpCapFromTheEnvironment) {
  const ScopedEnv proxies("MYRIAD_TRUSTED_PROXIES", "none");
  const ScopedEnv cap("MYRIAD_MAX_CONNECTIONS_PER_IP", "3");
  const ServeSettings s = Parse({});
  EXPECT_TRUE(s.trusted_proxies.empty());
  EXPECT_EQ(s.max_connections_per_ip, 3U);
}

TEST_F(SettingsTest, CorsOriginsRefuseWildcardsAskingForExplicitOrigins) {
  try {
    Parse({"--cors-origins", "https://app.example.com,*"});
    FAIL() << "no error";
  } catch (const CLI::ValidationError& e) {
    EXPECT_EQ(std::string(e.what()).rfind("--cors-origins (MYRIAD_CORS_ORIGINS): '*' is not "
                                          "allowed: explicit origins are required",
                                          0),
              0U)
        << e.what();
  }
  const ScopedEnv env("MYRIAD_CORS_ORIGINS", "null");
  const std::string message = ParseFailure({});
  EXPECT_NE(message.find("MYRIAD_CORS_ORIGINS): 'null' is not allowed"), std::string::npos)
      << message;
}

TEST_F(SettingsTest, CorsOriginsNoneAndHelpDefault) {
  EXPECT_TRUE(Parse({"--cors-origins", "none"}).cors_origins.empty());
  ServeSettings settings;
  CLI::App app{"test"};
  AddServeOptions(app, settings);
  EXPECT_NE(app.help().find("ORIGINS=none"), std::string::npos) << app.help();
}

TEST_F(SettingsTest, MissingValueIsRejectedNamingTheFlag) {
  const std::string message = ParseFailure({"--threads"});
  EXPECT_NE(message.find("--threads"), std::string::npos) << message;
}

TEST_F(SettingsTest, NegativeNumberAsSeparateArgumentIsRejected) {
  const std::string message = ParseFailure({"--max-connections", "-5"});
  EXPECT_NE(message.find("--max-connections"), std::string::npos) << message;
}

TEST_F(SettingsTest, HelpListsEveryFlagWithVariableAndDefault) {
  ServeSettings settings;
  CLI::App app{"test"};
  AddServeOptions(app, settings);
  const std::string help = app.help();
  for (const Setting& setting : AllSettings()) {
    EXPECT_NE(help.find("--" + setting.flag + " "), std::string::npos) << setting.flag;
    EXPECT_NE(help.find("(Env:" + setting.env + ")"), std::string::npos) << setting.env;
  }
  for (const char* shown :
       {"ADDR=127.0.0.1:8080", "N=0", "LEVEL=info", "FORMAT=json", "DEST=stdout", "N=16384",
        "N=10240", "SIZE=16KiB", "SIZE=1MiB", "DURATION=10s", "DURATION=30s", "DURATION=1m",
        "DURATION=1s", "N=20", "CIDRS=none"}) {
    EXPECT_NE(help.find(shown), std::string::npos) << shown << "\n" << help;
  }
}

TEST_F(SettingsTest, HelpShowsTheCallersValuesAsDefaults) {
  ServeSettings settings;
  settings.listen = {"::1", 9000};
  settings.idle_timeout = milliseconds{1500};
  settings.log_format = LogFormat::kText;
  CLI::App app{"test"};
  AddServeOptions(app, settings);
  const std::string help = app.help();
  EXPECT_NE(help.find("ADDR=[::1]:9000"), std::string::npos) << help;
  EXPECT_NE(help.find("DURATION=1500ms"), std::string::npos) << help;
  EXPECT_NE(help.find("FORMAT=text"), std::string::npos) << help;
}

TEST(ParseDurationTest, AcceptsUnitsAndBareSeconds) {
  EXPECT_EQ(ParseDuration("10s"), seconds{10});
  EXPECT_EQ(ParseDuration("250ms"), milliseconds{250});
  EXPECT_EQ(ParseDuration("2m"), milliseconds{120'000});
  EXPECT_EQ(ParseDuration("1h"), milliseconds{3'600'000});
  EXPECT_EQ(ParseDuration("7"), seconds{7});
  EXPECT_EQ(ParseDuration("0"), milliseconds{0});
  EXPECT_EQ(ParseDuration("007s"), seconds{7});
}

TEST(ParseDurationTest, RejectsMalformedValues) {
  for (const char* bad : {"", "-1s", "-0", "+5s", "s", "ms", "10x", "10 s", " 10s", "10s ", "10S",
                          "1.5s", "1e3", "10sec", "1h30m", "0x10", "99999999999999999999s",
                          "9223372036854775807s", "2562047788015216h"}) {
    EXPECT_THROW(ParseDuration(bad), std::invalid_argument) << "'" << bad << "'";
  }
}

TEST(ParseDurationTest, LargestRepresentableValue) {
  EXPECT_EQ(ParseDuration("9223372036854775807ms").count(), 9223372036854775807);
  EXPECT_THROW(ParseDuration("9223372036854775808ms"), std::invalid_argument);
}

TEST(ParseDurationTest, MessageQuotesTheInput) {
  try {
    ParseDuration("10x");
    FAIL() << "no error";
  } catch (const std::invalid_argument& e) {
    EXPECT_NE(std::string(e.what()).find("'10x'"), std::string::npos) << e.what();
  }
}

TEST(ParseSizeTest, AcceptsBytesAndBinaryUnits) {
  EXPECT_EQ(ParseSize("16384"), 16384U);
  EXPECT_EQ(ParseSize("0"), 0U);
  EXPECT_EQ(ParseSize("16k"), 16384U);
  EXPECT_EQ(ParseSize("16K"), 16384U);
  EXPECT_EQ(ParseSize("16KB"), 16384U);
  EXPECT_EQ(ParseSize("16KiB"), 16384U);
  EXPECT_EQ(ParseSize("1MiB"), 1048576U);
  EXPECT_EQ(ParseSize("1M"), 1048576U);
  EXPECT_EQ(ParseSize("1mb"), 1048576U);
  EXPECT_EQ(ParseSize("1GiB"), 1073741824U);
  EXPECT_EQ(ParseSize("100B"), 100U);
}

TEST(ParseSizeTest, RejectsMalformedValues) {
  for (const char* bad :
       {"", "-1", "-1k", "+1", "k", "KiB", "16kq", "16 KiB", "1.5M", "1e6", "16KIBs", "1T", "0x10",
        "99999999999999999999", "18446744073709551615k", "17179869184GiB"}) {
    EXPECT_THROW(ParseSize(bad), std::invalid_argument) << "'" << bad << "'";
  }
}

TEST(ParseSizeTest, LargestRepresentableValue) {
  EXPECT_EQ(ParseSize("18446744073709551615"), 18446744073709551615U);
  EXPECT_EQ(ParseSize("17179869183GiB"), 17179869183U << 30);
}

TEST(ParseListenAddressTest, AcceptsIpv4Ipv6LocalhostAndPortOnly) {
  ListenAddress a = ParseListenAddress("127.0.0.1:8080");
  EXPECT_EQ(a.host, "127.0.0.1");
  EXPECT_EQ(a.port, 8080);

  a = ParseListenAddress("[::1]:8080");
  EXPECT_EQ(a.host, "::1");
  EXPECT_EQ(a.port, 8080);

  a = ParseListenAddress("[::]:443");
  EXPECT_EQ(a.host, "::");
  EXPECT_EQ(a.port, 443);

  a = ParseListenAddress("[::ffff:10.0.0.1]:80");
  EXPECT_EQ(a.host, "::ffff:10.0.0.1");

  a = ParseListenAddress(":8080");
  EXPECT_EQ(a.host, "0.0.0.0");
  EXPECT_EQ(a.port, 8080);

  a = ParseListenAddress("localhost:9000");
  EXPECT_EQ(a.host, "127.0.0.1");
  EXPECT_EQ(a.port, 9000);

  EXPECT_EQ(ParseListenAddress("0.0.0.0:0").port, 0);
  EXPECT_EQ(ParseListenAddress("10.1.2.3:65535").port, 65535);
}

TEST(ParseListenAddressTest, RejectsMalformedValues) {
  for (const char* bad : {"",
                          ":",
                          "8080",
                          "127.0.0.1",
                          "127.0.0.1:",
                          "127.0.0.1:65536",
                          "127.0.0.1:99999999999",
                          "127.0.0.1:-1",
                          "127.0.0.1:+80",
                          "127.0.0.1:80x",
                          "127.0.0.1: 80",
                          "127.0.0.1:0x50",
                          "example.com:80",
                          "myhost:80",
                          "LOCALHOST:80",
                          "256.0.0.1:80",
                          "1.2.3:80",
                          "01.2.3.4:80",
                          " 127.0.0.1:80",
                          "::1:8080",
                          "::1",
                          "[::1]",
                          "[::1]:",
                          "[::1]8080",
                          "[::1:8080",
                          "[]:80",
                          "[1.2.3.4]:80",
                          "[localhost]:80",
                          "[::1]:65536",
                          "[fe80::1%lo]:80",
                          "[::1]:80:80"}) {
    EXPECT_THROW(ParseListenAddress(bad), std::invalid_argument) << "'" << bad << "'";
  }
}

TEST(ParseListenAddressTest, SuggestsBracketsForBareIpv6) {
  try {
    ParseListenAddress("::1:8080");
    FAIL() << "no error";
  } catch (const std::invalid_argument& e) {
    EXPECT_NE(std::string(e.what()).find("[::1]:8080"), std::string::npos) << e.what();
  }
}

TEST(FormatTest, RoundTripsThroughTheParsers) {
  EXPECT_EQ(FormatDuration(milliseconds{10'000}), "10s");
  EXPECT_EQ(FormatDuration(milliseconds{250}), "250ms");
  EXPECT_EQ(FormatDuration(milliseconds{120'000}), "2m");
  EXPECT_EQ(FormatDuration(milliseconds{7'200'000}), "2h");
  EXPECT_EQ(FormatDuration(milliseconds{1'500}), "1500ms");
  EXPECT_EQ(FormatDuration(milliseconds{0}), "0ms");
  for (const auto ms : {0LL, 1LL, 999LL, 1000LL, 61'000LL, 3'600'000LL, 86'400'000LL}) {
    EXPECT_EQ(ParseDuration(FormatDuration(milliseconds{ms})), milliseconds{ms}) << ms;
  }

  EXPECT_EQ(FormatSize(16384), "16KiB");
  EXPECT_EQ(FormatSize(1048576), "1MiB");
  EXPECT_EQ(FormatSize(1073741824), "1GiB");
  EXPECT_EQ(FormatSize(1000), "1000");
  EXPECT_EQ(FormatSize(0), "0");
  for (const std::size_t bytes : {0UL, 1UL, 1023UL, 1024UL, 1536UL, 1UL << 20, 3UL << 30}) {
    EXPECT_EQ(ParseSize(FormatSize(bytes)), bytes) << bytes;
  }

  EXPECT_EQ(FormatListenAddress({"127.0.0.1", 8080}), "127.0.0.1:8080");
  EXPECT_EQ(FormatListenAddress({"::1", 8080}), "[::1]:8080");
  for (const char* text : {"127.0.0.1:8080", "[::1]:0", "0.0.0.0:65535"}) {
    EXPECT_EQ(FormatListenAddress(ParseListenAddress(text)), text);
  }
}

}  // namespace
}  // namespace myriad::config

#include "config/redis_settings.hpp"

#include <gtest/gtest.h>

#include <CLI/CLI.hpp>
#include <cstdlib>
#include <functional>
#include <map>
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

void ExpectLimit(const std::map<std::string, ratelimit::Limit>& groups, const std::string& name,
                 double rate, std::size_t burst) {
  const auto it = groups.find(name);
  ASSERT_NE(it, groups.end()) << name;
  EXPECT_DOUBLE_EQ(it->second.rate, rate) << name;
  EXPECT_EQ(it->second.burst, burst) << name;
}

// What ParseRateLimitGroups says about `text`; empty (and a test failure) if it accepts it.
std::string GroupsRejection(const std::string& text) {
  try {
    const auto groups = ParseRateLimitGroups(text);
    ADD_FAILURE() << "accepted '" << text << "' as '" << FormatRateLimitGroups(groups) << "'";
  } catch (const std::invalid_argument& e) {
    return e.what();
  }
  return {};
}

TEST(RateLimitGroupsTest, ParsesGroupsWithRateAndBurst) {
  const auto groups = ParseRateLimitGroups("users-read=200:100,users-write=20.5:10");
  EXPECT_EQ(groups.size(), 2U);
  ExpectLimit(groups, "users-read", 200, 100);
  ExpectLimit(groups, "users-write", 20.5, 10);
}

TEST(RateLimitGroupsTest, SpacesAroundEntriesAreIgnored) {
  const auto groups = ParseRateLimitGroups("  users-read=200:100 ,   users_write=0.5:1  ");
  EXPECT_EQ(groups.size(), 2U);
  ExpectLimit(groups, "users-read", 200, 100);
  ExpectLimit(groups, "users_write", 0.5, 1);
}

TEST(RateLimitGroupsTest, EmptyEntriesAreSkipped) {
  EXPECT_TRUE(ParseRateLimitGroups("").empty());
  EXPECT_TRUE(ParseRateLimitGroups(",").empty());
  EXPECT_TRUE(ParseRateLimitGroups(" , ,, ").empty());
  const auto groups = ParseRateLimitGroups(",,users-read=1:2,,");
  EXPECT_EQ(groups.size(), 1U);
  ExpectLimit(groups, "users-read", 1, 2);
}

TEST(RateLimitGroupsTest, LimitsAtTheEdgesOfTheRange) {
  const auto groups = ParseRateLimitGroups("a=1000000:1000000,b=0.001:1");
  ExpectLimit(groups, "a", 1'000'000, 1'000'000);
  ExpectLimit(groups, "b", 0.001, 1);
}

TEST(RateLimitGroupsTest, MalformedEntriesAreRejectedNamingThem) {
  // Missing '=' or ':': the message quotes the entry.
  for (const char* entry : {"users-read", "users-read=200", "users-read:200=10"}) {
    SCOPED_TRACE(entry);
    const std::string reason = GroupsRejection(std::string("users-write=1:1,") + entry);
    EXPECT_NE(reason.find(entry), std::string::npos) << reason;
  }
}

TEST(RateLimitGroupsTest, BadGroupNamesAreRejected) {
  for (const char* name : {"a b", "users.read", "users/read", "", "r\xC3\xA9"}) {
    SCOPED_TRACE(name);
    const std::string reason = GroupsRejection(std::string(name) + "=1:1");
    if (*name != '\0') {
      EXPECT_NE(reason.find(name), std::string::npos) << reason;
    }
  }
  EXPECT_FALSE(GroupsRejection(std::string(65, 'g') + "=1:1").empty());
  // 64 characters is still a name.
  EXPECT_EQ(ParseRateLimitGroups(std::string(64, 'g') + "=1:1").size(), 1U);
}

TEST(RateLimitGroupsTest, BadRatesAreRejected) {
  for (const char* rate : {"0", "-1", "abc", "", "1000001", "inf", "nan", "1.5x", " 1", "0x10"}) {
    SCOPED_TRACE(rate);
    EXPECT_FALSE(GroupsRejection(std::string("users-write=") + rate + ":10").empty());
  }
}

TEST(RateLimitGroupsTest, BadBurstsAreRejected) {
  for (const char* burst : {"0", "-1", "abc", "", "1.5", "1000001", "10 10"}) {
    SCOPED_TRACE(burst);
    EXPECT_FALSE(GroupsRejection(std::string("users-write=20:") + burst).empty());
  }
}

// The header promises an error "naming the bad entry": with several groups configured, the
// operator must learn which one is wrong.
TEST(RateLimitGroupsTest, BadRateErrorNamesTheEntry) {
  for (const char* rate : {"0", "-1", "abc"}) {
    SCOPED_TRACE(rate);
    const std::string reason =
        GroupsRejection(std::string("users-read=200:100,users-write=") + rate + ":10");
    EXPECT_NE(reason.find("users-write"), std::string::npos) << reason;
  }
}

TEST(RateLimitGroupsTest, BadBurstErrorNamesTheEntry) {
  const std::string reason = GroupsRejection("users-read=200:100,users-write=20:0");
  EXPECT_NE(reason.find("users-write"), std::string::npos) << reason;
}

TEST(RateLimitGroupsTest, FormatIsSortedAndCompact) {
  EXPECT_EQ(FormatRateLimitGroups({}), "");
  std::map<std::string, ratelimit::Limit> groups;
  groups["users-write"] = {20.5, 10};
  groups["users-read"] = {200, 100};
  EXPECT_EQ(FormatRateLimitGroups(groups), "users-read=200:100,users-write=20.5:10");
}

TEST(RateLimitGroupsTest, FormatRoundTrips) {
  const std::string text = "a=0.001:1,b=0.25:7,c=12.345:300,d=1000000:1000000,users-read=200:100";
  const auto groups = ParseRateLimitGroups(text);
  EXPECT_EQ(groups.size(), 5U);
  const auto again = ParseRateLimitGroups(FormatRateLimitGroups(groups));
  ASSERT_EQ(again.size(), groups.size());
  for (const auto& [name, limit] : groups) ExpectLimit(again, name, limit.rate, limit.burst);
  EXPECT_EQ(FormatRateLimitGroups(again), FormatRateLimitGroups(groups));
}

struct AllSettings {
  RedisSettings redis;
  CacheSettings cache;
  RateLimitSettings rate_limit;
};

// The table-driven checks of every flag (both spellings, variables, bad values, --help) are
// in settings_test.cpp with the other `serve` settings; these are the Redis-specific ones.
constexpr const char* kVariables[] = {"MYRIAD_REDIS_URL", "MYRIAD_CACHE", "MYRIAD_RATE_LIMIT",
                                      "MYRIAD_REDIS_MAX_CONNECTIONS", "MYRIAD_CACHE_LOCAL_ENTRIES"};

// Clears every MYRIAD_* variable these settings read and restores them afterwards.
class RedisSettingsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    for (const char* variable : kVariables) {
      cleared_.push_back(std::make_unique<ScopedEnv>(variable, std::nullopt));
    }
  }
  void TearDown() override { cleared_.clear(); }

  static void AddAll(CLI::App& app, AllSettings& settings) {
    AddRedisOptions(app, settings.redis);
    AddCacheOptions(app, settings.cache);
    AddRateLimitOptions(app, settings.rate_limit);
  }

  static AllSettings Parse(const std::vector<std::string>& args) {
    AllSettings settings;
    CLI::App app{"test"};
    AddAll(app, settings);
    std::vector<const char*> argv{"myriad"};
    for (const std::string& arg : args) argv.push_back(arg.c_str());
    app.parse(static_cast<int>(argv.size()), argv.data());
    return settings;
  }

  // The message of the error `args` cause; empty (and a test failure) if none. The error
  // must be a CLI::ValidationError, which CLI11 turns into a clean message and exit code.
  static std::string ParseFailure(const std::vector<std::string>& args) {
    AllSettings settings;
    CLI::App app{"test"};
    AddAll(app, settings);
    std::vector<const char*> argv{"myriad"};
    for (const std::string& arg : args) argv.push_back(arg.c_str());
    try {
      app.parse(static_cast<int>(argv.size()), argv.data());
    } catch (const CLI::ValidationError& e) {
      std::ostringstream out;
      std::ostringstream err;
      EXPECT_NE(app.exit(e, out, err), 0) << e.what();
      EXPECT_EQ(out.str(), "");
      return e.what();
    } catch (const CLI::ParseError& e) {
      ADD_FAILURE() << "not a ValidationError: " << e.what();
      return e.what();
    }
    ADD_FAILURE() << "no error for the arguments";
    return {};
  }

  std::vector<std::unique_ptr<ScopedEnv>> cleared_;
};

TEST_F(RedisSettingsTest, DefaultsWithoutFlagsOrEnvironment) {
  const AllSettings s = Parse({});
  EXPECT_EQ(s.redis.url, "");
  EXPECT_EQ(s.redis.endpoint.host, "127.0.0.1");
  EXPECT_EQ(s.redis.endpoint.port, 6379);
  EXPECT_EQ(s.redis.endpoint.password, "");
  EXPECT_EQ(s.redis.max_connections, 2U);
  EXPECT_EQ(s.redis.timeout, milliseconds{250});
  EXPECT_EQ(s.redis.connect_timeout, milliseconds{1'000});
  EXPECT_TRUE(s.cache.enabled);
  EXPECT_EQ(s.cache.ttl, milliseconds{300'000});
  EXPECT_EQ(s.cache.negative_ttl, milliseconds{5'000});
  EXPECT_EQ(s.cache.local_entries, 100'000U);
  EXPECT_EQ(s.cache.local_ttl, milliseconds{60'000});
  EXPECT_EQ(s.cache.local_ttl_degraded, milliseconds{5'000});
  EXPECT_TRUE(s.rate_limit.enabled);
  EXPECT_DOUBLE_EQ(s.rate_limit.default_limit.rate, 100);
  EXPECT_EQ(s.rate_limit.default_limit.burst, 50U);
  EXPECT_TRUE(s.rate_limit.groups.empty());
}

TEST_F(RedisSettingsTest, OtherValuesParseToo) {
  const AllSettings s = Parse({"--redis-url=redis://127.0.0.1", "--cache=on", "--rate-limit=on",
                               "--redis-max-connections=1000", "--cache-local-entries=5000"});
  EXPECT_EQ(s.redis.url, "redis://127.0.0.1");
  EXPECT_EQ(s.redis.endpoint.password, "");
  EXPECT_TRUE(s.cache.enabled);
  EXPECT_TRUE(s.rate_limit.enabled);
  EXPECT_EQ(s.redis.max_connections, 1000U);
  EXPECT_EQ(s.cache.local_entries, 5000U);
}

TEST_F(RedisSettingsTest, SwitchesOffFromTheEnvironment) {
  const ScopedEnv cache("MYRIAD_CACHE", "OFF");
  const ScopedEnv rate_limit("MYRIAD_RATE_LIMIT", "false");
  const AllSettings s = Parse({});
  EXPECT_FALSE(s.cache.enabled);
  EXPECT_FALSE(s.rate_limit.enabled);
}

TEST_F(RedisSettingsTest, ExactErrorMessages) {
  EXPECT_EQ(ParseFailure({"--redis-max-connections", "0"}),
            "--redis-max-connections (MYRIAD_REDIS_MAX_CONNECTIONS): must be between 1 and "
            "1000, got '0'");
  EXPECT_EQ(ParseFailure({"--cache", "maybe"}),
            "--cache (MYRIAD_CACHE): must be on or off, got 'maybe'");
  const std::string url = ParseFailure({"--redis-url", "http://h:6379"});
  EXPECT_EQ(url.rfind("--redis-url (MYRIAD_REDIS_URL): ", 0), 0U) << url;
  EXPECT_NE(url.find("redis://"), std::string::npos) << url;
}

TEST_F(RedisSettingsTest, RedisUrlWithUserAndEncodedPassword) {
  const AllSettings s = Parse({"--redis-url", "redis://app:p%40ss@10.0.0.5:6390/3"});
  EXPECT_EQ(s.redis.url, "redis://app:p%40ss@10.0.0.5:6390/3");
  EXPECT_EQ(s.redis.endpoint.host, "10.0.0.5");
  EXPECT_EQ(s.redis.endpoint.port, 6390);
  EXPECT_EQ(s.redis.endpoint.username, "app");
  EXPECT_EQ(s.redis.endpoint.password, "p@ss");
  EXPECT_EQ(s.redis.endpoint.database, 3U);
}

TEST_F(RedisSettingsTest, HelpDoesNotShowAPasswordFromTheEnvironment) {
  const ScopedEnv env("MYRIAD_REDIS_URL", "redis://:s3cret@cache.internal:6379/0");
  AllSettings settings;
  CLI::App app{"test"};
  AddAll(app, settings);
  const std::string help = app.help();
  EXPECT_EQ(help.find("s3cret"), std::string::npos) << help;
  EXPECT_NE(help.find("--redis-url"), std::string::npos) << help;
}

// Start-up errors end up in logs, and Describe() exists so logs never carry the password.
TEST_F(RedisSettingsTest, BadRedisUrlErrorDoesNotShowThePassword) {
  for (const char* bad : {"redis://:s3cret@h:0", "redis://:s3cret@h/0?timeout=1",
                          "redis://:s3cret@h/abc", "redis://:s3cret@/0", "rediss://:s3cret@h"}) {
    SCOPED_TRACE(bad);
    const std::string message = ParseFailure({"--redis-url", bad});
    EXPECT_NE(message.find("--redis-url"), std::string::npos) << message;
    EXPECT_EQ(message.find("s3cret"), std::string::npos) << message;
  }
}

TEST_F(RedisSettingsTest, HelpShowsTheCallersGroupsAsDefault) {
  AllSettings settings;
  settings.rate_limit.groups["users-write"] = {20, 10};
  CLI::App app{"test"};
  AddAll(app, settings);
  const std::string help = app.help();
  EXPECT_NE(help.find("GROUP=RATE:BURST,...=users-write=20:10"), std::string::npos) << help;
}

}  // namespace
}  // namespace myriad::config

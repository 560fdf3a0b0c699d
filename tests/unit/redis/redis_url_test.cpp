#include "redis/redis_url.hpp"

#include <gtest/gtest.h>

#include <stdexcept>
#include <string>

namespace myriad::redis {
namespace {

// The reason ParseRedisUrl gives for `text`; empty (and a test failure) if it accepts it.
std::string Rejection(const std::string& text) {
  try {
    const RedisEndpoint e = ParseRedisUrl(text);
    ADD_FAILURE() << "accepted \"" << text << "\" as " << Describe(e);
  } catch (const std::invalid_argument& error) {
    return error.what();
  }
  return {};
}

TEST(RedisUrlTest, EndpointDefaults) {
  const RedisEndpoint e;
  EXPECT_EQ(e.host, "127.0.0.1");
  EXPECT_EQ(e.port, 6379);
  EXPECT_EQ(e.username, "");
  EXPECT_EQ(e.password, "");
  EXPECT_EQ(e.database, 0U);
}

TEST(RedisUrlTest, HostOnlyTakesDefaultPortAndDatabase) {
  const RedisEndpoint e = ParseRedisUrl("redis://10.1.2.3");
  EXPECT_EQ(e.host, "10.1.2.3");
  EXPECT_EQ(e.port, 6379);
  EXPECT_EQ(e.username, "");
  EXPECT_EQ(e.password, "");
  EXPECT_EQ(e.database, 0U);
}

TEST(RedisUrlTest, TrailingSlashMeansDatabaseZero) {
  const RedisEndpoint e = ParseRedisUrl("redis://10.1.2.3:7000/");
  EXPECT_EQ(e.port, 7000);
  EXPECT_EQ(e.database, 0U);
}

TEST(RedisUrlTest, HostPortAndDatabase) {
  const RedisEndpoint e = ParseRedisUrl("redis://h:1234/3");
  EXPECT_EQ(e.host, "h");
  EXPECT_EQ(e.port, 1234);
  EXPECT_EQ(e.username, "");
  EXPECT_EQ(e.password, "");
  EXPECT_EQ(e.database, 3U);
}

TEST(RedisUrlTest, HighestPortAndDatabaseFifteen) {
  const RedisEndpoint e = ParseRedisUrl("redis://h:65535/15");
  EXPECT_EQ(e.port, 65535);
  EXPECT_EQ(e.database, 15U);
}

TEST(RedisUrlTest, PasswordWithoutUser) {
  const RedisEndpoint e = ParseRedisUrl("redis://:pw@h");
  EXPECT_EQ(e.host, "h");
  EXPECT_EQ(e.port, 6379);
  EXPECT_EQ(e.username, "");
  EXPECT_EQ(e.password, "pw");
  EXPECT_EQ(e.database, 0U);
}

TEST(RedisUrlTest, UserAndPassword) {
  const RedisEndpoint e = ParseRedisUrl("redis://user:pw@h:6380/1");
  EXPECT_EQ(e.host, "h");
  EXPECT_EQ(e.port, 6380);
  EXPECT_EQ(e.username, "user");
  EXPECT_EQ(e.password, "pw");
  EXPECT_EQ(e.database, 1U);
}

TEST(RedisUrlTest, PercentEncodedUserAndPasswordAreDecoded) {
  const RedisEndpoint e = ParseRedisUrl("redis://app%2Bro:p%40ss%3Aw%2Fd%25%20x@h");
  EXPECT_EQ(e.username, "app+ro");
  EXPECT_EQ(e.password, "p@ss:w/d% x");
  EXPECT_EQ(e.host, "h");
}

TEST(RedisUrlTest, BracketedIpv6WithPort) {
  const RedisEndpoint e = ParseRedisUrl("redis://[::1]:6380");
  EXPECT_EQ(e.host, "::1");
  EXPECT_EQ(e.port, 6380);
  EXPECT_EQ(e.database, 0U);
}

TEST(RedisUrlTest, Hostname) {
  const RedisEndpoint e = ParseRedisUrl("redis://cache-1.internal.example.com:6379/2");
  EXPECT_EQ(e.host, "cache-1.internal.example.com");
  EXPECT_EQ(e.port, 6379);
  EXPECT_EQ(e.database, 2U);
}

TEST(RedisUrlTest, TlsSchemeIsRefusedNotDowngraded) {
  const std::string reason = Rejection("rediss://h:6379");
  EXPECT_NE(reason.find("rediss"), std::string::npos) << reason;
}

TEST(RedisUrlTest, OtherSchemesAreRefused) {
  for (const char* text : {"http://h:6379", "postgresql://h/0", "unix:///tmp/redis.sock"}) {
    SCOPED_TRACE(text);
    EXPECT_FALSE(Rejection(text).empty());
  }
}

TEST(RedisUrlTest, QueryStringAndFragmentAreRefusedNotIgnored) {
  for (const char* text :
       {"redis://h/0?timeout=5", "redis://h?db=2", "redis://h:6379/0?", "redis://h/0#x"}) {
    SCOPED_TRACE(text);
    EXPECT_FALSE(Rejection(text).empty());
  }
}

TEST(RedisUrlTest, UserWithoutPasswordIsRefused) {
  const std::string reason = Rejection("redis://user@h");
  EXPECT_NE(reason.find("password"), std::string::npos) << reason;
}

TEST(RedisUrlTest, PortOutOfRangeIsRefused) {
  for (const char* text : {"redis://h:0", "redis://h:65536", "redis://h:99999/0"}) {
    SCOPED_TRACE(text);
    EXPECT_FALSE(Rejection(text).empty());
  }
}

TEST(RedisUrlTest, BadDatabaseIsRefused) {
  for (const char* text : {"redis://h/abc", "redis://h/99999", "redis://h/-1", "redis://h/1x",
                           "redis://h/0/1", "redis://h/+1", "redis://h/ 1"}) {
    SCOPED_TRACE(text);
    EXPECT_FALSE(Rejection(text).empty());
  }
}

TEST(RedisUrlTest, EmptyAndGarbageAreRefused) {
  for (const char* text :
       {"", "garbage", "127.0.0.1:6379", "redis://", "redis:///0", "redis//h", "://h", " "}) {
    SCOPED_TRACE(text);
    EXPECT_FALSE(Rejection(text).empty());
  }
}

TEST(RedisUrlTest, DescribeMasksThePassword) {
  EXPECT_EQ(Describe(ParseRedisUrl("redis://:s3cret@127.0.0.1:6379/0")),
            "redis://:***@127.0.0.1:6379/0");
  const std::string with_user = Describe(ParseRedisUrl("redis://alice:s3cret@h:6380/4"));
  EXPECT_EQ(with_user, "redis://alice:***@h:6380/4");
  EXPECT_EQ(with_user.find("s3cret"), std::string::npos);
}

TEST(RedisUrlTest, DescribeWithoutPasswordShowsNoCredentials) {
  EXPECT_EQ(Describe(RedisEndpoint{}), "redis://127.0.0.1:6379/0");
  EXPECT_EQ(Describe(ParseRedisUrl("redis://h")), "redis://h:6379/0");
}

TEST(RedisUrlTest, DescribeBracketsIpv6) {
  EXPECT_EQ(Describe(ParseRedisUrl("redis://:pw@[::1]:6380/2")), "redis://:***@[::1]:6380/2");
}

TEST(RedisUrlTest, DescribedUrlWithoutPasswordParsesBackToTheSameEndpoint) {
  const RedisEndpoint e = ParseRedisUrl("redis://[fe80::1]:7001/9");
  const RedisEndpoint again = ParseRedisUrl(Describe(e));
  EXPECT_EQ(again.host, "fe80::1");
  EXPECT_EQ(again.port, 7001);
  EXPECT_EQ(again.database, 9U);
}

}  // namespace
}  // namespace myriad::redis

#include "redis/reply.hpp"

#include <gtest/gtest.h>

#include <string>
#include <string_view>
#include <vector>

namespace myriad::redis {
namespace {

using std::string_literals::operator""s;

TEST(CommandTest, DefaultIsEmpty) {
  const Command command;
  EXPECT_TRUE(command.empty());
  EXPECT_EQ(command.bytes(), "");
}

TEST(CommandTest, EncodesRespArrayOfBulkStrings) {
  const Command get("GET", "key");
  EXPECT_FALSE(get.empty());
  EXPECT_EQ(get.bytes(), "*2\r\n$3\r\nGET\r\n$3\r\nkey\r\n");
}

TEST(CommandTest, NameAloneIsAOneElementArray) {
  EXPECT_EQ(Command("PING").bytes(), "*1\r\n$4\r\nPING\r\n");
}

TEST(CommandTest, LengthsCountBytesNotCharactersAndHaveSeveralDigits) {
  const std::string long_value(1234, 'x');
  EXPECT_EQ(Command("SET", "k", long_value).bytes(),
            "*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$1234\r\n" + long_value + "\r\n");
  // "é" is two bytes in UTF-8.
  EXPECT_EQ(Command("ECHO", "\xC3\xA9").bytes(), "*2\r\n$4\r\nECHO\r\n$2\r\n\xC3\xA9\r\n");
}

TEST(CommandTest, EmptyArgumentIsAZeroLengthBulkString) {
  EXPECT_EQ(Command("SET", "k", "").bytes(), "*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$0\r\n\r\n");
}

TEST(CommandTest, ArgumentsAreBinarySafe) {
  const std::string with_nul = "a\0b"s;
  ASSERT_EQ(with_nul.size(), 3U);
  EXPECT_EQ(Command("SET", with_nul, "x\r\ny").bytes(),
            "*3\r\n$3\r\nSET\r\n$3\r\na\0b\r\n$4\r\nx\r\ny\r\n"s);
  const std::string_view only_nul("\0", 1);
  EXPECT_EQ(Command("ECHO", only_nul).bytes(), "*2\r\n$4\r\nECHO\r\n$1\r\n\0\r\n"s);
}

TEST(CommandTest, StringAndStringViewArgumentsMixed) {
  const std::string key = "myriad:user:v1:42";
  const std::string_view value = "u1|-";
  const std::string ttl = "5000";
  const Command set("SET", key, value, "NX", std::string_view("PX"), ttl);
  EXPECT_EQ(set.bytes(),
            "*6\r\n$3\r\nSET\r\n$17\r\nmyriad:user:v1:42\r\n$4\r\nu1|-\r\n$2\r\nNX\r\n"
            "$2\r\nPX\r\n$4\r\n5000\r\n");
}

TEST(CommandTest, OwnsItsBytesAfterTheArgumentsAreGone) {
  Command command;
  {
    std::string key = "temporary";
    command = Command("GET", key);
    key.assign("XXXXXXXXX");
  }
  EXPECT_EQ(command.bytes(), "*2\r\n$3\r\nGET\r\n$9\r\ntemporary\r\n");
}

TEST(CommandTest, VectorConstructorMatchesVariadic) {
  const std::vector<std::string> args{"SET", "k", "a\0b"s, "PX", "100"};
  const Command from_vector(args);
  EXPECT_EQ(from_vector.bytes(),
            "*5\r\n$3\r\nSET\r\n$1\r\nk\r\n$3\r\na\0b\r\n$2\r\nPX\r\n$3\r\n100\r\n"s);
  EXPECT_EQ(from_vector.bytes(), Command("SET", "k", "a\0b"s, "PX", "100").bytes());
}

TEST(CommandTest, VectorWithEmptyStrings) {
  const std::vector<std::string> args{"DEL", "", ""};
  EXPECT_EQ(Command(args).bytes(), "*3\r\n$3\r\nDEL\r\n$0\r\n\r\n$0\r\n\r\n");
}

TEST(ReplyTest, Predicates) {
  Reply nil;
  EXPECT_TRUE(nil.IsNil());
  EXPECT_FALSE(nil.IsOk());

  Reply ok{Reply::Type::kStatus, "OK", 0, {}};
  EXPECT_TRUE(ok.IsOk());
  EXPECT_FALSE(ok.IsString());

  // A bulk string "OK" is not a +OK status; a status other than OK is not OK.
  EXPECT_FALSE((Reply{Reply::Type::kString, "OK", 0, {}}).IsOk());
  EXPECT_FALSE((Reply{Reply::Type::kStatus, "QUEUED", 0, {}}).IsOk());

  Reply error{Reply::Type::kError, "ERR wrong", 0, {}};
  EXPECT_TRUE(error.IsError());
  EXPECT_FALSE(error.IsOk());
  EXPECT_FALSE(error.IsNil());
}

TEST(RedisErrorTest, KindNames) {
  EXPECT_EQ(ToString(RedisErrorKind::kUnavailable), "unavailable");
  EXPECT_EQ(ToString(RedisErrorKind::kConnection), "connection");
  EXPECT_EQ(ToString(RedisErrorKind::kTimeout), "timeout");
  EXPECT_EQ(ToString(RedisErrorKind::kProtocol), "protocol");
}

TEST(RedisErrorTest, MakeRedisErrorBuildsAnErrorResult) {
  const RedisResult<Reply> result = MakeRedisError(RedisErrorKind::kTimeout, "deadline");
  ASSERT_FALSE(result.has_value());
  EXPECT_EQ(result.error().kind, RedisErrorKind::kTimeout);
  EXPECT_EQ(result.error().message, "deadline");
}

}  // namespace
}  // namespace myriad::redis

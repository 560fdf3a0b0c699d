#include "http/access_log.hpp"

#include <gtest/gtest.h>
#include <unistd.h>

#include <boost/json/parse.hpp>
#include <boost/json/value.hpp>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <thread>

namespace myriad::http {
namespace {

std::string Escaped(std::string_view text) {
  std::string out;
  AppendJsonEscaped(text, out);
  return out;
}

// Wraps escaped text in quotes and parses it as a JSON string.
boost::json::value ParseEscaped(std::string_view text, boost::system::error_code& ec) {
  return boost::json::parse("\"" + Escaped(text) + "\"", ec);
}

TEST(AppendJsonEscapedTest, PlainAsciiIsCopied) {
  EXPECT_EQ(Escaped(""), "");
  EXPECT_EQ(Escaped("/api/users/42?x=1 ok~"), "/api/users/42?x=1 ok~");
}

TEST(AppendJsonEscapedTest, AppendsWithoutClearing) {
  std::string out = "prefix:";
  AppendJsonEscaped("a\"b", out);
  EXPECT_EQ(out, "prefix:a\\\"b");
}

TEST(AppendJsonEscapedTest, QuotesAndBackslashes) {
  EXPECT_EQ(Escaped("\""), "\\\"");
  EXPECT_EQ(Escaped("\\"), "\\\\");
  EXPECT_EQ(Escaped("a\"b\\c"), "a\\\"b\\\\c");
  EXPECT_EQ(Escaped("\\\""), "\\\\\\\"");
}

TEST(AppendJsonEscapedTest, ControlCharactersAreUnicodeEscaped) {
  EXPECT_EQ(Escaped(std::string_view("\0", 1)), "\\u0000");
  EXPECT_EQ(Escaped("\n"), "\\u000a");
  EXPECT_EQ(Escaped("\r"), "\\u000d");
  EXPECT_EQ(Escaped("\t"), "\\u0009");
  EXPECT_EQ(Escaped("\x1f"), "\\u001f");
  EXPECT_EQ(Escaped(" "), " ");
}

TEST(AppendJsonEscapedTest, DeleteAndHighBytesAreEscapedOneByOne) {
  EXPECT_EQ(Escaped("\x7f"), "\\u007f");
  EXPECT_EQ(Escaped("\x80"), "\\u0080");
  EXPECT_EQ(Escaped("\xff"), "\\u00ff");
  // Valid UTF-8 is escaped byte by byte too (é = C3 A9).
  EXPECT_EQ(Escaped("caf\xc3\xa9"), "caf\\u00c3\\u00a9");
}

TEST(AppendJsonEscapedTest, EveryByteProducesValidJson) {
  for (int i = 0; i < 256; ++i) {
    const std::string one(1, static_cast<char>(i));
    boost::system::error_code ec;
    boost::json::value v = ParseEscaped(one, ec);
    ASSERT_FALSE(ec) << "byte " << i << " -> " << Escaped(one);
    ASSERT_TRUE(v.is_string());
    // Bytes below 0x80 round-trip exactly; higher bytes come back as U+0080..U+00FF.
    if (i < 0x80) {
      EXPECT_EQ(std::string(v.as_string()), one) << "byte " << i;
    }
  }
}

TEST(AppendJsonEscapedTest, HostileTextParsesAsOneJsonString) {
  std::string hostile = "\"},{\"injected\":true,\"x\":\"\\\r\n";
  hostile.push_back('\0');
  hostile += "\xc3\x28\xa0\xa1\xf0\x28\x8c\xbc";  // invalid UTF-8
  boost::system::error_code ec;
  boost::json::value v = ParseEscaped(hostile, ec);
  ASSERT_FALSE(ec) << Escaped(hostile);
  EXPECT_TRUE(v.is_string());

  // Inside an object the escaped text cannot add keys.
  const std::string object = "{\"path\":\"" + Escaped(hostile) + "\"}";
  v = boost::json::parse(object, ec);
  ASSERT_FALSE(ec) << object;
  EXPECT_EQ(v.as_object().size(), 1u);
}

class TempFile {
 public:
  TempFile() {
    path_ = std::filesystem::temp_directory_path() /
            ("myriad_access_log_test_" + std::to_string(::getpid()) + "_" +
             ::testing::UnitTest::GetInstance()->current_test_info()->name() + ".log");
    std::filesystem::remove(path_);
  }
  ~TempFile() {
    std::error_code ec;
    std::filesystem::remove(path_, ec);
  }
  const std::filesystem::path& path() const { return path_; }

  // Waits for the background logger thread to write a complete line.
  std::string FirstLine() const {
    for (int attempt = 0; attempt < 500; ++attempt) {
      std::ifstream in(path_);
      std::string line;
      if (in && std::getline(in, line) && !in.eof()) return line;
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    return {};
  }

 private:
  std::filesystem::path path_;
};

AccessEntry HostileEntry() {
  AccessEntry e;
  e.method = "GET";
  e.route = "/api/users/{id}";
  e.path = "/api/users/\"\n\x01\xff";
  e.status = 404;
  e.duration_seconds = 0.0015;
  e.bytes = 123;
  e.request_id = "abc-123";
  e.peer = "127.0.0.1:5555";
  return e;
}

TEST(AccessLogTest, OffIsDisabled) {
  AccessLog log("off", log::Format::kJson);
  EXPECT_FALSE(log.enabled());
  log.Write(HostileEntry());  // a no-op, not a crash
  log.Flush();
}

TEST(AccessLogTest, JsonLineIsValidJsonWithEveryField) {
  TempFile file;
  {
    AccessLog log(file.path().string(), log::Format::kJson);
    ASSERT_TRUE(log.enabled());
    log.Write(HostileEntry());
    log.Flush();
  }
  const std::string line = file.FirstLine();
  ASSERT_FALSE(line.empty()) << "no line written to " << file.path();
  boost::system::error_code ec;
  boost::json::value v = boost::json::parse(line, ec);
  ASSERT_FALSE(ec) << line;
  const auto& o = v.as_object();
  EXPECT_EQ(o.at("type").as_string(), "access");
  EXPECT_EQ(o.at("method").as_string(), "GET");
  EXPECT_EQ(o.at("route").as_string(), "/api/users/{id}");
  EXPECT_EQ(o.at("path").as_string(), "/api/users/\"\n\x01\xc3\xbf");
  EXPECT_EQ(o.at("status").to_number<int>(), 404);
  EXPECT_NEAR(o.at("duration_ms").to_number<double>(), 1.5, 1e-9);
  EXPECT_EQ(o.at("bytes").to_number<int>(), 123);
  EXPECT_EQ(o.at("request_id").as_string(), "abc-123");
  EXPECT_EQ(o.at("peer").as_string(), "127.0.0.1:5555");
  EXPECT_TRUE(o.contains("time"));
}

TEST(AccessLogTest, TextLineKeepsHostilePathOnOneLine) {
  TempFile file;
  {
    AccessLog log(file.path().string(), log::Format::kText);
    log.Write(HostileEntry());
    log.Flush();
  }
  const std::string line = file.FirstLine();
  ASSERT_FALSE(line.empty()) << "no line written to " << file.path();
  EXPECT_NE(line.find("127.0.0.1:5555 GET /api/users/\\\"\\u000a\\u0001\\u00ff 404 1.500ms 123B "
                      "id=abc-123 route=/api/users/{id}"),
            std::string::npos)
      << line;
}

}  // namespace
}  // namespace myriad::http

#include "http/response_writer.hpp"

#include <gtest/gtest.h>

#include <cstdlib>
#include <ctime>
#include <string>

#include "core/clock.hpp"

namespace myriad::http {
namespace {

constexpr std::string_view kDate = "Sun, 06 Nov 1994 08:49:37 GMT";

ResponseMeta Meta() {
  ResponseMeta meta;
  meta.request_id = "req-1";
  meta.date = kDate;
  return meta;
}

std::string Write(const Response& response, const ResponseMeta& meta) {
  std::string out;
  AppendResponse(response, meta, out);
  return out;
}

TEST(ResponseWriterTest, OkWithBodyExactBytes) {
  Response r = JsonResponse(200, R"({"ok":true})");
  EXPECT_EQ(Write(r, Meta()),
            "HTTP/1.1 200 OK\r\n"
            "Date: Sun, 06 Nov 1994 08:49:37 GMT\r\n"
            "Server: myriad\r\n"
            "Content-Type: application/json\r\n"
            "Content-Length: 11\r\n"
            "X-Request-ID: req-1\r\n"
            "\r\n"
            R"({"ok":true})");
}

TEST(ResponseWriterTest, AppendsToExistingOutput) {
  // Pipelined answers accumulate in one buffer.
  std::string out = "previous";
  AppendResponse(JsonResponse(200, "{}"), Meta(), out);
  EXPECT_EQ(out.rfind("previousHTTP/1.1 200 OK\r\n", 0), 0u) << out;
  EXPECT_EQ(out.substr(out.size() - 6), "\r\n\r\n{}");
}

TEST(ResponseWriterTest, EmptyBodyHasContentLengthZero) {
  Response r = JsonResponse(200, "");
  EXPECT_EQ(Write(r, Meta()),
            "HTTP/1.1 200 OK\r\n"
            "Date: Sun, 06 Nov 1994 08:49:37 GMT\r\n"
            "Server: myriad\r\n"
            "Content-Type: application/json\r\n"
            "Content-Length: 0\r\n"
            "X-Request-ID: req-1\r\n"
            "\r\n");
}

TEST(ResponseWriterTest, HeadOmitsBodyButKeepsContentLength) {
  Response r = JsonResponse(200, R"({"ok":true})");
  ResponseMeta meta = Meta();
  meta.head = true;
  EXPECT_EQ(Write(r, meta),
            "HTTP/1.1 200 OK\r\n"
            "Date: Sun, 06 Nov 1994 08:49:37 GMT\r\n"
            "Server: myriad\r\n"
            "Content-Type: application/json\r\n"
            "Content-Length: 11\r\n"
            "X-Request-ID: req-1\r\n"
            "\r\n");
}

TEST(ResponseWriterTest, NoContentHasNoTypeLengthOrBody) {
  Response r = JsonResponse(204, "ignored");
  EXPECT_EQ(Write(r, Meta()),
            "HTTP/1.1 204 No Content\r\n"
            "Date: Sun, 06 Nov 1994 08:49:37 GMT\r\n"
            "Server: myriad\r\n"
            "X-Request-ID: req-1\r\n"
            "\r\n");
}

TEST(ResponseWriterTest, NotModifiedAndInformationalHaveNoBody) {
  for (int status : {304, 100, 199}) {
    const std::string out = Write(JsonResponse(status, "ignored"), Meta());
    EXPECT_EQ(out.find("Content-Length"), std::string::npos) << out;
    EXPECT_EQ(out.find("Content-Type"), std::string::npos) << out;
    EXPECT_EQ(out.find("ignored"), std::string::npos) << out;
    EXPECT_EQ(out.substr(out.size() - 4), "\r\n\r\n") << out;
  }
}

TEST(ResponseWriterTest, ProblemContentTypeAndUnknownStatus) {
  Response r;
  r.status = 599;
  r.content_type = kProblemType;
  r.body = "{}";
  const std::string out = Write(r, Meta());
  EXPECT_EQ(out.rfind("HTTP/1.1 599 Unknown\r\n", 0), 0u) << out;
  EXPECT_NE(out.find("\r\nContent-Type: application/problem+json\r\n"), std::string::npos) << out;
}

TEST(ResponseWriterTest, ConnectionCloseWhenNotKeepAlive) {
  ResponseMeta meta = Meta();
  meta.keep_alive = false;
  EXPECT_EQ(Write(JsonResponse(200, "{}"), meta),
            "HTTP/1.1 200 OK\r\n"
            "Date: Sun, 06 Nov 1994 08:49:37 GMT\r\n"
            "Server: myriad\r\n"
            "Content-Type: application/json\r\n"
            "Content-Length: 2\r\n"
            "X-Request-ID: req-1\r\n"
            "Connection: close\r\n"
            "\r\n"
            "{}");
}

TEST(ResponseWriterTest, ConnectionCloseWhenResponseAsksForIt) {
  Response r = JsonResponse(503, "{}");
  r.close = true;
  const std::string out = Write(r, Meta());
  EXPECT_NE(out.find("\r\nConnection: close\r\n\r\n"), std::string::npos) << out;
}

TEST(ResponseWriterTest, KeepAliveOnHttp11HasNoConnectionHeader) {
  const std::string out = Write(JsonResponse(200, "{}"), Meta());
  EXPECT_EQ(out.find("Connection:"), std::string::npos) << out;
}

TEST(ResponseWriterTest, Http10KeepAliveSaysSo) {
  ResponseMeta meta = Meta();
  meta.version = 10;
  EXPECT_EQ(Write(JsonResponse(200, "{}"), meta),
            "HTTP/1.0 200 OK\r\n"
            "Date: Sun, 06 Nov 1994 08:49:37 GMT\r\n"
            "Server: myriad\r\n"
            "Content-Type: application/json\r\n"
            "Content-Length: 2\r\n"
            "X-Request-ID: req-1\r\n"
            "Connection: keep-alive\r\n"
            "\r\n"
            "{}");
}

TEST(ResponseWriterTest, Http10CloseSaysCloseOnly) {
  ResponseMeta meta = Meta();
  meta.version = 10;
  meta.keep_alive = false;
  const std::string out = Write(JsonResponse(200, "{}"), meta);
  EXPECT_EQ(out.rfind("HTTP/1.0 200 OK\r\n", 0), 0u) << out;
  EXPECT_NE(out.find("\r\nConnection: close\r\n"), std::string::npos) << out;
  EXPECT_EQ(out.find("keep-alive"), std::string::npos) << out;
}

TEST(ResponseWriterTest, ExtraHeadersKeepTheirOrderAfterStandardOnes) {
  Response r = JsonResponse(405, "{}");
  r.Header("Allow", "GET, HEAD, OPTIONS").Header("Retry-After", "1").Header("X-B", "2");
  ResponseMeta meta = Meta();
  meta.keep_alive = false;
  EXPECT_EQ(Write(r, meta),
            "HTTP/1.1 405 Method Not Allowed\r\n"
            "Date: Sun, 06 Nov 1994 08:49:37 GMT\r\n"
            "Server: myriad\r\n"
            "Content-Type: application/json\r\n"
            "Content-Length: 2\r\n"
            "X-Request-ID: req-1\r\n"
            "Allow: GET, HEAD, OPTIONS\r\n"
            "Retry-After: 1\r\n"
            "X-B: 2\r\n"
            "Connection: close\r\n"
            "\r\n"
            "{}");
}

TEST(ResponseWriterTest, NoRequestIdNoHeader) {
  ResponseMeta meta = Meta();
  meta.request_id = "";
  const std::string out = Write(JsonResponse(200, "{}"), meta);
  EXPECT_EQ(out.find("X-Request-ID"), std::string::npos) << out;
}

TEST(ResponseWriterTest, LargeBodyLength) {
  Response r = JsonResponse(200, std::string(1234567, 'x'));
  const std::string out = Write(r, Meta());
  EXPECT_NE(out.find("\r\nContent-Length: 1234567\r\n"), std::string::npos);
  EXPECT_EQ(out.size(), out.find("\r\n\r\n") + 4 + 1234567);
}

// IMF-fixdate (RFC 9110 5.6.7): "Sun, 06 Nov 1994 08:49:37 GMT". Checked by hand: GCC 12
// warns inside std::regex under the sanitizer build.
::testing::AssertionResult IsImfFixdate(std::string_view d) {
  auto fail = [&](const char* why) { return ::testing::AssertionFailure() << why << ": " << d; };
  auto digits = [&](std::size_t pos, std::size_t n) {
    for (std::size_t i = pos; i < pos + n; ++i) {
      if (d[i] < '0' || d[i] > '9') return false;
    }
    return true;
  };
  auto number = [&](std::size_t pos, std::size_t n) {
    int v = 0;
    for (std::size_t i = pos; i < pos + n; ++i) v = v * 10 + (d[i] - '0');
    return v;
  };
  if (d.size() != 29) return fail("length");
  const std::string_view days = "Mon,Tue,Wed,Thu,Fri,Sat,Sun,";
  const std::string_view months = "Jan Feb Mar Apr May Jun Jul Aug Sep Oct Nov Dec ";
  const std::string_view day = d.substr(0, 4);
  if (days.find(day) == std::string_view::npos || days.find(day) % 4 != 0) return fail("day");
  if (d[4] != ' ' || !digits(5, 2) || d[7] != ' ') return fail("day of month");
  if (number(5, 2) < 1 || number(5, 2) > 31) return fail("day of month");
  const std::string_view month = d.substr(8, 4);
  if (months.find(month) == std::string_view::npos || months.find(month) % 4 != 0) {
    return fail("month");
  }
  if (!digits(12, 4) || d[16] != ' ') return fail("year");
  if (!digits(17, 2) || d[19] != ':' || !digits(20, 2) || d[22] != ':' || !digits(23, 2)) {
    return fail("time");
  }
  if (number(17, 2) > 23 || number(20, 2) > 59 || number(23, 2) > 60) return fail("time");
  if (d.substr(25) != " GMT") return fail("zone");
  return ::testing::AssertionSuccess();
}

TEST(DateCacheTest, ImfFixdateCheckerRejectsNearMisses) {
  EXPECT_TRUE(IsImfFixdate(kDate));
  EXPECT_FALSE(IsImfFixdate("Sun, 6 Nov 1994 08:49:37 GMT"));
  EXPECT_FALSE(IsImfFixdate("Sunday, 06-Nov-94 08:49:37 GMT"));
  EXPECT_FALSE(IsImfFixdate("Sun Nov  6 08:49:37 1994"));
  EXPECT_FALSE(IsImfFixdate("Sun, 06 Nov 1994 08:49:37 UTC"));
  EXPECT_FALSE(IsImfFixdate("Sun, 06 nov 1994 08:49:37 GMT"));
  EXPECT_FALSE(IsImfFixdate("Sun, 06 Nov 1994 24:49:37 GMT"));
  EXPECT_FALSE(IsImfFixdate("un,  06 Nov 1994 08:49:37 GMT"));
}

TEST(DateCacheTest, FormatIsImfFixdate) {
  DateCache cache;
  EXPECT_TRUE(IsImfFixdate(cache.Get()));
  EXPECT_TRUE(IsImfFixdate(cache.Get()));  // the cached copy too
}

TEST(DateCacheTest, IsTheCurrentUtcTime) {
  DateCache cache;
  const long long before = core::WallClockSeconds();
  const std::string date(cache.Get());
  const long long after = core::WallClockSeconds();
  std::tm tm{};
  const char* end = ::strptime(date.c_str(), "%a, %d %b %Y %H:%M:%S GMT", &tm);
  ASSERT_NE(end, nullptr) << date;
  EXPECT_EQ(*end, '\0') << date;
  const long long parsed = ::timegm(&tm);
  EXPECT_GE(parsed, before) << date;
  EXPECT_LE(parsed, after) << date;
}

}  // namespace
}  // namespace myriad::http

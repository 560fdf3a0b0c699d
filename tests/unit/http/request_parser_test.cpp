#include "http/request_parser.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <string>
#include <string_view>
#include <vector>

#include "http/request.hpp"

namespace myriad::http {
namespace {

using Status = RequestParser::Status;

constexpr RequestParser::Limits kLimits{1024, 4096};

const char* StatusName(Status s) {
  switch (s) {
    case Status::kNeedMore:
      return "kNeedMore";
    case Status::kComplete:
      return "kComplete";
    case Status::kError:
      return "kError";
  }
  return "?";
}

::testing::AssertionResult IsComplete(const RequestParser::Result& r, std::size_t consumed) {
  if (r.status != Status::kComplete) {
    return ::testing::AssertionFailure()
           << "status " << StatusName(r.status) << ", error " << static_cast<int>(r.error);
  }
  if (r.consumed != consumed) {
    return ::testing::AssertionFailure() << "consumed " << r.consumed << ", expected " << consumed;
  }
  return ::testing::AssertionSuccess();
}

::testing::AssertionResult IsError(const RequestParser::Result& r, ParseError error) {
  if (r.status != Status::kError) {
    return ::testing::AssertionFailure() << "status " << StatusName(r.status);
  }
  if (r.error != error) {
    return ::testing::AssertionFailure()
           << "error " << static_cast<int>(r.error) << ", expected " << static_cast<int>(error);
  }
  return ::testing::AssertionSuccess();
}

RequestParser::Result ParseAll(std::string_view wire, Request& request,
                               RequestParser::Limits limits = kLimits) {
  RequestParser parser(limits);
  return parser.Parse(wire, request);
}

struct Fed {
  RequestParser::Result last;
  std::size_t fed = 0;          // bytes handed to the parser when it finished
  std::size_t left_over = 0;    // unconsumed bytes the caller still holds at the end
  std::size_t max_pending = 0;  // the most the caller had to hold between calls
};

// Feeds `wire` like a socket delivering `step` bytes per read: the caller keeps what the
// parser did not consume and appends the new bytes to it. Stops at kComplete or kError.
// Checks the parser's promise that it never asks for more while sitting on a full header
// limit's worth of unconsumed bytes.
Fed FeedInPieces(RequestParser& parser, Request& request, std::string_view wire, std::size_t step,
                 std::size_t header_limit = kLimits.max_header_bytes) {
  Fed f;
  std::string pending;
  while (f.fed < wire.size()) {
    const std::size_t n = std::min(step, wire.size() - f.fed);
    pending.append(wire.substr(f.fed, n));
    f.fed += n;
    f.last = parser.Parse(pending, request);
    EXPECT_LE(f.last.consumed, pending.size());
    pending.erase(0, f.last.consumed);
    f.max_pending = std::max(f.max_pending, pending.size());
    if (f.last.status != Status::kNeedMore) break;
    EXPECT_LT(pending.size(), header_limit)
        << "kNeedMore while holding " << pending.size() << " unconsumed bytes";
  }
  f.left_over = pending.size();
  return f;
}

std::string Padding(std::size_t n) { return std::string(n, 'p'); }

// --- Well-formed requests --------------------------------------------------------------

TEST(RequestParserTest, SimpleGet) {
  const std::string wire =
      "GET /api/users?limit=5&x=%20 HTTP/1.1\r\n"
      "Host: example.com\r\n"
      "Accept: application/json\r\n"
      "\r\n";
  RequestParser parser(kLimits);
  Request r;
  EXPECT_FALSE(parser.HeaderDone());
  ASSERT_TRUE(IsComplete(parser.Parse(wire, r), wire.size()));
  EXPECT_TRUE(parser.HeaderDone());
  EXPECT_FALSE(parser.ExpectsContinue());
  EXPECT_EQ(r.method(), Method::kGet);
  EXPECT_EQ(r.method_text(), "GET");
  EXPECT_EQ(r.target(), "/api/users?limit=5&x=%20");
  EXPECT_EQ(r.path(), "/api/users");
  EXPECT_EQ(r.query(), "limit=5&x=%20");
  EXPECT_EQ(r.version(), 11u);
  EXPECT_TRUE(r.keep_alive());
  EXPECT_EQ(r.body(), "");
  EXPECT_EQ(r.header_count(), 2u);
  EXPECT_EQ(r.Header("Host"), "example.com");
  EXPECT_EQ(r.Header("Accept"), "application/json");
}

TEST(RequestParserTest, PathWithoutQuery) {
  Request r;
  ASSERT_EQ(ParseAll("GET /a/b HTTP/1.1\r\n\r\n", r).status, Status::kComplete);
  EXPECT_EQ(r.path(), "/a/b");
  EXPECT_EQ(r.query(), "");
  ASSERT_EQ(ParseAll("GET /a? HTTP/1.1\r\n\r\n", r).status, Status::kComplete);
  EXPECT_EQ(r.path(), "/a");
  EXPECT_EQ(r.query(), "");
}

TEST(RequestParserTest, EveryKnownMethodAndAnUnknownOne) {
  const std::vector<std::pair<std::string, Method>> methods = {
      {"GET", Method::kGet},         {"HEAD", Method::kHead},   {"POST", Method::kPost},
      {"PUT", Method::kPut},         {"PATCH", Method::kPatch}, {"DELETE", Method::kDelete},
      {"OPTIONS", Method::kOptions}, {"BREW", Method::kOther},  {"get", Method::kOther},
      {"PROPFIND", Method::kOther},
  };
  for (const auto& [text, method] : methods) {
    Request r;
    const std::string wire = text + " /x HTTP/1.1\r\n\r\n";
    ASSERT_TRUE(IsComplete(ParseAll(wire, r), wire.size())) << text;
    EXPECT_EQ(r.method(), method) << text;
    EXPECT_EQ(r.method_text(), text);
  }
}

TEST(RequestParserTest, HeaderLookupIsCaseInsensitiveAndReturnsTheFirst) {
  const std::string wire =
      "GET / HTTP/1.1\r\n"
      "X-Custom-Header: first\r\n"
      "x-custom-header: second\r\n"
      "CONTENT-type:   text/plain  \r\n"
      "Empty:\r\n"
      "\r\n";
  Request r;
  ASSERT_TRUE(IsComplete(ParseAll(wire, r), wire.size()));
  EXPECT_EQ(r.header_count(), 4u);
  EXPECT_EQ(r.Header("X-CUSTOM-HEADER"), "first");
  EXPECT_EQ(r.Header("x-custom-header"), "first");
  EXPECT_EQ(r.Header("Content-Type"), "text/plain");  // surrounding whitespace trimmed
  EXPECT_TRUE(r.HasHeader("content-type"));
  EXPECT_TRUE(r.HasHeader("EMPTY"));
  EXPECT_EQ(r.Header("Empty"), "");
  EXPECT_FALSE(r.HasHeader("Missing"));
  EXPECT_EQ(r.Header("Missing"), "");
  EXPECT_FALSE(r.HasHeader("X-Custom"));  // no prefix matches
}

TEST(RequestParserTest, ObsoleteLineFoldingIsJoined) {
  const std::string wire = "GET / HTTP/1.1\r\nX-A: a\r\n  b\r\nX-B: c\r\n\r\n";
  Request r;
  ASSERT_TRUE(IsComplete(ParseAll(wire, r), wire.size()));
  EXPECT_EQ(r.header_count(), 2u);
  EXPECT_EQ(r.Header("X-A"), "a b");
  EXPECT_EQ(r.Header("X-B"), "c");
}

TEST(RequestParserTest, ContentLengthBody) {
  const std::string wire =
      "POST /api/users HTTP/1.1\r\n"
      "Content-Type: application/json\r\n"
      "Content-Length: 13\r\n"
      "\r\n"
      "{\"name\":\"a\"}\n";
  Request r;
  ASSERT_TRUE(IsComplete(ParseAll(wire, r), wire.size()));
  EXPECT_EQ(r.method(), Method::kPost);
  EXPECT_EQ(r.body(), "{\"name\":\"a\"}\n");
}

TEST(RequestParserTest, ContentLengthZeroCompletesAtTheHeader) {
  const std::string wire = "POST /x HTTP/1.1\r\nContent-Length: 0\r\n\r\n";
  Request r;
  ASSERT_TRUE(IsComplete(ParseAll(wire, r), wire.size()));
  EXPECT_EQ(r.body(), "");
}

TEST(RequestParserTest, BodyArrivingLaterIsConsumedAsItComes) {
  const std::string head = "PUT /x HTTP/1.1\r\nContent-Length: 10\r\n\r\n";
  RequestParser parser(kLimits);
  Request r;
  auto res = parser.Parse(head + "01234", r);
  EXPECT_EQ(res.status, Status::kNeedMore);
  EXPECT_EQ(res.consumed, head.size() + 5);  // body bytes are copied, so all are consumed
  EXPECT_TRUE(parser.HeaderDone());
  ASSERT_TRUE(IsComplete(parser.Parse("56789", r), 5));
  EXPECT_EQ(r.body(), "0123456789");
}

TEST(RequestParserTest, IdenticalDuplicateContentLengthIsAccepted) {
  const std::string wire = "POST /x HTTP/1.1\r\nContent-Length: 2\r\nContent-Length: 2\r\n\r\nab";
  Request r;
  ASSERT_TRUE(IsComplete(ParseAll(wire, r), wire.size()));
  EXPECT_EQ(r.body(), "ab");
}

TEST(RequestParserTest, ChunkedBody) {
  const std::string wire =
      "POST /upload HTTP/1.1\r\n"
      "Transfer-Encoding: chunked\r\n"
      "\r\n"
      "4\r\nWiki\r\n"
      "5;name=value\r\npedia\r\n"
      "E\r\n in\r\n\r\nchunks.\r\n"
      "0\r\n"
      "\r\n";
  Request r;
  ASSERT_TRUE(IsComplete(ParseAll(wire, r), wire.size()));
  EXPECT_EQ(r.body(), "Wikipedia in\r\n\r\nchunks.");
}

TEST(RequestParserTest, ChunkedTrailersAreNotMergedIntoHeaders) {
  // RFC 9110 6.5.1: trailer fields must not be treated as header fields; otherwise a
  // client could smuggle Authorization or X-Request-ID past whatever checked the header.
  const std::string wire =
      "POST /upload HTTP/1.1\r\n"
      "Transfer-Encoding: chunked\r\n"
      "\r\n"
      "3\r\nabc\r\n"
      "0\r\n"
      "Authorization: Bearer smuggled\r\n"
      "X-Request-ID: smuggled\r\n"
      "\r\n";
  for (std::size_t step : {wire.size(), std::size_t{1}}) {
    RequestParser parser(kLimits);
    Request r;
    Fed f = FeedInPieces(parser, r, wire, step);
    ASSERT_TRUE(IsComplete(f.last, f.last.consumed)) << "step " << step;
    EXPECT_EQ(f.left_over, 0u);
    EXPECT_EQ(r.body(), "abc");
    EXPECT_FALSE(r.HasHeader("Authorization")) << "step " << step;
    EXPECT_FALSE(r.HasHeader("X-Request-ID")) << "step " << step;
    EXPECT_EQ(r.header_count(), 1u);
  }
}

// --- Pipelining and incremental input -------------------------------------------------

TEST(RequestParserTest, PipelinedRequestsInOneBuffer) {
  const std::string wire =
      "GET /a HTTP/1.1\r\nHost: x\r\n\r\n"
      "POST /b HTTP/1.1\r\nContent-Length: 3\r\n\r\nabc"
      "DELETE /c HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nhi\r\n0\r\n\r\n"
      "GET /d HTTP/1.1\r\nHo";
  RequestParser parser(kLimits);
  Request r;
  std::string_view rest = wire;
  std::vector<std::string> seen;
  for (;;) {
    auto res = parser.Parse(rest, r);
    ASSERT_NE(res.status, Status::kError);
    rest.remove_prefix(res.consumed);
    if (res.status == Status::kNeedMore) break;
    seen.push_back(std::string(r.method_text()) + " " + std::string(r.target()) + " [" +
                   std::string(r.body()) + "]");
    parser.Reset();
  }
  const std::vector<std::string> expected = {"GET /a []", "POST /b [abc]", "DELETE /c [hi]"};
  EXPECT_EQ(seen, expected);
  // The fourth request waits for the rest of its header; what the parser did not take
  // yet is the tail of it.
  EXPECT_FALSE(rest.empty());
  EXPECT_TRUE(std::string_view("GET /d HTTP/1.1\r\nHo").ends_with(rest)) << rest;
  EXPECT_FALSE(parser.HeaderDone());
  ASSERT_TRUE(IsComplete(parser.Parse(std::string(rest) + "st: y\r\n\r\n", r), rest.size() + 9));
  EXPECT_EQ(r.target(), "/d");
  EXPECT_EQ(r.Header("Host"), "y");
}

TEST(RequestParserTest, CompleteRequestConsumesExactlyItsOwnBytes) {
  const std::string first = "POST /b HTTP/1.1\r\nContent-Length: 3\r\n\r\nabc";
  RequestParser parser(kLimits);
  Request r;
  ASSERT_TRUE(IsComplete(parser.Parse(first + "garbage that is not HTTP", r), first.size()));
  EXPECT_EQ(r.body(), "abc");
}

const std::string& SplitTestRequest() {
  static const std::string kWire =
      "POST /api/users/42?verbose=1 HTTP/1.1\r\n"
      "Host: example.com\r\n"
      "X-Request-ID: abc-123\r\n"
      "X-Folded: one\r\n two\r\n"
      "Content-Length: 11\r\n"
      "\r\n"
      "hello world";
  return kWire;
}

void ExpectSplitTestRequest(const Request& r) {
  EXPECT_EQ(r.method(), Method::kPost);
  EXPECT_EQ(r.path(), "/api/users/42");
  EXPECT_EQ(r.query(), "verbose=1");
  EXPECT_EQ(r.Header("host"), "example.com");
  EXPECT_EQ(r.Header("x-request-id"), "abc-123");
  EXPECT_EQ(r.Header("x-folded"), "one two");
  EXPECT_EQ(r.header_count(), 4u);
  EXPECT_EQ(r.body(), "hello world");
}

TEST(RequestParserTest, RequestSplitByteByByte) {
  const std::string& wire = SplitTestRequest();
  RequestParser parser(kLimits);
  Request r;
  Fed f = FeedInPieces(parser, r, wire, 1);
  ASSERT_TRUE(IsComplete(f.last, f.last.consumed));
  EXPECT_EQ(f.fed, wire.size()) << "completed before the last byte arrived";
  EXPECT_EQ(f.left_over, 0u);
  ExpectSplitTestRequest(r);
}

TEST(RequestParserTest, RequestSplitInTwoAtEveryOffset) {
  const std::string& wire = SplitTestRequest();
  for (std::size_t cut = 1; cut < wire.size(); ++cut) {
    SCOPED_TRACE("cut at " + std::to_string(cut));
    RequestParser parser(kLimits);
    Request r;
    auto first = parser.Parse(std::string_view(wire).substr(0, cut), r);
    ASSERT_EQ(first.status, Status::kNeedMore);
    ASSERT_LE(first.consumed, cut);
    const std::string rest = wire.substr(first.consumed);
    ASSERT_TRUE(IsComplete(parser.Parse(rest, r), rest.size()));
    ExpectSplitTestRequest(r);
  }
}

TEST(RequestParserTest, ChunkedRequestSplitInPiecesOfEverySize) {
  const std::string wire =
      "POST /u HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n"
      "3\r\nabc\r\n10\r\n0123456789abcdef\r\n0\r\n\r\n";
  for (std::size_t step = 1; step <= wire.size(); ++step) {
    RequestParser parser(kLimits);
    Request r;
    Fed f = FeedInPieces(parser, r, wire, step);
    ASSERT_TRUE(IsComplete(f.last, f.last.consumed)) << "step " << step;
    EXPECT_EQ(f.fed, wire.size()) << "step " << step;
    EXPECT_EQ(f.left_over, 0u) << "step " << step;
    EXPECT_EQ(r.body(), "abc0123456789abcdef") << "step " << step;
  }
}

TEST(RequestParserTest, EmptyChunkedBodyByteByByte) {
  // Found by the fuzzer: "0\r\n" then one more byte made Beast assert (n >= 5) and abort.
  for (const char* tail : {"0\r\n\r\n", "0\r\nX-T: 1\r\n\r\n", "0;ext\r\n\r\n"}) {
    const std::string wire =
        std::string("POST /x HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n") + tail;
    RequestParser parser(kLimits);
    Request r;
    Fed f = FeedInPieces(parser, r, wire, 1);
    ASSERT_TRUE(IsComplete(f.last, f.last.consumed)) << tail;
    EXPECT_EQ(f.fed, wire.size()) << tail;
    EXPECT_EQ(f.left_over, 0u) << tail;
    EXPECT_EQ(r.body(), "") << tail;
  }
}

TEST(RequestParserTest, EmptyInputNeedsMore) {
  RequestParser parser(kLimits);
  Request r;
  auto res = parser.Parse("", r);
  EXPECT_EQ(res.status, Status::kNeedMore);
  EXPECT_EQ(res.consumed, 0u);
}

// --- Limits ----------------------------------------------------------------------------

TEST(RequestParserTest, HeaderJustUnderTheLimitIsAccepted) {
  const std::string head = "GET / HTTP/1.1\r\nX-Pad: ";
  const std::string wire = head + Padding(900 - head.size()) + "\r\n\r\n";
  Request r;
  ASSERT_TRUE(IsComplete(ParseAll(wire, r), wire.size()));
  EXPECT_EQ(r.Header("X-Pad").size(), 900 - head.size());
}

TEST(RequestParserTest, HeaderOverTheLimitInOneBuffer) {
  Request r;
  EXPECT_TRUE(IsError(ParseAll("GET / HTTP/1.1\r\nX-Pad: " + Padding(2000) + "\r\n\r\n", r),
                      ParseError::kHeadersTooLarge));
  EXPECT_TRUE(IsError(ParseAll("GET /" + Padding(2000) + " HTTP/1.1\r\n\r\n", r),
                      ParseError::kHeadersTooLarge));
  std::string many = "GET / HTTP/1.1\r\n";
  for (int i = 0; i < 100; ++i) many += "X-H" + std::to_string(i) + ": value\r\n";
  EXPECT_TRUE(IsError(ParseAll(many + "\r\n", r), ParseError::kHeadersTooLarge));
}

TEST(RequestParserTest, EndlessHeaderFedSlowlyIsRejectedBeforeTheBufferPassesTheLimit) {
  // A slowloris-style client: the terminating empty line never comes.
  const std::string wire = "GET / HTTP/1.1\r\nX-Pad: " + Padding(10000);
  for (std::size_t step : {std::size_t{1}, std::size_t{100}, std::size_t{1000}}) {
    RequestParser parser(kLimits);
    Request r;
    Fed f = FeedInPieces(parser, r, wire, step);
    EXPECT_TRUE(IsError(f.last, ParseError::kHeadersTooLarge)) << "step " << step;
    EXPECT_LE(f.fed, kLimits.max_header_bytes + step) << "step " << step;
  }
}

TEST(RequestParserTest, ManyHeadersFedInPiecesAreRejected) {
  std::string wire = "GET / HTTP/1.1\r\n";
  for (int i = 0; wire.size() < 10000; ++i) wire += "X-H" + std::to_string(i) + ": value\r\n";
  wire += "\r\n";
  for (std::size_t step : {std::size_t{1}, std::size_t{64}, std::size_t{1000}}) {
    RequestParser parser(kLimits);
    Request r;
    Fed f = FeedInPieces(parser, r, wire, step);
    EXPECT_TRUE(IsError(f.last, ParseError::kHeadersTooLarge)) << "step " << step;
  }
}

// Disabled: fails today. The header limit is applied per Parse() call to the bytes not yet
// consumed, and Beast consumes the request line and each complete field as it goes, so a
// header sent in three reads of just under the limit each (request line; fields; fields and
// the empty line) is accepted at almost three times max_header_bytes.
TEST(RequestParserTest, HeaderLimitCountsEveryReadOfOneHeader) {
  std::string fields_a;
  std::string fields_b;
  for (int i = 0; fields_a.size() < 900; ++i) fields_a += "X-A" + std::to_string(i) + ": v\r\n";
  for (int i = 0; fields_b.size() < 900; ++i) fields_b += "X-B" + std::to_string(i) + ": v\r\n";
  const std::vector<std::string> reads = {"GET /" + Padding(900) + " HTTP/1.1\r\n", fields_a,
                                          fields_b + "\r\n"};
  RequestParser parser(kLimits);
  Request r;
  std::string pending;
  RequestParser::Result res;
  for (const auto& read : reads) {
    pending += read;
    res = parser.Parse(pending, r);
    pending.erase(0, res.consumed);
    if (res.status != Status::kNeedMore) break;
  }
  EXPECT_TRUE(IsError(res, ParseError::kHeadersTooLarge));
}

TEST(RequestParserTest, BodyAtTheLimitIsAccepted) {
  const std::string wire = "POST /x HTTP/1.1\r\nContent-Length: 4096\r\n\r\n" + Padding(4096);
  Request r;
  ASSERT_TRUE(IsComplete(ParseAll(wire, r), wire.size()));
  EXPECT_EQ(r.body().size(), 4096u);
}

TEST(RequestParserTest, ContentLengthOverTheLimitIsRejectedAtTheHeader) {
  // Rejected before any body byte arrives, so nothing is buffered for it.
  RequestParser parser(kLimits);
  Request r;
  EXPECT_TRUE(IsError(parser.Parse("POST /x HTTP/1.1\r\nContent-Length: 4097\r\n\r\n", r),
                      ParseError::kBodyTooLarge));
}

TEST(RequestParserTest, ChunkedBodyOverTheLimitIsRejected) {
  // Two 2 KiB chunks fill the 4 KiB limit exactly; the third byte is one too many.
  const std::string chunk = "800\r\n" + Padding(0x800) + "\r\n";
  const std::string wire = "POST /x HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n" + chunk +
                           chunk + "1\r\nx\r\n0\r\n\r\n";
  Request r;
  EXPECT_TRUE(IsError(ParseAll(wire, r), ParseError::kBodyTooLarge));
  EXPECT_LE(r.body().size(), kLimits.max_body_bytes);
  const std::string at_limit =
      "POST /x HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n" + chunk + chunk + "0\r\n\r\n";
  ASSERT_TRUE(IsComplete(ParseAll(at_limit, r), at_limit.size()));
  EXPECT_EQ(r.body().size(), kLimits.max_body_bytes);
  EXPECT_TRUE(IsError(ParseAll("POST /x HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n"
                               "ffffffffffffffff\r\n",
                               r),
                      ParseError::kBodyTooLarge));
}

TEST(RequestParserTest, EndlessChunkExtensionIsBounded) {
  const std::string wire =
      "POST /x HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n1;ext=" + Padding(10000);
  RequestParser parser(kLimits);
  Request r;
  Fed f = FeedInPieces(parser, r, wire, 256);
  EXPECT_EQ(f.last.status, Status::kError);
  EXPECT_LE(f.max_pending, kLimits.max_header_bytes + 256);
}

TEST(RequestParserTest, EndlessTrailerSectionIsBounded) {
  const std::string wire =
      "POST /x HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n0\r\nX-T: " + Padding(10000);
  RequestParser parser(kLimits);
  Request r;
  Fed f = FeedInPieces(parser, r, wire, 256);
  EXPECT_EQ(f.last.status, Status::kError);
  EXPECT_LE(f.max_pending, kLimits.max_header_bytes + 256);
}

// --- Malformed input -------------------------------------------------------------------

TEST(RequestParserTest, GarbageIsMalformed) {
  const std::vector<std::string> inputs = {
      std::string("\x01\x02garbage\r\n\r\n"),
      "\r\nGET / HTTP/1.1\r\n\r\n",
      " / HTTP/1.1\r\n\r\n",
      "G(T / HTTP/1.1\r\n\r\n",
      "GET / HTTP/1.1\r\nBad Header\r\n\r\n",
      "GET / HTTP/1.1\r\n: no-name\r\n\r\n",
      "GET / HTTP/1.1\r\nHost: a\n\r\n",
      std::string("GET / HTTP/1.1\r\nX-A: a\0b\r\n\r\n", 29),
      "GET / HTTP/1.1\r\nX-A: a\rb\r\n\r\n",
      "POST / HTTP/1.1\r\nContent-Length: -1\r\n\r\n",
      "POST / HTTP/1.1\r\nContent-Length: abc\r\n\r\n",
      "POST / HTTP/1.1\r\nContent-Length: 99999999999999999999999\r\n\r\n",
      "POST / HTTP/1.1\r\nContent-Length: 2\r\nContent-Length: 3\r\n\r\nabc",
      "POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\nContent-Length: 3\r\n\r\n0\r\n\r\n",
      "POST / HTTP/1.1\r\nContent-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n",
      "POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n",
      "POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabcX\r\n0\r\n\r\n",
      "GET / HTTP/1.1\r\nConnection: ,,@@\r\n\r\n",
  };
  for (const auto& wire : inputs) {
    Request r;
    EXPECT_TRUE(IsError(ParseAll(wire, r), ParseError::kMalformed)) << wire;
  }
}

TEST(RequestParserTest, MalformedInputFedByteByByteIsStillMalformed) {
  const std::string wire = "GET / HTTP/1.1\r\nHost: a\r\nBad Header\r\n\r\n";
  RequestParser parser(kLimits);
  Request r;
  Fed f = FeedInPieces(parser, r, wire, 1);
  EXPECT_TRUE(IsError(f.last, ParseError::kMalformed));
}

TEST(RequestParserTest, UnsupportedVersionsAreVersionErrors) {
  for (const char* wire : {"GET / HTTP/2.0\r\n\r\n", "GET / HTTP/0.9\r\n\r\n",
                           "GET / HTTP/1.2\r\n\r\n", "GET / HTTP/3.0\r\nHost: a\r\n\r\n"}) {
    Request r;
    EXPECT_TRUE(IsError(ParseAll(wire, r), ParseError::kVersion)) << wire;
  }
  // Not a version at all: 400, not 505.
  for (const char* wire : {"GET / HTTP/x.y\r\n\r\n", "GET /a b HTTP/1.1\r\n\r\n"}) {
    Request r;
    EXPECT_TRUE(IsError(ParseAll(wire, r), ParseError::kMalformed)) << wire;
  }
}

TEST(RequestParserTest, HttpZeroNineStyleRequestLineIsMalformed) {
  // "GET /" with no version at all: no HTTP/1.x framing to answer in.
  Request r;
  EXPECT_TRUE(IsError(ParseAll("GET /\r\n\r\n", r), ParseError::kMalformed));
}

// --- Connection semantics --------------------------------------------------------------

TEST(RequestParserTest, KeepAliveSemantics) {
  struct Case {
    const char* wire;
    unsigned version;
    bool keep_alive;
  };
  for (const Case& c : {
           Case{"GET / HTTP/1.0\r\n\r\n", 10, false},
           Case{"GET / HTTP/1.0\r\nConnection: keep-alive\r\n\r\n", 10, true},
           Case{"GET / HTTP/1.0\r\nConnection: Keep-Alive\r\n\r\n", 10, true},
           Case{"GET / HTTP/1.0\r\nConnection: close\r\n\r\n", 10, false},
           Case{"GET / HTTP/1.1\r\n\r\n", 11, true},
           Case{"GET / HTTP/1.1\r\nConnection: keep-alive\r\n\r\n", 11, true},
           Case{"GET / HTTP/1.1\r\nConnection: close\r\n\r\n", 11, false},
           Case{"GET / HTTP/1.1\r\nConnection: foo, CLOSE\r\n\r\n", 11, false},
       }) {
    Request r;
    ASSERT_EQ(ParseAll(c.wire, r).status, Status::kComplete) << c.wire;
    EXPECT_EQ(r.version(), c.version) << c.wire;
    EXPECT_EQ(r.keep_alive(), c.keep_alive) << c.wire;
  }
}

TEST(RequestParserTest, AbsoluteFormTargetIsKeptAsSent) {
  const std::string wire = "GET http://example.com/a?b=1 HTTP/1.1\r\nHost: example.com\r\n\r\n";
  Request r;
  ASSERT_TRUE(IsComplete(ParseAll(wire, r), wire.size()));
  EXPECT_EQ(r.target(), "http://example.com/a?b=1");
  EXPECT_EQ(r.query(), "b=1");
}

TEST(RequestParserTest, ExpectContinueUntilTheBodyArrives) {
  const std::string head =
      "POST /upload HTTP/1.1\r\nHost: a\r\nexpect: 100-Continue\r\nContent-Length: 5\r\n\r\n";
  RequestParser parser(kLimits);
  Request r;
  auto res = parser.Parse(head.substr(0, 20), r);
  EXPECT_EQ(res.status, Status::kNeedMore);
  EXPECT_FALSE(parser.ExpectsContinue()) << "before the header is complete";
  const std::string rest = head.substr(res.consumed);
  res = parser.Parse(rest, r);
  EXPECT_EQ(res.status, Status::kNeedMore);
  EXPECT_EQ(res.consumed, rest.size());
  EXPECT_TRUE(parser.HeaderDone());
  EXPECT_TRUE(parser.ExpectsContinue());
  ASSERT_TRUE(IsComplete(parser.Parse("hello", r), 5));
  EXPECT_FALSE(parser.ExpectsContinue());
  EXPECT_EQ(r.body(), "hello");
  parser.Reset();
  EXPECT_FALSE(parser.ExpectsContinue());
}

TEST(RequestParserTest, NoExpectContinueWithoutTheHeaderOrWithoutABody) {
  RequestParser parser(kLimits);
  Request r;
  EXPECT_EQ(parser.Parse("POST /x HTTP/1.1\r\nContent-Length: 5\r\n\r\n", r).status,
            Status::kNeedMore);
  EXPECT_FALSE(parser.ExpectsContinue());

  parser.Reset();
  EXPECT_EQ(parser.Parse("POST /x HTTP/1.1\r\nExpect: 100-continue\r\nContent-Length: 0\r\n\r\n", r)
                .status,
            Status::kComplete);
  EXPECT_FALSE(parser.ExpectsContinue());

  parser.Reset();
  EXPECT_EQ(
      parser.Parse("POST /x HTTP/1.1\r\nExpect: 200-ok\r\nContent-Length: 5\r\n\r\n", r).status,
      Status::kNeedMore);
  EXPECT_FALSE(parser.ExpectsContinue());
}

// Disabled: fails today. RFC 9110 10.1.1: "A server that receives a 100-continue
// expectation in an HTTP/1.0 request MUST ignore that expectation"; the server would send
// an HTTP/1.1 interim response to an HTTP/1.0 client.
TEST(RequestParserTest, ExpectContinueIsIgnoredForHttp10) {
  RequestParser parser(kLimits);
  Request r;
  EXPECT_EQ(parser.Parse("POST /x HTTP/1.0\r\nExpect: 100-continue\r\nContent-Length: 5\r\n\r\n", r)
                .status,
            Status::kNeedMore);
  EXPECT_FALSE(parser.ExpectsContinue());
}

// Disabled: fails today. RFC 9112 6.3: a request whose Transfer-Encoding does not end in
// chunked has no determinable length and must get a 400; the parser instead treats it as
// bodyless, and the body would be parsed as the next pipelined request (smuggling).
TEST(RequestParserTest, TransferEncodingNotEndingInChunkedIsMalformed) {
  for (const char* wire :
       {"POST / HTTP/1.1\r\nTransfer-Encoding: gzip\r\n\r\nGET /smuggled HTTP/1.1\r\n\r\n",
        "POST / HTTP/1.1\r\nTransfer-Encoding: chunked, gzip\r\n\r\n0\r\n\r\n"}) {
    Request r;
    EXPECT_TRUE(IsError(ParseAll(wire, r), ParseError::kMalformed)) << wire;
  }
}

// --- Reuse -----------------------------------------------------------------------------

TEST(RequestParserTest, ResetStartsAFreshRequest) {
  RequestParser parser(kLimits);
  Request r;
  const std::string first =
      "POST /first?q=1 HTTP/1.0\r\nX-Only-First: 1\r\nContent-Length: 3\r\n\r\nabc";
  ASSERT_TRUE(IsComplete(parser.Parse(first, r), first.size()));
  r.SetRequestId("id-1");
  parser.Reset();
  EXPECT_FALSE(parser.HeaderDone());

  const std::string second = "GET /second HTTP/1.1\r\nHost: b\r\n\r\n";
  ASSERT_TRUE(IsComplete(parser.Parse(second, r), second.size()));
  EXPECT_EQ(r.method(), Method::kGet);
  EXPECT_EQ(r.target(), "/second");
  EXPECT_EQ(r.query(), "");
  EXPECT_EQ(r.version(), 11u);
  EXPECT_TRUE(r.keep_alive());
  EXPECT_EQ(r.body(), "");
  EXPECT_EQ(r.header_count(), 1u);
  EXPECT_FALSE(r.HasHeader("X-Only-First"));
  EXPECT_EQ(r.request_id(), "");
}

TEST(RequestParserTest, ResetAfterAnErrorRecovers) {
  RequestParser parser(kLimits);
  Request r;
  ASSERT_EQ(parser.Parse("\x01garbage\r\n\r\n", r).status, Status::kError);
  parser.Reset();
  const std::string wire = "GET /ok HTTP/1.1\r\n\r\n";
  ASSERT_TRUE(IsComplete(parser.Parse(wire, r), wire.size()));
  EXPECT_EQ(r.target(), "/ok");
}

TEST(RequestParserTest, ResetMidRequestDiscardsIt) {
  RequestParser parser(kLimits);
  Request r;
  ASSERT_EQ(parser.Parse("POST /x HTTP/1.1\r\nContent-Length: 10\r\n\r\nabc", r).status,
            Status::kNeedMore);
  parser.Reset();
  const std::string wire = "GET /y HTTP/1.1\r\n\r\n";
  ASSERT_TRUE(IsComplete(parser.Parse(wire, r), wire.size()));
  EXPECT_EQ(r.target(), "/y");
  EXPECT_EQ(r.body(), "");
}

}  // namespace
}  // namespace myriad::http

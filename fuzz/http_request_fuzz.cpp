// Fuzzes the HTTP request path a connection runs on untrusted bytes: RequestParser fed in
// socket-sized pieces (pipelined requests included), the Request accessors, Router::Find
// and the X-Request-ID check.
//
// Input layout: byte 0 picks how the rest is split into reads, `byte % 32` bytes per read
// (0: everything in one read), so that libFuzzer mutates the split points too; the other
// bytes are what the client sent. Seeds in corpus/http_request/ start with ' ' (one read),
// '!' (byte by byte) or another printable split byte.
#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>

#include "http/request.hpp"
#include "http/request_id.hpp"
#include "http/request_parser.hpp"
#include "http/router.hpp"

namespace {

using myriad::http::IsAcceptableRequestId;
using myriad::http::Method;
using myriad::http::PercentDecode;
using myriad::http::Request;
using myriad::http::RequestParser;
using myriad::http::Router;

constexpr RequestParser::Limits kLimits{4 * 1024, 64 * 1024};
// Pipelined requests answered per input; bounds the time one input can take.
constexpr int kMaxRequests = 64;

// A contract the server relies on was broken: crash so libFuzzer keeps the input.
#define FUZZ_CHECK(cond)       \
  do {                         \
    if (!(cond)) std::abort(); \
  } while (false)

const Router& TestRouter() {
  static const Router router = [] {
    Router r;
    r.Add(Method::kGet, "/");
    r.Add(Method::kGet, "/api/health");
    r.Add(Method::kPost, "/api/users");
    r.Add(Method::kGet, "/api/users/me");
    r.Add(Method::kGet, "/api/users/{id}");
    r.Add(Method::kPut, "/api/users/{id}");
    r.Add(Method::kDelete, "/api/users/{id}");
    r.Add(Method::kGet, "/api/users/{id}/posts/{post}");
    r.Add(Method::kOptions, "/api/users/{id}/posts/{post}");
    return r;
  }();
  return router;
}

// Reads every byte of a view, so ASan reports a view that outlived its storage.
std::size_t Touch(std::string_view s) {
  std::size_t h = s.size();
  for (char c : s) h = h * 131 + static_cast<unsigned char>(c);
  return h;
}

volatile std::size_t g_sink;

void Exercise(Request& request) {
  std::size_t h = 0;
  h += Touch(request.method_text());
  h += Touch(request.target());
  h += Touch(request.path());
  h += Touch(request.query());
  h += Touch(request.body());
  h += request.version() + request.keep_alive() + request.header_count();
  h += static_cast<std::size_t>(request.method());
  for (const char* name : {"Host", "content-length", "TRANSFER-ENCODING", "Connection", "Expect",
                           "Authorization", "Content-Type", ""}) {
    h += Touch(request.Header(name));
    h += request.HasHeader(name);
  }
  FUZZ_CHECK(request.version() == 10 || request.version() == 11);
  FUZZ_CHECK(request.target().size() >= request.path().size());

  const std::string_view id = request.Header("X-Request-ID");
  if (IsAcceptableRequestId(id)) {
    // What gets echoed into a response header and the access log.
    FUZZ_CHECK(!id.empty() && id.size() <= myriad::http::kMaxRequestIdLength);
    FUZZ_CHECK(id.find_first_of("\r\n\t \"\\,;") == std::string_view::npos);
    request.SetRequestId(id);
    h += Touch(request.request_id());
  }

  std::string decoded;
  if (PercentDecode(request.query(), decoded)) {
    FUZZ_CHECK(decoded.find('\0') == std::string::npos);
    h += Touch(decoded);
  }

  const Router& router = TestRouter();
  const Router::Match match = router.Find(request.method(), request.path(), &request);
  switch (match.outcome) {
    case Router::Outcome::kFound:
      FUZZ_CHECK(match.route < router.Templates().size());
      for (const char* param : {"id", "post", "missing"}) {
        const std::string_view value = request.Param(param);
        FUZZ_CHECK(value.find('\0') == std::string_view::npos);
        h += Touch(value);
      }
      break;
    case Router::Outcome::kMethodNotAllowed:
      FUZZ_CHECK(match.route < router.Templates().size());
      FUZZ_CHECK(!match.allow.empty());
      h += Touch(match.allow);
      break;
    case Router::Outcome::kNotFound:
      break;
  }
  // Without a request to bind into, Find must not touch anything either.
  h += static_cast<std::size_t>(router.Find(request.method(), request.target()).outcome);
  g_sink = h;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size == 0) return 0;
  std::size_t step = data[0] % 32;
  const std::string_view input(reinterpret_cast<const char*>(data) + 1, size - 1);
  if (step == 0) step = input.size() + 1;

  RequestParser parser(kLimits);
  Request request;
  std::string pending;  // what the connection holds: unconsumed bytes, then each new read
  std::size_t fed = 0;
  // Like the server: answer every request already buffered before reading again.
  bool read = true;
  for (int answered = 0; answered < kMaxRequests;) {
    if (read) {
      if (fed == input.size()) break;  // the client stopped sending
      const std::size_t n = std::min(step, input.size() - fed);
      pending.append(input.substr(fed, n));
      fed += n;
    }
    const RequestParser::Result result = parser.Parse(pending, request);
    FUZZ_CHECK(result.consumed <= pending.size());
    pending.erase(0, result.consumed);
    g_sink = parser.HeaderDone() + parser.ExpectsContinue();

    if (result.status == RequestParser::Status::kNeedMore) {
      FUZZ_CHECK(result.error == myriad::http::ParseError::kNone);
      // The server caps its read buffer on this promise (request_parser.hpp).
      FUZZ_CHECK(pending.size() < kLimits.max_header_bytes);
      read = true;
      continue;
    }
    if (result.status == RequestParser::Status::kError) {
      FUZZ_CHECK(result.error != myriad::http::ParseError::kNone);
      break;  // the server answers 4xx/505 and closes
    }
    FUZZ_CHECK(result.consumed > 0);
    FUZZ_CHECK(request.body().size() <= kLimits.max_body_bytes);
    Exercise(request);
    parser.Reset();
    ++answered;
    read = pending.empty();
  }
  return 0;
}

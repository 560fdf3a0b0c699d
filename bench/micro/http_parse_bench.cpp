// The per-request cost of the HTTP edge: parsing a typical request and serialising a small
// JSON answer. Run: build/release/bench/http_parse_bench (CTest runs one iteration only).
#include <benchmark/benchmark.h>

#include <cstdint>
#include <string>
#include <string_view>

#include "http/request.hpp"
#include "http/request_parser.hpp"
#include "http/response.hpp"
#include "http/response_writer.hpp"

namespace myriad::http {
namespace {

// 250 bytes, 6 headers: what a load generator or API client typically sends.
constexpr std::string_view kTypicalGet =
    "GET /api/users/12345?fields=name,email HTTP/1.1\r\n"
    "Host: api.example.com\r\n"
    "User-Agent: loadgen/0.1\r\n"
    "Accept: application/json\r\n"
    "Accept-Encoding: gzip, br\r\n"
    "Authorization: Bearer eyJhbGciOiJIUzI1NiJ9.e30.a\r\n"
    "X-Request-ID: 0123456789abcdef0123456789abcdef\r\n"
    "\r\n";
static_assert(kTypicalGet.size() == 250);

void BM_ParseTypicalGet(benchmark::State& state) {
  RequestParser parser({16 * 1024, 1024 * 1024});
  Request request;
  for (auto _ : state) {
    parser.Reset();
    const RequestParser::Result result = parser.Parse(kTypicalGet, request);
    if (result.status != RequestParser::Status::kComplete) {
      state.SkipWithError("the typical GET did not parse");
      break;
    }
    benchmark::DoNotOptimize(request.Header("X-Request-ID").data());
  }
  state.SetBytesProcessed(static_cast<std::int64_t>(state.iterations() * kTypicalGet.size()));
}
BENCHMARK(BM_ParseTypicalGet);

void BM_AppendSmallJsonResponse(benchmark::State& state) {
  const Response response =
      JsonResponse(200, R"({"id":12345,"name":"Ada Lovelace","email":"ada@example.com"})");
  ResponseMeta meta;
  meta.request_id = "0123456789abcdef0123456789abcdef";
  meta.date = "Sun, 06 Nov 1994 08:49:37 GMT";
  std::string out;
  for (auto _ : state) {
    out.clear();  // a connection reuses its output buffer
    AppendResponse(response, meta, out);
    benchmark::DoNotOptimize(out.data());
    benchmark::ClobberMemory();
  }
  state.SetBytesProcessed(static_cast<std::int64_t>(state.iterations() * out.size()));
}
BENCHMARK(BM_AppendSmallJsonResponse);

}  // namespace
}  // namespace myriad::http

#include "http/request_parser.hpp"

#include <algorithm>
#include <boost/asio/buffer.hpp>
#include <boost/beast/http/basic_parser.hpp>
#include <boost/beast/http/error.hpp>
#include <optional>

#include "http/request.hpp"

namespace myriad::http {
namespace beast_http = boost::beast::http;
using boost::beast::error_code;

namespace {

bool EqualsIgnoreCase(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (std::size_t i = 0; i < a.size(); ++i) {
    char x = a[i] >= 'A' && a[i] <= 'Z' ? static_cast<char>(a[i] + 32) : a[i];
    char y = b[i] >= 'A' && b[i] <= 'Z' ? static_cast<char>(b[i] + 32) : b[i];
    if (x != y) return false;
  }
  return true;
}

// Receives Beast's callbacks and copies the parts into the Request being built.
class Callbacks final : public beast_http::basic_parser<true> {
 public:
  Request* request = nullptr;
  bool expect_continue = false;
  bool unsupported_version = false;
  bool transfer_encoding = false;
  // Header bytes held over earlier calls while the header was incomplete.
  std::size_t header_bytes = 0;

 private:
  void on_request_impl(beast_http::verb /*verb*/, boost::beast::string_view method_str,
                       boost::beast::string_view target, int version, error_code& ec) override {
    if (version != 10 && version != 11) {
      unsupported_version = true;
      ec = beast_http::error::bad_version;
      return;
    }
    std::string_view method{method_str.data(), method_str.size()};
    request->SetMethod(MethodFromString(method), method);
    request->SetTarget({target.data(), target.size()});
    request->SetVersion(static_cast<unsigned>(version));
  }
  void on_response_impl(int /*code*/, boost::beast::string_view /*reason*/, int /*version*/,
                        error_code& ec) override {
    ec = beast_http::error::bad_method;  // Unreachable: this is a request parser.
  }
  void on_field_impl(beast_http::field /*field*/, boost::beast::string_view name,
                     boost::beast::string_view value, error_code& /*ec*/) override {
    // Fields after the header are chunked trailers; merging them would let a trailer add
    // an Authorization or X-Request-ID the header never had (RFC 9110 6.5.1).
    if (is_header_done()) return;
    std::string_view n{name.data(), name.size()};
    std::string_view v{value.data(), value.size()};
    // HTTP/1.0 clients never wait for 100 Continue (RFC 9110 10.1.1).
    if (EqualsIgnoreCase(n, "expect") && EqualsIgnoreCase(v, "100-continue") &&
        request->version() >= 11) {
      expect_continue = true;
    }
    if (EqualsIgnoreCase(n, "transfer-encoding")) transfer_encoding = true;
    request->AddHeader(n, v);
  }
  void on_header_impl(error_code& ec) override {
    // A Transfer-Encoding that does not end in chunked leaves the body length unknown;
    // reading on would parse the body as the next request (smuggling, RFC 9112 6.3).
    if (transfer_encoding && !chunked()) {
      ec = beast_http::error::bad_transfer_encoding;
      return;
    }
    request->SetKeepAlive(keep_alive());
  }
  void on_body_init_impl(const boost::optional<std::uint64_t>& /*length*/,
                         error_code& /*ec*/) override {}
  std::size_t on_body_impl(boost::beast::string_view body, error_code& /*ec*/) override {
    request->AppendBody({body.data(), body.size()});
    return body.size();
  }
  void on_chunk_header_impl(std::uint64_t /*size*/, boost::beast::string_view /*extensions*/,
                            error_code& /*ec*/) override {}
  std::size_t on_chunk_body_impl(std::uint64_t /*remain*/, boost::beast::string_view body,
                                 error_code& /*ec*/) override {
    request->AppendBody({body.data(), body.size()});
    return body.size();
  }
  void on_finish_impl(error_code& /*ec*/) override {}
};

// True when the request line ends in a well-formed "HTTP/d.d" (whatever the digits).
bool HasWellFormedVersion(std::string_view data) {
  auto eol = data.find('\n');
  if (eol == std::string_view::npos) return false;
  std::string_view line = data.substr(0, eol);
  if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
  // Exactly "method SP target SP version": "GET /a b HTTP/1.1" is garbled, not 505.
  if (line.size() < 9 || std::count(line.begin(), line.end(), ' ') != 2) return false;
  std::string_view v = line.substr(line.size() - 9);
  auto digit = [](char c) { return c >= '0' && c <= '9'; };
  return v[0] == ' ' && v.substr(1, 5) == "HTTP/" && digit(v[6]) && v[7] == '.' && digit(v[8]);
}

// `data` is what the failed put() was given: the request line, when the header was not
// done yet.
ParseError Classify(const error_code& ec, const Callbacks& parser, std::string_view data) {
  if (ec == beast_http::error::header_limit) return ParseError::kHeadersTooLarge;
  if (ec == beast_http::error::body_limit) return ParseError::kBodyTooLarge;
  // A well-formed version we do not speak is 505; a garbled request line is 400.
  if (ec == beast_http::error::bad_version &&
      (parser.unsupported_version || HasWellFormedVersion(data))) {
    return ParseError::kVersion;
  }
  return ParseError::kMalformed;
}

}  // namespace

struct RequestParser::Impl {
  std::optional<Callbacks> parser;
};

RequestParser::RequestParser(Limits limits) : limits_(limits), impl_(std::make_unique<Impl>()) {
  Reset();
}

RequestParser::~RequestParser() = default;

void RequestParser::Reset() {
  impl_->parser.emplace();
  auto& p = *impl_->parser;
  p.eager(true);
  p.header_limit(static_cast<std::uint32_t>(limits_.max_header_bytes));
  p.body_limit(limits_.max_body_bytes);
}

bool RequestParser::HeaderDone() const { return impl_->parser->is_header_done(); }

bool RequestParser::ExpectsContinue() const {
  const auto& p = *impl_->parser;
  return p.expect_continue && p.is_header_done() && !p.is_done();
}

RequestParser::Result RequestParser::Parse(std::string_view data, Request& request) {
  auto& p = *impl_->parser;
  if (!p.is_header_done() && p.request == nullptr) request.Clear();
  p.request = &request;

  Result result;
  while (!data.empty() && !p.is_done()) {
    // Beast asserts that a chunked body resumes with at least 5 bytes (it re-reads the last
    // chunk line it left unconsumed); fewer can never finish one ("0\r\n\r\n"), so wait.
    if (p.is_header_done() && p.chunked() && data.size() < 5) break;
    const bool header_was_done = p.is_header_done();
    if (!header_was_done) {
      // The limit holds for the whole header, however many reads it arrives in.
      if (p.header_bytes >= limits_.max_header_bytes) {
        result.status = Status::kError;
        result.error = ParseError::kHeadersTooLarge;
        return result;
      }
      p.header_limit(static_cast<std::uint32_t>(limits_.max_header_bytes - p.header_bytes));
    }
    error_code ec;
    std::size_t n = p.put(boost::asio::const_buffer(data.data(), data.size()), ec);
    if (!header_was_done && !p.is_header_done()) p.header_bytes += n;
    result.consumed += n;
    data.remove_prefix(n);
    if (ec == beast_http::error::need_more) {
      // Also after the header: an endless chunk-size line or trailer section is held
      // unconsumed just like an endless header.
      if (data.size() >= limits_.max_header_bytes) {
        result.status = Status::kError;
        result.error = ParseError::kHeadersTooLarge;
      }
      return result;
    }
    if (ec) {
      result.status = Status::kError;
      result.error = Classify(ec, p, data);
      return result;
    }
    if (n == 0) break;
  }
  result.status = p.is_done() ? Status::kComplete : Status::kNeedMore;
  return result;
}

}  // namespace myriad::http

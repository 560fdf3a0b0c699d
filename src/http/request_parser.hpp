#pragma once

#include <cstddef>
#include <memory>
#include <string_view>

namespace myriad::http {

class Request;

/// Why a request could not be parsed; each maps to one status and rejection reason.
enum class ParseError {
  kNone,
  kMalformed,        // 400, then close
  kHeadersTooLarge,  // 431
  kBodyTooLarge,     // 413
  kVersion,          // 505
};

/// Incremental HTTP/1.x request parser (Boost.Beast's basic_parser underneath). Feed it
/// the bytes that arrived; it copies what it needs into the Request, so the caller may
/// drop consumed bytes and compact its buffer between calls. One instance per
/// connection, reused for every request on it. Not thread-safe.
class RequestParser {
 public:
  struct Limits {
    std::size_t max_header_bytes = 16 * 1024;
    std::size_t max_body_bytes = 1024 * 1024;
  };
  enum class Status { kNeedMore, kComplete, kError };
  struct Result {
    Status status = Status::kNeedMore;
    /// Bytes of `data` used; the caller drops them before the next call.
    std::size_t consumed = 0;
    ParseError error = ParseError::kNone;
  };

  explicit RequestParser(Limits limits);
  ~RequestParser();
  RequestParser(const RequestParser&) = delete;
  RequestParser& operator=(const RequestParser&) = delete;

  /// Parses from `data` into `request`. After kComplete or kError call Reset() before
  /// the next request. kNeedMore with consumed == 0 and data.size() >= the header limit
  /// cannot happen: that is reported as kHeadersTooLarge.
  Result Parse(std::string_view data, Request& request);

  /// True once the whole header of the current request has been parsed.
  bool HeaderDone() const;
  /// True when the client sent "Expect: 100-continue" and the body is still to come.
  bool ExpectsContinue() const;
  /// Ready for the next request on the same connection.
  void Reset();

 private:
  struct Impl;
  Limits limits_;
  std::unique_ptr<Impl> impl_;
};

}  // namespace myriad::http

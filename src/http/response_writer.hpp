#pragma once

#include <array>
#include <string>
#include <string_view>

#include "http/response.hpp"

namespace myriad::http {

/// Serialises responses straight into a connection's output buffer. Beast's serializer
/// is general (any body type, chunking, buffer sequences); for our fixed-length JSON
/// answers one string append per field is several times cheaper, and this is the hot
/// path of every request.
struct ResponseMeta {
  std::string_view request_id;
  std::string_view date;  // IMF-fixdate, from DateCache
  unsigned version = 11;
  bool keep_alive = true;
  bool head = false;  // HEAD: headers as for GET, no body
};

/// Appends the status line, headers and body of `response` to `out`.
void AppendResponse(const Response& response, const ResponseMeta& meta, std::string& out);

/// The HTTP Date header value, recomputed at most once a second. One per io thread.
class DateCache {
 public:
  /// Current IMF-fixdate ("Sun, 29 Nov 2026 05:12:21 GMT").
  std::string_view Get();

 private:
  long long second_ = -1;
  std::array<char, 32> text_{};
  std::size_t size_ = 0;
};

}  // namespace myriad::http

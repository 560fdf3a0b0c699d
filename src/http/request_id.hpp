#pragma once

#include <cstdint>
#include <string>
#include <string_view>

namespace myriad::http {

inline constexpr std::size_t kMaxRequestIdLength = 128;

/// True when a client-supplied X-Request-ID may be echoed and logged as is: 1..128
/// characters from [A-Za-z0-9._:/+=@-]. Anything else is replaced, never echoed,
/// so it cannot inject headers or break log lines.
bool IsAcceptableRequestId(std::string_view id);

/// Makes unique request ids: 32 hex digits, a random per-generator prefix and a counter.
/// One per io thread; not thread-safe.
class RequestIdGenerator {
 public:
  RequestIdGenerator();
  /// Writes the next id into `out` (replacing its contents).
  void Next(std::string& out);

 private:
  std::uint64_t prefix_;
  std::uint64_t counter_ = 0;
};

}  // namespace myriad::http

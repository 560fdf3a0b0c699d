// Fuzzes ParseRedisUrl (--redis-url / MYRIAD_REDIS_URL): any text either parses or throws
// std::invalid_argument; an accepted URL names a host and a port, and Describe() never
// shows its password.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <stdexcept>
#include <string>
#include <string_view>

#include "redis/redis_url.hpp"

namespace {

#define FUZZ_CHECK(cond)       \
  do {                         \
    if (!(cond)) std::abort(); \
  } while (false)

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  myriad::redis::RedisEndpoint endpoint;
  try {
    endpoint = myriad::redis::ParseRedisUrl(text);
  } catch (const std::invalid_argument&) {
    return 0;
  }
  FUZZ_CHECK(!endpoint.host.empty());
  FUZZ_CHECK(endpoint.port != 0);
  const std::string described = myriad::redis::Describe(endpoint);
  FUZZ_CHECK(described.starts_with("redis://"));
  if (endpoint.password.size() >= 4) {
    FUZZ_CHECK(described.find(endpoint.password) == std::string::npos ||
               endpoint.host.find(endpoint.password) != std::string::npos ||
               endpoint.username.find(endpoint.password) != std::string::npos);
  }
  return 0;
}

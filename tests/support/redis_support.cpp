#include "support/redis_support.hpp"

#include <cstdlib>
#include <fstream>
#include <stdexcept>

namespace myriad::testing {

std::string TestRedisUrl() {
  if (const char* url = std::getenv("MYRIAD_REDIS_URL"); url != nullptr && *url != '\0') {
    return url;
  }
  const char* dir = std::getenv("MYRIAD_REDISTEST_DIR");
  if (dir == nullptr || *dir == '\0') {
    throw std::runtime_error(
        "no test Redis: run this test through ctest (its fixture starts Redis and sets "
        "MYRIAD_REDISTEST_DIR), or set MYRIAD_REDISTEST_DIR to a folder of "
        "`scripts/redis.sh start DIR`, or MYRIAD_REDIS_URL to a server of your own");
  }
  const std::string path = std::string(dir) + "/url";
  std::ifstream in(path);
  std::string url;
  if (!std::getline(in, url) || url.empty()) {
    throw std::runtime_error("no Redis URL in " + path +
                             ": did the redis_start test (scripts/redis.sh start) run and pass?");
  }
  return url;
}

}  // namespace myriad::testing

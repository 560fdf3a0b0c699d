#include "support/redis_support.hpp"

#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <stdexcept>

#include "redis/redis_connection.hpp"
#include "support/coro_test.hpp"
#include "support/fixture_dir.hpp"

namespace myriad::testing {

std::string TestRedisUrl() {
  if (const char* url = std::getenv("MYRIAD_REDIS_URL"); url != nullptr && *url != '\0') {
    return url;
  }
  const std::string dir = FixtureDir("MYRIAD_REDISTEST_DIR", "redis");
  if (dir.empty()) {
    throw std::runtime_error(
        "no test Redis: run this test through ctest (its fixture starts Redis and sets "
        "MYRIAD_REDISTEST_DIR), or set MYRIAD_REDISTEST_DIR to a folder of "
        "`scripts/redis.sh start DIR`, or MYRIAD_REDIS_URL to a server of your own");
  }
  const std::string path = dir + "/url";
  std::ifstream in(path);
  std::string url;
  if (!std::getline(in, url) || url.empty()) {
    throw std::runtime_error("no Redis URL in " + path +
                             ": did the redis_start test (scripts/redis.sh start) run and pass?");
  }
  return url;
}

redis::Reply RedisCall(const std::string& url, const std::vector<std::string>& args) {
  using Clock = std::chrono::steady_clock;
  const auto endpoint = redis::ParseRedisUrl(url);
  return RunOnOwnLoop<redis::Reply>(
      [&](boost::asio::any_io_executor ex) -> boost::asio::awaitable<redis::Reply> {
        const auto deadline = Clock::now() + std::chrono::seconds(10);
        auto conn = co_await redis::RedisConnection::Connect(ex, endpoint, deadline);
        if (!conn)
          throw std::runtime_error("cannot connect to " + url + ": " + conn.error().message);
        redis::Command command(args);
        auto reply = co_await conn->Run(std::move(command), deadline);
        if (!reply) throw std::runtime_error("no reply: " + reply.error().message);
        co_return std::move(*reply);
      });
}

PrivateRedis::PrivateRedis() {
  std::string pattern = (std::filesystem::temp_directory_path() / "myriad-redis.XXXXXX").string();
  if (::mkdtemp(pattern.data()) == nullptr) return;
  dir_ = pattern;
  if (!Start()) return;
  std::ifstream in(dir_ + "/url");
  std::getline(in, url_);
}

PrivateRedis::~PrivateRedis() {
  if (!dir_.empty()) Run("destroy");
}

bool PrivateRedis::Run(const std::string& command) {
  // env -u: MYRIAD_REDIS_URL would make the script use that server instead of ours.
  const std::string line = "env -u MYRIAD_REDIS_URL bash " + std::string(MYRIAD_SOURCE_DIR) +
                           "/scripts/redis.sh " + command + " " + dir_ + " >/dev/null 2>&1";
  return std::system(line.c_str()) == 0;
}

bool PrivateRedis::Stop() { return Run("stop"); }
bool PrivateRedis::Start() { return Run("start"); }

}  // namespace myriad::testing

#pragma once

#include <string>

namespace myriad::testing {

/// The URL (redis://HOST:PORT/DB) of the Redis server for *_redistest tests:
/// MYRIAD_REDIS_URL when set (your own server), else the server that the CTest fixture
/// `redis_start` started, read from $MYRIAD_REDISTEST_DIR/url (scripts/redis.sh writes it).
/// Throws std::runtime_error with a hint when neither is there, e.g. when the test binary
/// runs outside CTest.
std::string TestRedisUrl();

}  // namespace myriad::testing

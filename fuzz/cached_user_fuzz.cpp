// Fuzzes DecodeCachedUser: values read from Redis are untrusted (another program, another
// version of Myriad, a corrupted server may have written them). The first 8 bytes pick the
// key's id, the rest is the value. Decoding must never crash, and a value accepted as a
// user must be exactly what Myriad itself would store for that user under that id.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <string_view>

#include "users/user_cache.hpp"

namespace {

#define FUZZ_CHECK(cond)       \
  do {                         \
    if (!(cond)) std::abort(); \
  } while (false)

namespace users = myriad::users;

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  std::int64_t id = 42;
  if (size >= sizeof(id)) {
    std::memcpy(&id, data, sizeof(id));
    data += sizeof(id);
    size -= sizeof(id);
  }
  const std::string_view value(reinterpret_cast<const char*>(data), size);
  users::CachedUserPtr user;
  switch (users::DecodeCachedUser(value, id, user)) {
    case users::Decoded::kUser:
      FUZZ_CHECK(user != nullptr);
      FUZZ_CHECK(user->user.id == id);
      FUZZ_CHECK(users::EncodeCachedUser(user.get()) == value);
      FUZZ_CHECK(user->etag == users::MakeETag(user->user.version));
      break;
    case users::Decoded::kAbsent:
      FUZZ_CHECK(value == users::EncodeCachedUser(nullptr));
      break;
    case users::Decoded::kTombstone:
    case users::Decoded::kCorrupt:
      FUZZ_CHECK(user == nullptr);
      break;
  }
  return 0;
}

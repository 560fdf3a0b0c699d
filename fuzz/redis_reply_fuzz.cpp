// Fuzzes the Redis reply path: bytes from the server, fed to ReplyReader in two pieces at
// a split point taken from the input. It must never crash or hang, must give the same
// replies however the bytes are split, and once failed must stay failed.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string_view>
#include <vector>

#include "redis/reply.hpp"

namespace {

#define FUZZ_CHECK(cond)       \
  do {                         \
    if (!(cond)) std::abort(); \
  } while (false)

using myriad::redis::Reply;
using myriad::redis::ReplyReader;

bool Same(const Reply& a, const Reply& b) {
  if (a.type != b.type || a.str != b.str || a.integer != b.integer ||
      a.elements.size() != b.elements.size()) {
    return false;
  }
  for (std::size_t i = 0; i < a.elements.size(); ++i) {
    if (!Same(a.elements[i], b.elements[i])) return false;
  }
  return true;
}

// Every reply the bytes hold, fed in pieces; `failed` tells whether the stream went bad.
std::vector<Reply> ReadAll(std::string_view bytes, std::size_t split, bool& failed) {
  ReplyReader reader;
  std::vector<Reply> replies;
  Reply reply;
  for (std::string_view piece : {bytes.substr(0, split), bytes.substr(split)}) {
    if (!reader.Feed(piece)) break;
    while (reader.Next(reply)) replies.push_back(reply);
  }
  failed = reader.failed();
  if (failed) FUZZ_CHECK(!reader.Feed("+OK\r\n") && !reader.Next(reply));
  return replies;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size == 0) return 0;
  const std::size_t split = data[0] % size;
  const std::string_view bytes(reinterpret_cast<const char*>(data) + 1, size - 1);
  bool failed_whole = false;
  bool failed_split = false;
  const auto whole = ReadAll(bytes, bytes.size(), failed_whole);
  const auto pieces = ReadAll(bytes, std::min(split, bytes.size()), failed_split);
  FUZZ_CHECK(failed_whole == failed_split);
  FUZZ_CHECK(whole.size() == pieces.size());
  for (std::size_t i = 0; i < whole.size(); ++i) FUZZ_CHECK(Same(whole[i], pieces[i]));
  return 0;
}

// Fuzzes what GET /api/users and conditional writes read from untrusted request bytes:
// ParseListQuery (with a fixed CursorCodec) on the input as a query string, and
// ParseIfMatch on the same bytes as a header value. Neither may crash; what they accept
// must be within the documented ranges.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "users/list_query.hpp"
#include "users/user.hpp"

namespace {

namespace users = myriad::users;

#define FUZZ_CHECK(cond)       \
  do {                         \
    if (!(cond)) std::abort(); \
  } while (false)

const users::CursorCodec& Codec() {
  static const users::CursorCodec codec("fuzz secret");
  return codec;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view input(reinterpret_cast<const char*>(data), size);

  const auto query = users::ParseListQuery(input, Codec());
  if (query) {
    FUZZ_CHECK(query->limit >= 1 && query->limit <= users::kMaxPageSize);
    FUZZ_CHECK(query->after_id >= 0);
    FUZZ_CHECK(query->q.size() <= 4 * users::kMaxSearchLength);
    FUZZ_CHECK(query->q.find('\0') == std::string::npos);
    if (query->after_id > 0) {
      // An accepted cursor is one this codec issued for this q.
      FUZZ_CHECK(Codec().Decode(Codec().Encode(query->after_id, query->q), query->q) ==
                 query->after_id);
    }
    const std::string pattern = users::EscapeLikePattern(query->q);
    FUZZ_CHECK(pattern.size() >= query->q.size());
  } else {
    FUZZ_CHECK(query.error().code == myriad::http::ErrorCode::kBadRequest);
    FUZZ_CHECK(!query.error().detail.empty());
  }

  const users::IfMatch if_match = users::ParseIfMatch(input);
  for (const std::int32_t version : if_match.versions) {
    FUZZ_CHECK(version > 0);
    FUZZ_CHECK(if_match.Matches(version));
  }
  if (if_match.any) FUZZ_CHECK(if_match.versions.empty());
  return 0;
}

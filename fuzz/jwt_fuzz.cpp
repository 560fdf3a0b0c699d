// Fuzzes the access-token verifier (the Authorization header is attacker-controlled): any
// bytes either verify or are rejected with a reason, never crash; an accepted token carries
// a known kid, a non-empty subject and an exp after now, and verifies again the same way.
// Also checks that base64url decoding is canonical (decode then encode gives the input).
// The corpus's valid tokens are signed by the key below (seed of 32 bytes 0x42, kid "fuzz").
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "auth/base64url.hpp"
#include "auth/jwt.hpp"
#include "auth/signing_keys.hpp"
#include "auth/token_cache.hpp"

namespace {

#define FUZZ_CHECK(cond)       \
  do {                         \
    if (!(cond)) std::abort(); \
  } while (false)

constexpr std::int64_t kNow = 1'800'000'000;
constexpr std::string_view kIssuer = "https://myriad.example";
constexpr std::string_view kAudience = "myriad-api";

const myriad::auth::KeySet& Keys() {
  static const myriad::auth::KeySet kKeys = [] {
    myriad::auth::SigningKey::Seed seed{};
    seed.fill(0x42);
    std::vector<myriad::auth::SigningKey> list;
    list.push_back(myriad::auth::SigningKey::FromSeed("fuzz", seed).value());
    seed.fill(0x43);
    list.push_back(myriad::auth::SigningKey::FromSeed("fuzz-old", seed).value());
    return myriad::auth::KeySet::Create(std::move(list)).value();
  }();
  return kKeys;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view token(reinterpret_cast<const char*>(data), size);
  const myriad::auth::KeySet& keys = Keys();

  const auto decoded = myriad::auth::Base64UrlDecode(token);
  if (decoded) {
    FUZZ_CHECK(myriad::auth::Base64UrlEncode(*decoded) == token);
  }

  const auto verified = myriad::auth::Verify(token, kNow, kIssuer, kAudience, keys);
  if (!verified) {
    FUZZ_CHECK(!myriad::auth::ToString(verified.error()).empty());
    return 0;
  }
  FUZZ_CHECK(size <= myriad::auth::kMaxTokenBytes);
  FUZZ_CHECK(keys.Find(verified->key_id) != nullptr);
  FUZZ_CHECK(!verified->subject.empty());
  FUZZ_CHECK(kNow < verified->expires_at);
  FUZZ_CHECK(verified->issued_at <= kNow + myriad::auth::kClockLeeway);

  const auto again = myriad::auth::Verify(token, kNow, kIssuer, kAudience, keys);
  FUZZ_CHECK(again && *again == *verified);
  const auto expired = myriad::auth::Verify(token, verified->expires_at, kIssuer, kAudience, keys);
  FUZZ_CHECK(!expired && expired.error() == myriad::auth::TokenError::kExpired);

  myriad::auth::TokenCache cache(2);
  cache.Put(token, *verified, kNow);
  const myriad::auth::VerifiedClaims* hit = cache.Find(token, kNow);
  FUZZ_CHECK(hit != nullptr && *hit == *verified);
  FUZZ_CHECK(cache.Find(token, verified->expires_at) == nullptr);
  return 0;
}

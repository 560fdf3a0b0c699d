#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "auth/jwt.hpp"
#include "auth/signing_keys.hpp"
#include "auth/token_cache.hpp"
#include "core/result.hpp"

namespace myriad::auth {

/// Who a verified access token speaks for.
struct Principal {
  std::int64_t user_id = 0;
  bool admin = false;
  std::string token_id;  // jti
};

/// Why a request carries no usable identity.
enum class AuthFailure : std::uint8_t {
  kMissing,    // no Authorization header
  kMalformed,  // not "Bearer <token>" (IsBearerScheme tells another scheme from a bad one)
  kInvalid,    // the token failed Verify() (see token_error)
};

struct AuthError {
  AuthFailure failure = AuthFailure::kMissing;
  TokenError token_error = TokenError::kMalformed;
};

/// Issues and checks access tokens for one service: its key set, issuer, audience and
/// token lifetime, and one TokenCache per io thread in front of Verify(). Thread-safe as
/// long as each io thread passes its own `worker` index.
class Authenticator {
 public:
  struct Options {
    std::string issuer = "myriad";
    std::string audience = "myriad-api";
    std::chrono::seconds access_ttl{15 * 60};
    std::size_t cache_entries_per_thread = TokenCache::kDefaultCapacity;
  };

  Authenticator(KeySet keys, Options options, std::size_t workers);

  /// An access token for the user, valid from `now` (Unix seconds) for access_ttl.
  std::string Issue(std::int64_t user_id, bool admin, std::int64_t now) const;

  /// Checks an Authorization header value at `now`. Io thread `worker` only.
  core::Result<Principal, AuthError> Authenticate(std::size_t worker,
                                                  std::string_view authorization, std::int64_t now);

  /// The principal of a token io thread `worker` has already verified (its cache alone:
  /// never a signature check), else nullopt.
  std::optional<Principal> Known(std::size_t worker, std::string_view authorization,
                                 std::int64_t now);

  const KeySet& keys() const { return keys_; }
  const Options& options() const { return options_; }

 private:
  KeySet keys_;
  Options options_;
  std::vector<std::unique_ptr<TokenCache>> caches_;
};

/// Whether an Authorization value uses the Bearer scheme ("Bearer" in any case, then a
/// space), whatever follows: RFC 6750 3.1 gives no error code to requests without one.
bool IsBearerScheme(std::string_view authorization);

/// Unix seconds now (system clock).
std::int64_t UnixNow();

}  // namespace myriad::auth

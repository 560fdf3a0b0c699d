#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "auth/signing_keys.hpp"
#include "core/result.hpp"

namespace myriad::auth {

/// What an access token says, as the issuer fills it in. Times are Unix seconds.
struct TokenClaims {
  std::string subject;          // `sub`: the user id
  std::string role;             // `role`
  std::string issuer;           // `iss`
  std::string audience;         // `aud`
  std::int64_t issued_at = 0;   // `iat`
  std::int64_t expires_at = 0;  // `exp`
};

/// What a verified token says. Only Verify() (and a TokenCache holding its results) makes
/// these, so holding one means the signature, issuer, audience and times were checked.
struct VerifiedClaims {
  std::string subject;
  std::string role;
  std::string token_id;  // `jti`: 128 random bits, base64url
  std::string key_id;    // the `kid` that verified the signature
  std::int64_t issued_at = 0;
  std::int64_t expires_at = 0;

  bool operator==(const VerifiedClaims&) const = default;
};

/// Why Verify() rejected a token. The enumerator is the whole reason: tokens are never
/// echoed, and the client learns no more than "401 invalid token".
enum class TokenError : std::uint8_t {
  kMalformed,       // too large, not three segments, an empty header or payload, or a
                    // header or payload that is not canonical base64url
  kBadHeader,       // header not a JSON object, alg or kid missing or not strings, typ not
                    // "JWT", or a member other than alg/typ/kid (crit, jku, jwk, x5u...)
  kUnsupportedAlg,  // alg is anything but "EdDSA": "none", "HS256", "RS256", "Ed25519"...
  kUnknownKid,      // no key in the set has this kid (never issued, or rotated out)
  kBadSignature,    // signature not 64 bytes of canonical base64url or not valid for
                    // header.payload
  kExpired,         // now >= exp
  kNotYetValid,     // iat (or nbf) later than now plus kClockLeeway
  kWrongIssuer,     // iss missing or not the expected issuer
  kWrongAudience,   // aud missing or (not) the expected audience (a string or an array)
  kBadClaims,       // claims not a JSON object, or sub/role/jti/iat/exp missing or mistyped
};

/// A stable snake_case name ("malformed", "unsupported_alg"...) for logs and metric labels.
std::string_view ToString(TokenError error);

/// Tokens larger than this are rejected before any parsing (ours are about 300 bytes).
inline constexpr std::size_t kMaxTokenBytes = 4096;
/// How far in the future iat may lie, for clocks that differ between hosts. exp gets no
/// leeway: a token is valid while now < exp, exactly.
inline constexpr std::int64_t kClockLeeway = 60;

/// A compact JWS (RFC 7515) signed with the set's active key: header
/// {"alg":"EdDSA","typ":"JWT","kid":<active kid>}, claims sub, role, iat, exp, a fresh
/// random jti, iss and aud. Requires issued_at < expires_at and a non-empty subject (a
/// caller bug otherwise: asserted). Thread-safe for a shared KeySet; about 20 us of CPU.
std::string Issue(const TokenClaims& claims, const KeySet& keys);

/// Checks `token` against `keys` at time `now` (Unix seconds) for the given issuer and
/// audience, in this order: size, shape, header (alg exactly "EdDSA", a known kid), the
/// Ed25519 signature over the ASCII "header.payload", then the claims (types, iss, aud,
/// exp, iat, nbf if present). Never throws on any input. Thread-safe; about 50 us of CPU
/// (the signature), so io threads put a TokenCache in front of it.
core::Result<VerifiedClaims, TokenError> Verify(std::string_view token, std::int64_t now,
                                                std::string_view issuer, std::string_view audience,
                                                const KeySet& keys);

}  // namespace myriad::auth

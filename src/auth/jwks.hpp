#pragma once

#include <string>

#include "auth/signing_keys.hpp"

namespace myriad::auth {

/// The JSON document served at /.well-known/jwks.json: every key of `keys` (the active one
/// first) as an RFC 8037 OKP public key,
///   {"keys":[{"kty":"OKP","crv":"Ed25519","x":<base64url public key>,"kid":...,
///             "alg":"EdDSA","use":"sig"},...]}
/// Public keys only; the set does not change, so callers render it once and serve the string.
std::string RenderJwks(const KeySet& keys);

}  // namespace myriad::auth

#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>

namespace myriad::auth {

/// `bytes` as unpadded base64url (RFC 4648 section 5, the JOSE encoding of RFC 7515).
std::string Base64UrlEncode(std::span<const std::uint8_t> bytes);
std::string Base64UrlEncode(std::string_view bytes);

/// The bytes `text` encodes, or nullopt unless `text` is canonical unpadded base64url:
/// only [A-Za-z0-9_-], no '=' padding, no whitespace, a length that is not 1 mod 4, and
/// zero trailing bits (so each byte string has exactly one accepted encoding).
std::optional<std::string> Base64UrlDecode(std::string_view text);

/// Decodes `text` into `out` and returns true only when it is canonical (as above) and
/// encodes exactly out.size() bytes; on false, `out` is zeroed. For fixed-size values
/// (keys, signatures) without a heap copy.
bool Base64UrlDecodeExact(std::string_view text, std::span<std::uint8_t> out);

}  // namespace myriad::auth

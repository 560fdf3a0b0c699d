#pragma once

#include <string>
#include <string_view>

namespace myriad::auth {

/// 256 random bits from the system CSPRNG as unpadded base64url (43 characters): refresh
/// tokens and the single-use tokens sent by e-mail.
std::string NewOpaqueToken();

/// The SHA-256 of a token (32 raw bytes): what the database stores, so a leaked table
/// holds nothing that can be presented.
std::string HashOpaqueToken(std::string_view token);

/// A plausible opaque token: 43 base64url characters. Checked before hashing, so junk never
/// reaches the database.
bool LooksLikeOpaqueToken(std::string_view token);

}  // namespace myriad::auth

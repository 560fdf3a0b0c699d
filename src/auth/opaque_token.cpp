#include "auth/opaque_token.hpp"

#include <sodium.h>

#include <algorithm>
#include <array>
#include <cstdint>
#include <span>

#include "auth/base64url.hpp"

namespace myriad::auth {
namespace {
constexpr std::size_t kTokenBytes = 32;
constexpr std::size_t kTokenChars = 43;  // 32 bytes, unpadded base64url
}  // namespace

std::string NewOpaqueToken() {
  std::array<std::uint8_t, kTokenBytes> bytes{};
  randombytes_buf(bytes.data(), bytes.size());
  std::string token = Base64UrlEncode(std::span<const std::uint8_t>(bytes));
  sodium_memzero(bytes.data(), bytes.size());
  return token;
}

std::string HashOpaqueToken(std::string_view token) {
  std::array<std::uint8_t, crypto_hash_sha256_BYTES> digest{};
  crypto_hash_sha256(digest.data(), reinterpret_cast<const unsigned char*>(token.data()),
                     token.size());
  return {reinterpret_cast<const char*>(digest.data()), digest.size()};
}

bool LooksLikeOpaqueToken(std::string_view token) {
  if (token.size() != kTokenChars) return false;
  return std::ranges::all_of(token, [](char c) {
    return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' ||
           c == '_';
  });
}

}  // namespace myriad::auth

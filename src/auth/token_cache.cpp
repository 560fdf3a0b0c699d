#include "auth/token_cache.hpp"

#include <sodium.h>

#include <cassert>
#include <cstring>
#include <iterator>

namespace myriad::auth {

static_assert(crypto_shorthash_siphashx24_BYTES == 16);
static_assert(crypto_shorthash_siphashx24_KEYBYTES == 16);

TokenCache::TokenCache(std::size_t capacity) : capacity_(capacity) {
  [[maybe_unused]] const int sodium = sodium_init();
  assert(sodium >= 0);
  randombytes_buf(hash_key_.data(), hash_key_.size());
  entries_.reserve(capacity_);
}

std::size_t TokenCache::DigestHash::operator()(const Digest& digest) const {
  // The digest is already a keyed uniform hash; any 8 of its bytes make a good bucket index.
  std::size_t h = 0;
  std::memcpy(&h, digest.data(), sizeof h);
  return h;
}

TokenCache::Digest TokenCache::DigestOf(std::string_view token) const {
  // SipHash-2-4 with a 128-bit output (libsodium's siphashx24): a keyed PRF, so collisions
  // cannot be aimed without the key, and several times cheaper than keyed BLAKE2b on a
  // 350-byte token, which matters because every Find() pays for it.
  Digest digest{};
  crypto_shorthash_siphashx24(digest.data(), reinterpret_cast<const unsigned char*>(token.data()),
                              token.size(), hash_key_.data());
  return digest;
}

void TokenCache::Erase(std::unordered_map<Digest, Entry, DigestHash>::iterator it) {
  order_.erase(it->second.order);
  entries_.erase(it);
}

const VerifiedClaims* TokenCache::Find(std::string_view token, std::int64_t now) {
  if (entries_.empty()) {
    return nullptr;
  }
  const auto it = entries_.find(DigestOf(token));
  if (it == entries_.end()) {
    return nullptr;
  }
  if (now >= it->second.claims.expires_at) {
    Erase(it);
    return nullptr;
  }
  return &it->second.claims;
}

void TokenCache::Put(std::string_view token, const VerifiedClaims& claims, std::int64_t now) {
  if (capacity_ == 0 || now >= claims.expires_at) {
    return;
  }
  const Digest digest = DigestOf(token);
  if (const auto it = entries_.find(digest); it != entries_.end()) {
    it->second.claims = claims;
    order_.splice(order_.end(), order_, it->second.order);
    return;
  }
  if (entries_.size() >= capacity_) {
    Erase(entries_.find(order_.front()));
  }
  order_.push_back(digest);
  entries_.emplace(digest, Entry{claims, std::prev(order_.end())});
}

void TokenCache::Forget(std::string_view token) {
  if (const auto it = entries_.find(DigestOf(token)); it != entries_.end()) {
    Erase(it);
  }
}

void TokenCache::Clear() {
  entries_.clear();
  order_.clear();
}

}  // namespace myriad::auth

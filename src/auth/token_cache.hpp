#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <list>
#include <string_view>
#include <unordered_map>

#include "auth/jwt.hpp"

namespace myriad::auth {

/// Claims of tokens that already passed Verify(), so a client repeating its token skips the
/// Ed25519 check (about 50 us) on later requests. One per io thread: not thread-safe, no
/// locks.
///
/// Entries are keyed by the exact token bytes, held as a 128-bit SipHash keyed with a
/// per-cache random key (an attacker cannot aim a collision at a cached token without
/// knowing that key). An entry is never returned at or after its exp. At most `capacity`
/// entries: adding to a full cache drops the oldest entry.
///
/// The cache does not know the issuer, audience or key set its entries were verified
/// against: use one cache per verifier configuration, and Clear() it when a key leaves the
/// key set so that tokens signed by that key stop being accepted at once.
class TokenCache {
 public:
  static constexpr std::size_t kDefaultCapacity = 10'000;

  /// `capacity` 0 makes every Find() miss and every Put() a no-op.
  explicit TokenCache(std::size_t capacity = kDefaultCapacity);

  /// The cached claims for exactly `token` if it is cached and now < exp, else nullptr (an
  /// expired entry is dropped on the way). The pointer is valid until the next non-const
  /// call on this cache.
  const VerifiedClaims* Find(std::string_view token, std::int64_t now);

  /// Remembers `claims`, which Verify() returned for `token`. Does nothing when the claims
  /// are already expired at `now`. Replaces an existing entry for the same token.
  void Put(std::string_view token, const VerifiedClaims& claims, std::int64_t now);

  /// Drops the entry for `token`, if any (for example on logout).
  void Forget(std::string_view token);

  /// Drops every entry (for example after a key rotation removed a key).
  void Clear();

  std::size_t size() const { return entries_.size(); }
  std::size_t capacity() const { return capacity_; }

 private:
  using Digest = std::array<std::uint8_t, 16>;
  struct DigestHash {
    std::size_t operator()(const Digest& digest) const;
  };
  struct Entry {
    VerifiedClaims claims;
    std::list<Digest>::iterator order;
  };

  Digest DigestOf(std::string_view token) const;
  void Erase(std::unordered_map<Digest, Entry, DigestHash>::iterator it);

  std::size_t capacity_;
  std::array<std::uint8_t, 16> hash_key_{};
  std::unordered_map<Digest, Entry, DigestHash> entries_;
  // Oldest first; each entry holds its own position so Forget() is O(1).
  std::list<Digest> order_;
};

}  // namespace myriad::auth

#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "core/result.hpp"

namespace myriad::auth {

/// An Ed25519 key pair with its key id (the JWS `kid`). Move-only, so the secret exists
/// once; the secret is zeroed (sodium_memzero) when the key is destroyed.
///
/// Key file format, one line of ASCII text, optionally ending in "\n":
///
///   myriad-ed25519-v1 <kid> <seed>
///
/// `kid` is 1..64 characters of [A-Za-z0-9._-]; `seed` is the 32-byte Ed25519 seed as
/// unpadded base64url (43 characters). Fields are separated by one space; nothing else may
/// appear. GenerateKeyFile writes such a file with mode 0600.
class SigningKey {
 public:
  static constexpr std::size_t kSeedBytes = 32;
  static constexpr std::size_t kPublicKeyBytes = 32;
  static constexpr std::size_t kSignatureBytes = 64;
  static constexpr std::size_t kMaxKidLength = 64;
  using Seed = std::array<std::uint8_t, kSeedBytes>;
  using PublicKey = std::array<std::uint8_t, kPublicKeyBytes>;
  using Signature = std::array<std::uint8_t, kSignatureBytes>;

  /// The key pair derived from `seed` (deterministic). Errors: an invalid `kid`, or
  /// libsodium failing to initialise. The caller should zero its copy of the seed.
  static core::Result<SigningKey, std::string> FromSeed(std::string kid, const Seed& seed);

  /// A fresh key pair from the system CSPRNG; same errors as FromSeed.
  static core::Result<SigningKey, std::string> Generate(std::string kid);

  ~SigningKey();
  SigningKey(SigningKey&&) noexcept = default;
  SigningKey& operator=(SigningKey&&) noexcept = default;
  SigningKey(const SigningKey&) = delete;
  SigningKey& operator=(const SigningKey&) = delete;

  const std::string& kid() const { return kid_; }
  const PublicKey& public_key() const { return public_key_; }

  /// The detached Ed25519 signature of `message`. Thread-safe (reads only).
  Signature Sign(std::string_view message) const;

  /// True when `signature` is this key's valid signature of `message`. Thread-safe.
  bool Verify(std::string_view message,
              std::span<const std::uint8_t, kSignatureBytes> signature) const;

 private:
  SigningKey() = default;

  std::string kid_;
  PublicKey public_key_{};
  // libsodium's 64-byte secret key: the seed followed by the public key.
  std::array<std::uint8_t, 64> secret_key_{};
};

/// True when `kid` is 1..64 characters of [A-Za-z0-9._-].
bool IsValidKid(std::string_view kid);

/// Creates `path` with mode 0600 holding a new key (format above) and returns that key.
/// Refuses to overwrite: an existing path is an error. On any error no file is left behind.
/// Errors name the path and the cause, never the secret. For start-up and tooling, not for
/// io threads (blocking file I/O).
core::Result<SigningKey, std::string> GenerateKeyFile(const std::string& path, std::string kid);

/// Reads a key file (format above). Errors name the path and what is wrong with it but
/// never echo the file's contents, so a misplaced secret does not end up in a log. Blocking
/// file I/O: start-up only.
core::Result<SigningKey, std::string> LoadKeyFile(const std::string& path);

/// The keys a service signs and verifies with. The first key is the active one (new tokens
/// are signed with it); the others only verify, so tokens signed before a rotation stay
/// valid until that key is removed from the set. Immutable once built; safe to share
/// between threads.
class KeySet {
 public:
  /// Errors: no keys, or two keys with the same kid.
  static core::Result<KeySet, std::string> Create(std::vector<SigningKey> keys);

  /// The key that signs new tokens.
  const SigningKey& active() const { return keys_.front(); }

  /// The key with this kid, or nullptr. The pointer lives as long as the set.
  const SigningKey* Find(std::string_view kid) const;

  /// All keys, the active one first.
  std::span<const SigningKey> keys() const { return keys_; }

 private:
  explicit KeySet(std::vector<SigningKey> keys) : keys_(std::move(keys)) {}

  std::vector<SigningKey> keys_;
};

}  // namespace myriad::auth

#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "core/result.hpp"
#include "http/problem.hpp"

namespace myriad::users {

inline constexpr int kDefaultPageSize = 20;
inline constexpr int kMaxPageSize = 100;
inline constexpr std::size_t kMaxSearchLength = 100;  // code points

/// Signs and checks list cursors. A cursor is opaque to clients: base64url (no padding) of
/// a version byte, the last id of the page, a 4-byte fingerprint of the search `q` it
/// belongs to, and an 8-byte keyed BLAKE2b MAC (libsodium crypto_generichash) over the
/// rest; fingerprint and MAC are prefixes of 16-byte hashes, libsodium's shortest output. The MAC
/// makes any edited, truncated or foreign cursor fail to decode; the fingerprint makes a cursor
/// from one search fail when replayed with another `q`. Cursors hold no expiry: keyset positions
/// stay valid forever.
class CursorCodec {
 public:
  /// `secret`: any bytes (hashed to a key). Replicas must share it for cursors to work
  /// across them; `--cursor-secret` / MYRIAD_CURSOR_SECRET sets it.
  explicit CursorCodec(std::string_view secret);
  std::string Encode(std::int64_t last_id, std::string_view q) const;
  /// The last id, or nullopt when the cursor is malformed, tampered with, or for another q.
  std::optional<std::int64_t> Decode(std::string_view cursor, std::string_view q) const;

 private:
  std::array<unsigned char, 32> key_{};
};

/// GET /api/users query parameters, validated.
struct ListQuery {
  int limit = kDefaultPageSize;
  /// Rows with id > after_id (0: from the start).
  std::int64_t after_id = 0;
  /// The search text, percent-decoded and trimmed; empty: no search.
  std::string q;
};

/// Parses the raw query string (the part after '?', not yet percent-decoded: "+" is a
/// space, %XX decoded, invalid escapes or invalid UTF-8 are errors). Keys: limit (integer
/// 1..kMaxPageSize), cursor (from CursorCodec, checked against q), q (0..kMaxSearchLength
/// code points after trimming, no control characters; an empty q means no search).
/// Unknown keys, and keys that do not decode, are ignored (caches and proxies add them);
/// a repeated key is a 400. Every problem is kBadRequest (400) with a
/// detail naming the parameter, e.g. "limit must be an integer between 1 and 100" or
/// "cursor is invalid or belongs to another search".
core::Result<ListQuery, http::Error> ParseListQuery(std::string_view query,
                                                    const CursorCodec& cursors);

/// Escapes `q` for use inside ILIKE '%' || $1 || '%' with the default escape character:
/// backslash, '%' and '_' are preceded by a backslash, so they match literally.
std::string EscapeLikePattern(std::string_view q);

}  // namespace myriad::users

#include "users/list_query.hpp"

#include <sodium.h>

#include <algorithm>
#include <array>
#include <cassert>
#include <charconv>
#include <cstdlib>
#include <system_error>

#include "users/text.hpp"

namespace myriad::users {
namespace {

using text::CountCodePoints;
using text::HasControlCharacter;
using text::IsValidUtf8;
using text::TrimAscii;

constexpr unsigned char kCursorVersion = 1;
constexpr std::size_t kIdBytes = 8;
constexpr std::size_t kFingerprintBytes = 4;
constexpr std::size_t kMacBytes = 8;
constexpr std::size_t kPayloadBytes = 1 + kIdBytes + kFingerprintBytes;
constexpr std::size_t kCursorBytes = kPayloadBytes + kMacBytes;
// 21 bytes are exactly 28 base64 characters, so every cursor has this length and no
// padding bits that could give one cursor several spellings.
constexpr std::size_t kCursorChars = (kCursorBytes * 8 + 5) / 6;

using CursorBytes = std::array<unsigned char, kCursorBytes>;

void InitSodium() {
  // Thread-safe and idempotent; it only fails when the system has no entropy source,
  // which nothing here could recover from.
  if (sodium_init() < 0) std::abort();
}

// crypto_generichash refuses outputs shorter than crypto_generichash_BYTES_MIN (16), so
// the fingerprint and the MAC are prefixes of a 16-byte BLAKE2b.
CursorBytes SignedCursor(const unsigned char* key, std::int64_t last_id, std::string_view q) {
  CursorBytes bytes{};
  bytes[0] = kCursorVersion;
  const auto id = static_cast<std::uint64_t>(last_id);
  for (std::size_t i = 0; i < kIdBytes; ++i) {
    bytes[1 + i] = static_cast<unsigned char>(id >> (8 * (kIdBytes - 1 - i)));
  }
  std::array<unsigned char, crypto_generichash_BYTES_MIN> hash{};
  crypto_generichash(hash.data(), hash.size(), reinterpret_cast<const unsigned char*>(q.data()),
                     q.size(), nullptr, 0);
  std::copy_n(hash.begin(), kFingerprintBytes, bytes.begin() + 1 + kIdBytes);
  crypto_generichash(hash.data(), hash.size(), bytes.data(), kPayloadBytes, key,
                     crypto_generichash_KEYBYTES);
  std::copy_n(hash.begin(), kMacBytes, bytes.begin() + kPayloadBytes);
  return bytes;
}

int HexValue(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

// application/x-www-form-urlencoded decoding: '+' is a space, %XX a byte.
std::optional<std::string> FormDecode(std::string_view s) {
  std::string out;
  out.reserve(s.size());
  for (std::size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '+') {
      out += ' ';
    } else if (s[i] == '%') {
      if (s.size() - i < 3) return std::nullopt;
      const int hi = HexValue(s[i + 1]);
      const int lo = HexValue(s[i + 2]);
      if (hi < 0 || lo < 0) return std::nullopt;
      out += static_cast<char>(hi * 16 + lo);
      i += 2;
    } else {
      out += s[i];
    }
  }
  if (!IsValidUtf8(out)) return std::nullopt;
  return out;
}

core::Unexpected<http::Error> BadParameter(std::string detail) {
  return core::Unexpected{http::Error{http::ErrorCode::kBadRequest, std::move(detail), {}}};
}

}  // namespace

CursorCodec::CursorCodec(std::string_view secret) {
  static_assert(std::tuple_size_v<decltype(key_)> == crypto_generichash_KEYBYTES);
  InitSodium();
  crypto_generichash(key_.data(), key_.size(),
                     reinterpret_cast<const unsigned char*>(secret.data()), secret.size(), nullptr,
                     0);
}

std::string CursorCodec::Encode(std::int64_t last_id, std::string_view q) const {
  // Ids come from the users table (bigserial, > 0); a cursor for anything else would be
  // one Decode refuses.
  assert(last_id > 0);
  const CursorBytes bytes = SignedCursor(key_.data(), last_id, q);
  std::array<char,
             sodium_base64_ENCODED_LEN(kCursorBytes, sodium_base64_VARIANT_URLSAFE_NO_PADDING)>
      text{};
  sodium_bin2base64(text.data(), text.size(), bytes.data(), bytes.size(),
                    sodium_base64_VARIANT_URLSAFE_NO_PADDING);
  return std::string(text.data());
}

std::optional<std::int64_t> CursorCodec::Decode(std::string_view cursor, std::string_view q) const {
  if (cursor.size() != kCursorChars) return std::nullopt;
  CursorBytes bytes{};
  std::size_t length = 0;
  const char* end = nullptr;
  if (sodium_base642bin(bytes.data(), bytes.size(), cursor.data(), cursor.size(), nullptr, &length,
                        &end, sodium_base64_VARIANT_URLSAFE_NO_PADDING) != 0 ||
      length != kCursorBytes || end != cursor.data() + cursor.size()) {
    return std::nullopt;
  }
  std::uint64_t id = 0;
  for (std::size_t i = 0; i < kIdBytes; ++i) id = (id << 8) | bytes[1 + i];
  const auto last_id = static_cast<std::int64_t>(id);
  if (bytes[0] != kCursorVersion || last_id <= 0) return std::nullopt;
  // Rebuilding the whole cursor from the id and this q checks the MAC and the
  // fingerprint in one constant-time comparison.
  const CursorBytes expected = SignedCursor(key_.data(), last_id, q);
  if (sodium_memcmp(bytes.data(), expected.data(), kCursorBytes) != 0) return std::nullopt;
  return last_id;
}

core::Result<ListQuery, http::Error> ParseListQuery(std::string_view query,
                                                    const CursorCodec& cursors) {
  ListQuery result;
  std::optional<std::string> limit;
  std::optional<std::string> cursor;
  std::optional<std::string> q;

  while (!query.empty()) {
    const std::size_t amp = query.find('&');
    const std::string_view pair = query.substr(0, amp);
    query.remove_prefix(amp == std::string_view::npos ? query.size() : amp + 1);
    if (pair.empty()) continue;

    const std::size_t eq = pair.find('=');
    // A key that does not decode cannot be one of ours, and unknown keys are ignored.
    const auto key = FormDecode(pair.substr(0, eq));
    if (!key) continue;
    std::optional<std::string>* slot = nullptr;
    if (*key == "limit") {
      slot = &limit;
    } else if (*key == "cursor") {
      slot = &cursor;
    } else if (*key == "q") {
      slot = &q;
    } else {
      continue;
    }
    if (slot->has_value()) return BadParameter(*key + " must not be given more than once");
    const std::string_view raw = eq == std::string_view::npos ? "" : pair.substr(eq + 1);
    *slot = FormDecode(raw);
    if (!slot->has_value()) {
      return BadParameter(*key + " has an invalid percent-encoding or is not valid UTF-8");
    }
  }

  if (limit) {
    // Digits only: from_chars alone would accept "-1", and stoi would skip spaces.
    int value = 0;
    const char* first = limit->data();
    const char* last = first + limit->size();
    const bool digits =
        !limit->empty() && limit->find_first_not_of("0123456789") == std::string::npos;
    const auto [end, ec] = std::from_chars(first, last, value);
    if (!digits || ec != std::errc() || end != last || value < 1 || value > kMaxPageSize) {
      return BadParameter("limit must be an integer between 1 and " + std::to_string(kMaxPageSize));
    }
    result.limit = value;
  }
  if (q) {
    const std::string_view text = TrimAscii(*q);
    const std::size_t length = CountCodePoints(text);
    // An empty search box submits "q=": that lists everyone rather than failing.
    if (length > kMaxSearchLength) {
      return BadParameter("q must be at most " + std::to_string(kMaxSearchLength) +
                          " characters long");
    }
    if (HasControlCharacter(text)) return BadParameter("q must not contain control characters");
    result.q = std::string(text);
  }
  if (cursor) {
    const auto after = cursors.Decode(*cursor, result.q);
    if (!after) return BadParameter("cursor is invalid or belongs to another search");
    result.after_id = *after;
  }
  return result;
}

std::string EscapeLikePattern(std::string_view q) {
  std::string out;
  out.reserve(q.size());
  for (const char c : q) {
    if (c == '\\' || c == '%' || c == '_') out += '\\';
    out += c;
  }
  return out;
}

}  // namespace myriad::users

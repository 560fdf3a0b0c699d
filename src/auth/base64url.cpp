#include "auth/base64url.hpp"

#include <sodium.h>

namespace myriad::auth {
namespace {

constexpr int kVariant = sodium_base64_VARIANT_URLSAFE_NO_PADDING;

// sodium_base642bin stops at the first byte outside the alphabet and, given no end
// pointer, fails unless it consumed everything; it also fails on a dangling sextet and on
// non-zero trailing bits. That is exactly the canonical form, so no checks of our own.
bool Decode(std::string_view text, std::uint8_t* out, std::size_t capacity, std::size_t& written) {
  written = 0;
  return sodium_base642bin(out, capacity, text.data(), text.size(), nullptr, &written, nullptr,
                           kVariant) == 0;
}

}  // namespace

std::string Base64UrlEncode(std::span<const std::uint8_t> bytes) {
  // The macro counts the terminating NUL that sodium_bin2base64 writes.
  std::string out(sodium_base64_ENCODED_LEN(bytes.size(), kVariant), '\0');
  sodium_bin2base64(out.data(), out.size(), bytes.data(), bytes.size(), kVariant);
  out.resize(out.size() - 1);
  return out;
}

std::string Base64UrlEncode(std::string_view bytes) {
  return Base64UrlEncode(std::span<const std::uint8_t>(
      reinterpret_cast<const std::uint8_t*>(bytes.data()), bytes.size()));
}

std::optional<std::string> Base64UrlDecode(std::string_view text) {
  std::string out(text.size() / 4 * 3 + 2, '\0');
  std::size_t written = 0;
  if (!Decode(text, reinterpret_cast<std::uint8_t*>(out.data()), out.size(), written)) {
    return std::nullopt;
  }
  out.resize(written);
  return out;
}

bool Base64UrlDecodeExact(std::string_view text, std::span<std::uint8_t> out) {
  // The length test first: it rejects without decoding, and lets the decoder write into
  // `out` directly because a text of this length cannot overflow it.
  const std::size_t full = out.size() / 3 * 4;
  const std::size_t rest = out.size() % 3;
  const std::size_t expected = full + (rest == 0 ? 0 : rest + 1);
  std::size_t written = 0;
  if (text.size() != expected || !Decode(text, out.data(), out.size(), written) ||
      written != out.size()) {
    sodium_memzero(out.data(), out.size());
    return false;
  }
  return true;
}

}  // namespace myriad::auth

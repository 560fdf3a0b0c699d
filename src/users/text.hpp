#pragma once

#include <cstddef>
#include <string_view>

// Small text checks shared by the users input parsers (JSON bodies and query strings).
namespace myriad::users::text {

/// `s` without ASCII whitespace at either end.
std::string_view TrimAscii(std::string_view s);
/// Strict UTF-8 (RFC 3629): no overlong forms, no surrogates, nothing above U+10FFFF.
bool IsValidUtf8(std::string_view s);
/// C0 controls, DEL or C1 controls (U+0080..U+009F, encoded as C2 80..C2 9F) in `s`.
bool HasControlCharacter(std::string_view s);
/// Code points in `s`, which must be valid UTF-8: every byte that is not a continuation
/// byte starts one.
std::size_t CountCodePoints(std::string_view s);

}  // namespace myriad::users::text

#pragma once

#include <initializer_list>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/result.hpp"
#include "http/problem.hpp"
#include "users/user.hpp"

namespace myriad::users {

inline constexpr std::size_t kMaxEmailLength = 254;  // RFC 5321 path limit
inline constexpr std::size_t kMaxNameLength = 200;   // code points; the schema CHECKs it
inline constexpr std::size_t kMinPasswordLength = 8;
inline constexpr std::size_t kMaxPasswordLength = 128;

/// Trims ASCII whitespace and lower-cases ASCII letters; returns nullopt unless the result
/// is a plausible address: one '@', local part 1..64 bytes, domain 1..253 bytes made of
/// dot-separated labels (letters, digits, hyphen, not starting or ending with a hyphen,
/// 1..63 bytes each, at least two labels), no whitespace or control characters, total
/// <= kMaxEmailLength. Non-ASCII is allowed in the local part (UTF-8, already validated
/// by the JSON parser) but not in the domain (IDNs must come as punycode).
std::optional<std::string> NormalizeEmail(std::string_view text);

/// A name as a user gives it: trimmed of ASCII whitespace, 1..kMaxNameLength code points,
/// no control characters. The error names `field`.
core::Result<std::string, http::FieldError> CheckName(std::string_view text,
                                                      std::string_view field = "name");
/// kMinPasswordLength..kMaxPasswordLength code points (not trimmed), or the error naming
/// `field`.
std::optional<http::FieldError> CheckPassword(std::string_view password,
                                              std::string_view field = "password");

/// A JSON object of string members, raw (neither trimmed nor validated).
using StringFields = std::map<std::string, std::string, std::less<>>;
/// For bodies of string fields only (the accounts endpoints): 400 as ParseCreateUser for
/// what is not a JSON object; 422 with one FieldError per key not in `allowed`
/// ("unknown_field"), repeated ("duplicate_field"), not a string ("invalid_type"), or in
/// `required` and absent ("required"). Never throws.
core::Result<StringFields, http::Error> ParseStringFields(
    std::string_view body, std::initializer_list<std::string_view> allowed,
    std::initializer_list<std::string_view> required);

/// POST /api/users, validated. email normalised; name trimmed.
struct CreateUserInput {
  std::string email;
  std::string name;
  /// Absent: the account cannot log in until a password is set (accounts issue).
  std::optional<std::string> password;
  Role role = Role::kUser;
  Status status = Status::kActive;
};

/// PATCH /api/users/{id}, validated: only the fields present in the body.
struct UpdateUserInput {
  std::optional<std::string> email;
  std::optional<std::string> name;
  std::optional<std::string> password;
  std::optional<Role> role;
  std::optional<Status> status;
  bool empty() const { return !email && !name && !password && !role && !status; }
};

/// Parses and validates a JSON request body. Errors are http::Error values ready to send:
///  - kBadRequest (400) when the body is not JSON (detail says where parsing stopped) or
///    is JSON but not an object, or nests deeper than 32 levels;
///  - kValidation (422) with one FieldError per bad field: "required", "invalid_type" (null
///    included), "too_short", "too_long" (also an email over kMaxEmailLength), "invalid" (bad email
///    / control characters in a name), "unknown_value" (role/status), "unknown_field" (any key not
///    listed above; a typo must not be silently ignored), "duplicate_field" (the same key twice),
///    and, for an update with no fields, one error with field "" and code "empty".
/// Name rules: trimmed of ASCII whitespace; 1..kMaxNameLength code points; no control
/// characters (C0, DEL, C1). Password rules: kMinPasswordLength..kMaxPasswordLength code
/// points; not checked further here (the accounts issue adds its policy).
/// Never throws.
core::Result<CreateUserInput, http::Error> ParseCreateUser(std::string_view body);
core::Result<UpdateUserInput, http::Error> ParseUpdateUser(std::string_view body);

}  // namespace myriad::users

#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace myriad::users {

/// Stored as smallint codes (migrations/0001_users.sql pins them with CHECKs).
enum class Role : std::int16_t { kUser = 0, kAdmin = 1 };
enum class Status : std::int16_t { kActive = 0, kDisabled = 1 };

/// "user" / "admin", "active" / "disabled": the JSON spelling.
std::string_view ToString(Role role);
std::string_view ToString(Status status);
std::optional<Role> ParseRole(std::string_view text);
std::optional<Status> ParseStatus(std::string_view text);

/// A users row as the API shows it (never the password hash).
struct User {
  std::int64_t id = 0;
  std::string email;
  std::string name;
  Role role = Role::kUser;
  Status status = Status::kActive;
  /// Whether the owner confirmed the address (POST /api/auth/verify-email); an email
  /// change clears it.
  bool email_verified = false;
  /// RFC 3339 UTC with microseconds, "2026-11-29T08:01:23.123456Z".
  std::string created_at;
  std::string updated_at;
  std::int32_t version = 1;
};

/// {"id":..,"email":..,"name":..,"role":..,"status":..,"email_verified":..,"created_at":..,
///  "updated_at":..,"version":..} with keys in that order: what the user and admins see.
std::string ToJson(const User& user);
/// Appends ToJson(user) to `out` (for list pages).
void AppendJson(std::string& out, const User& user);
/// {"id":..,"name":..,"created_at":..}: the public profile, what other users see.
std::string ToPublicJson(const User& user);

/// The strong ETag for a version: "\"v7\"" (quotes included).
std::string MakeETag(std::int32_t version);

/// What an If-Match header asks for.
struct IfMatch {
  bool any = false;  // "*"
  /// Versions named by the header's strong "vN" tags. Weak (W/) and foreign tags never
  /// match: If-Match uses the strong comparison (RFC 9110 13.1.1).
  std::vector<std::int32_t> versions;
  bool Matches(std::int32_t current) const;
};
/// Parses an If-Match value ("*", "\"v3\"", "\"v3\", \"v4\"", "W/\"v3\""). Never fails: a
/// header with no usable tag gives an IfMatch that matches nothing (so the caller answers
/// 412, as RFC 9110 asks when no current representation matches).
IfMatch ParseIfMatch(std::string_view header);

}  // namespace myriad::users

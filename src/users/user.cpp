#include "users/user.hpp"

#include <algorithm>
#include <array>
#include <boost/json/serialize.hpp>
#include <boost/json/string_view.hpp>
#include <charconv>
#include <limits>
#include <system_error>

namespace myriad::users {
namespace {

// Boost.JSON's serializer escapes '"', '\\' and every control character; everything
// else (valid UTF-8 from the database) passes through unchanged.
void AppendJsonString(std::string& out, std::string_view text) {
  out += boost::json::serialize(boost::json::string_view(text.data(), text.size()));
}

template <class Int>
void AppendInteger(std::string& out, Int value) {
  std::array<char, 24> buffer{};
  const auto [end, ec] = std::to_chars(buffer.data(), buffer.data() + buffer.size(), value);
  out.append(buffer.data(), end);
}

bool IsOws(char c) { return c == ' ' || c == '\t'; }

// etagc = %x21 / %x23-7E / obs-text (RFC 9110 8.8.3)
bool IsEtagChar(char c) {
  const auto u = static_cast<unsigned char>(c);
  return u == 0x21 || (u >= 0x23 && u != 0x7F);
}

// Only the exact spelling MakeETag produces names a version: the strong comparison is
// byte for byte, so "v07" or "v+7" is a foreign tag, not version 7.
std::optional<std::int32_t> VersionOfTag(std::string_view opaque) {
  if (opaque.size() < 2 || opaque[0] != 'v') return std::nullopt;
  const std::string_view digits = opaque.substr(1);
  if (digits[0] < '1' || digits[0] > '9') return std::nullopt;
  std::int32_t version = 0;
  const auto [end, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), version);
  if (ec != std::errc() || end != digits.data() + digits.size()) return std::nullopt;
  return version;
}

}  // namespace

std::string_view ToString(Role role) {
  switch (role) {
    case Role::kUser:
      return "user";
    case Role::kAdmin:
      return "admin";
  }
  return "user";
}

std::string_view ToString(Status status) {
  switch (status) {
    case Status::kActive:
      return "active";
    case Status::kDisabled:
      return "disabled";
  }
  return "active";
}

std::optional<Role> ParseRole(std::string_view text) {
  if (text == "user") return Role::kUser;
  if (text == "admin") return Role::kAdmin;
  return std::nullopt;
}

std::optional<Status> ParseStatus(std::string_view text) {
  if (text == "active") return Status::kActive;
  if (text == "disabled") return Status::kDisabled;
  return std::nullopt;
}

std::string ToJson(const User& user) {
  std::string out;
  AppendJson(out, user);
  return out;
}

void AppendJson(std::string& out, const User& user) {
  out += "{\"id\":";
  AppendInteger(out, user.id);
  out += ",\"email\":";
  AppendJsonString(out, user.email);
  out += ",\"name\":";
  AppendJsonString(out, user.name);
  out += ",\"role\":";
  AppendJsonString(out, ToString(user.role));
  out += ",\"status\":";
  AppendJsonString(out, ToString(user.status));
  out += user.email_verified ? ",\"email_verified\":true" : ",\"email_verified\":false";
  out += ",\"created_at\":";
  AppendJsonString(out, user.created_at);
  out += ",\"updated_at\":";
  AppendJsonString(out, user.updated_at);
  out += ",\"version\":";
  AppendInteger(out, user.version);
  out += '}';
}

std::string ToPublicJson(const User& user) {
  std::string out = "{\"id\":";
  AppendInteger(out, user.id);
  out += ",\"name\":";
  AppendJsonString(out, user.name);
  out += ",\"created_at\":";
  AppendJsonString(out, user.created_at);
  out += '}';
  return out;
}

std::string MakeETag(std::int32_t version) {
  std::string tag = "\"v";
  AppendInteger(tag, version);
  tag += '"';
  return tag;
}

bool IfMatch::Matches(std::int32_t current) const {
  return any || std::find(versions.begin(), versions.end(), current) != versions.end();
}

IfMatch ParseIfMatch(std::string_view header) {
  // If-Match = "*" / #entity-tag. A malformed header matches nothing as a whole: acting
  // on the part that happened to parse could let a write through that the client meant
  // to guard.
  IfMatch result;
  while (!header.empty() && IsOws(header.front())) header.remove_prefix(1);
  while (!header.empty() && IsOws(header.back())) header.remove_suffix(1);
  if (header == "*") {
    result.any = true;
    return result;
  }

  std::size_t pos = 0;
  const auto skip_ows = [&] {
    while (pos < header.size() && IsOws(header[pos])) ++pos;
  };
  bool expect_element = true;  // at the start or right after a comma
  while (pos < header.size()) {
    skip_ows();
    if (pos == header.size()) break;
    if (header[pos] == ',') {
      // Empty list elements are allowed (RFC 9110 5.6.1).
      ++pos;
      expect_element = true;
      continue;
    }
    if (!expect_element) return {};
    bool weak = false;
    if (header.substr(pos, 2) == "W/") {
      weak = true;
      pos += 2;
    }
    if (pos >= header.size() || header[pos] != '"') return {};
    const std::size_t open = ++pos;
    while (pos < header.size() && IsEtagChar(header[pos])) ++pos;
    if (pos >= header.size() || header[pos] != '"') return {};
    const std::string_view opaque = header.substr(open, pos - open);
    ++pos;
    if (!weak) {
      if (const auto version = VersionOfTag(opaque)) result.versions.push_back(*version);
    }
    expect_element = false;
  }
  return result;
}

}  // namespace myriad::users

#include "auth/authenticator.hpp"

#include <cctype>
#include <charconv>
#include <optional>
#include <utility>

#include "core/clock.hpp"

namespace myriad::auth {
namespace {

constexpr std::string_view kRoleAdmin = "admin";
constexpr std::string_view kRoleUser = "user";

// The one token of a Bearer header, spaces trimmed.
std::optional<std::string_view> BearerToken(std::string_view header) {
  if (!IsBearerScheme(header)) return std::nullopt;
  std::string_view rest = header.substr(std::string_view("bearer").size());
  while (!rest.empty() && rest.front() == ' ') rest.remove_prefix(1);
  while (!rest.empty() && rest.back() == ' ') rest.remove_suffix(1);
  if (rest.empty() || rest.find(' ') != std::string_view::npos) return std::nullopt;
  return rest;
}

std::optional<Principal> ToPrincipal(const VerifiedClaims& claims) {
  Principal p;
  const auto* end = claims.subject.data() + claims.subject.size();
  const auto [ptr, ec] = std::from_chars(claims.subject.data(), end, p.user_id);
  if (ec != std::errc{} || ptr != end || p.user_id < 1) return std::nullopt;
  if (claims.role != kRoleAdmin && claims.role != kRoleUser) return std::nullopt;
  p.admin = claims.role == kRoleAdmin;
  p.token_id = claims.token_id;
  return p;
}

}  // namespace

Authenticator::Authenticator(KeySet keys, Options options, std::size_t workers)
    : keys_(std::move(keys)), options_(std::move(options)) {
  caches_.reserve(workers);
  for (std::size_t i = 0; i < workers; ++i) {
    caches_.push_back(std::make_unique<TokenCache>(options_.cache_entries_per_thread));
  }
}

std::string Authenticator::Issue(std::int64_t user_id, bool admin, std::int64_t now) const {
  TokenClaims claims;
  claims.subject = std::to_string(user_id);
  claims.role = std::string(admin ? kRoleAdmin : kRoleUser);
  claims.issuer = options_.issuer;
  claims.audience = options_.audience;
  claims.issued_at = now;
  claims.expires_at = now + options_.access_ttl.count();
  return auth::Issue(claims, keys_);
}

std::optional<Principal> Authenticator::Known(std::size_t worker, std::string_view authorization,
                                              std::int64_t now) {
  const auto token = BearerToken(authorization);
  if (!token) return std::nullopt;
  if (const auto* hit = caches_.at(worker)->Find(*token, now)) return ToPrincipal(*hit);
  return std::nullopt;
}

core::Result<Principal, AuthError> Authenticator::Authenticate(std::size_t worker,
                                                               std::string_view authorization,
                                                               std::int64_t now) {
  if (authorization.empty()) return core::Unexpected<AuthError>{AuthError{AuthFailure::kMissing}};
  const auto token = BearerToken(authorization);
  if (!token) return core::Unexpected<AuthError>{AuthError{AuthFailure::kMalformed}};
  TokenCache& cache = *caches_.at(worker);
  if (const auto* hit = cache.Find(*token, now)) {
    if (auto principal = ToPrincipal(*hit)) return *principal;
  }
  auto verified = Verify(*token, now, options_.issuer, options_.audience, keys_);
  if (!verified) {
    return core::Unexpected<AuthError>{AuthError{AuthFailure::kInvalid, verified.error()}};
  }
  auto principal = ToPrincipal(*verified);
  if (!principal) {
    return core::Unexpected<AuthError>{AuthError{AuthFailure::kInvalid, TokenError::kBadClaims}};
  }
  cache.Put(*token, *verified, now);
  return *principal;
}

// RFC 9110 11.1: the scheme is case-insensitive; one or more spaces before the token.
bool IsBearerScheme(std::string_view authorization) {
  constexpr std::string_view kScheme = "bearer";
  if (authorization.size() <= kScheme.size() || authorization[kScheme.size()] != ' ') {
    return false;
  }
  for (std::size_t i = 0; i < kScheme.size(); ++i) {
    const auto c = static_cast<char>(std::tolower(static_cast<unsigned char>(authorization[i])));
    if (c != kScheme[i]) return false;
  }
  return true;
}

std::int64_t UnixNow() { return core::WallClockSeconds(); }

}  // namespace myriad::auth

#pragma once

#include <chrono>
#include <vector>

#include "http/handler.hpp"
#include "net/trusted_proxies.hpp"

namespace myriad::db {
class PgPool;
}
namespace myriad::auth {
class Authenticator;
class PasswordHasher;
}  // namespace myriad::auth
namespace myriad::users {
class UserCache;
}

namespace myriad::accounts {

class AccessControl;
class LoginGuard;

/// Registration, login, tokens and the caller's own account:
///   POST /api/auth/register          {email, password, name} -> 201 user; 409 taken
///   POST /api/auth/login             {email, password} -> {access_token, token_type,
///                                    expires_in, refresh_token}; 401 (one answer for an
///                                    unknown email and a wrong password), 403 disabled,
///                                    429 + Retry-After while the account is locked out
///   POST /api/auth/refresh           {refresh_token} -> a new pair (rotation; a reused
///                                    token revokes its whole family)
///   POST /api/auth/logout            {refresh_token} -> 204, that session is dead
///   POST /api/auth/verify-email      {token} -> 200 user
///   POST /api/auth/forgot-password   {email} -> 202 always
///   POST /api/auth/reset-password    {token, new_password} -> 204, every session ended
///   GET  /api/users/me, PATCH /api/users/me {name, email}
///   POST /api/users/me/password      {current_password, new_password} -> a new pair,
///                                    every other session ended
///   GET  /api/admin/audit            ?before=&limit= (admin)
///   GET  /.well-known/jwks.json
/// Auth answers carry Cache-Control: no-store; 401s carry WWW-Authenticate. Hashing goes
/// through the bounded PasswordHasher: when its queue is full these routes answer 503 with
/// Retry-After and nothing else is slowed.
class AccountsApi {
 public:
  struct Options {
    std::chrono::milliseconds statement_timeout{5'000};
    std::chrono::seconds refresh_ttl{30LL * 24 * 3600};
    std::chrono::seconds verify_ttl{24 * 3600};
    std::chrono::seconds reset_ttl{3600};
    net::TrustedProxies trusted_proxies;
  };

  /// Everything referenced must outlive the routes; `cache` may be null. Authentication,
  /// authorization and rate limits come from `access` (accounts/access.hpp).
  AccountsApi(const std::vector<db::PgPool*>& pools, auth::PasswordHasher& hasher,
              auth::Authenticator& authenticator, LoginGuard& guard, Options options,
              users::UserCache* cache, const AccessControl& access);

  void Register(http::Routes& routes) const;

 private:
  const std::vector<db::PgPool*>& pools_;
  auth::PasswordHasher& hasher_;
  auth::Authenticator& authenticator_;
  LoginGuard& guard_;
  Options options_;
  users::UserCache* cache_;
  const AccessControl& access_;
};

}  // namespace myriad::accounts

#pragma once

#include <chrono>
#include <vector>

#include "http/handler.hpp"
#include "net/trusted_proxies.hpp"
#include "users/list_query.hpp"

namespace myriad::db {
class PgPool;
}
namespace myriad::auth {
class PasswordHasher;
}
namespace myriad::accounts {
class AccessControl;
}

namespace myriad::users {

class UserCache;

/// The /api/users resource:
///   POST   /api/users         create: 201 + Location + ETag; 415, 400, 422, 409
///   GET    /api/users         list/search: ?limit=&cursor=&q= -> {"items", "next_cursor"}
///   GET    /api/users/{id}    200 + ETag (304 on a matching If-None-Match), 404
///   PATCH  /api/users/{id}    partial update; If-Match -> 412 when stale; 415, 400, 422, 409
///   DELETE /api/users/{id}    204; If-Match honoured; 404
/// Database trouble answers 503 (pool exhausted or database down, with Retry-After) or 504
/// (out of time, query cancelled); see api/db_problem.hpp.
///
/// Reads of one user go through `cache` when there is one (users/user_cache.hpp); every
/// successful write invalidates the user there before answering. Reads are in rate-limit
/// route group "users-read" and writes in "users-write".
///
/// Who may do what is accounts/access.cpp's rule table: a user reads their own record and
/// others' public profiles (id, name, created_at); admins do everything, except demote,
/// disable or delete themselves (409). Each write adds an audit_events row in the same
/// statement; a new password or a disabled account also ends the user's sessions.
class UsersApi {
 public:
  struct Options {
    /// Each query's limit; the request's own deadline cuts it shorter.
    std::chrono::milliseconds statement_timeout{5'000};
    /// Whose X-Forwarded-For names the client, for audit records.
    net::TrustedProxies trusted_proxies;
  };

  /// `pools[w]` is io thread w's pool; the vector must be filled before requests arrive
  /// and outlive the routes. `hasher` hashes passwords given on create/update. `cache` may
  /// be null. Everything referenced must outlive the routes.
  UsersApi(const std::vector<db::PgPool*>& pools, const CursorCodec& cursors,
           auth::PasswordHasher& hasher, Options options, UserCache* cache,
           const accounts::AccessControl& access);

  void Register(http::Routes& routes) const;

 private:
  const std::vector<db::PgPool*>& pools_;
  const CursorCodec& cursors_;
  auth::PasswordHasher& hasher_;
  Options options_;
  UserCache* cache_;
  const accounts::AccessControl& access_;
};

}  // namespace myriad::users

#pragma once

#include <chrono>
#include <vector>

#include "http/handler.hpp"
#include "users/list_query.hpp"

namespace myriad::db {
class PgPool;
}
namespace myriad::auth {
class PasswordHasher;
}

namespace myriad::users {

/// The /api/users resource:
///   POST   /api/users         create: 201 + Location + ETag; 415, 400, 422, 409
///   GET    /api/users         list/search: ?limit=&cursor=&q= -> {"items", "next_cursor"}
///   GET    /api/users/{id}    200 + ETag (304 on a matching If-None-Match), 404
///   PATCH  /api/users/{id}    partial update; If-Match -> 412 when stale; 415, 400, 422, 409
///   DELETE /api/users/{id}    204; If-Match honoured; 404
/// Database trouble answers 503 (pool exhausted or database down, with Retry-After) or 504
/// (out of time, query cancelled); see api/db_problem.hpp.
///
/// Authorization arrives with the accounts issue: every handler takes the request, which
/// will carry the caller's identity, and the rule table will sit in front of these routes.
class UsersApi {
 public:
  struct Options {
    /// Each query's limit; the request's own deadline cuts it shorter.
    std::chrono::milliseconds statement_timeout{5'000};
  };

  /// `pools[w]` is io thread w's pool; the vector must be filled before requests arrive
  /// and outlive the routes. `hasher` hashes passwords given on create/update.
  UsersApi(const std::vector<db::PgPool*>& pools, const CursorCodec& cursors,
           auth::PasswordHasher& hasher, Options options);

  void Register(http::Routes& routes) const;

 private:
  const std::vector<db::PgPool*>& pools_;
  const CursorCodec& cursors_;
  auth::PasswordHasher& hasher_;
  Options options_;
};

}  // namespace myriad::users

#pragma once

#include <boost/asio/awaitable.hpp>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/result.hpp"
#include "db/error.hpp"
#include "db/pg_pool.hpp"
#include "users/list_query.hpp"
#include "users/user.hpp"
#include "users/user_input.hpp"

namespace myriad::users {

/// Why a store call did not do what was asked.
enum class StoreFailure {
  kNotFound,        // no user with that id
  kDuplicateEmail,  // another user has that email (unique index users_email_key)
  kStale,           // If-Match named a version that is no longer current
  kDatabase,        // see `db`
};
struct StoreError {
  StoreFailure failure = StoreFailure::kDatabase;
  db::DbError db;
};
template <class T>
using StoreResult = core::Result<T, StoreError>;

/// Who changes a user, for the audit_events row each write adds in the same statement.
struct AuditNote {
  std::int64_t actor_id = 0;  // 0: nobody (the system, `myriad admin create`)
  std::string action;         // "user.created", "user.updated", "user.deleted"
  std::string ip;             // "" when unknown
  std::string request_id;     // "" when none
  std::string detail;         // a JSON object as text, "" for none
};

/// One page of GET /api/users.
struct Page {
  std::vector<User> users;
  /// More rows follow the last one (the page was fetched with limit + 1).
  bool more = false;
};

/// The users table through one io thread's pool. Cheap to construct per request. Every
/// query is parameterised; statements are named (prepared once per connection) except
/// the trigram step of a search, which goes out unnamed so PostgreSQL plans it for the
/// actual `q` (user_store.cpp explains the two steps of a search).
class UserStore {
 public:
  using Clock = db::PgPool::Clock;

  explicit UserStore(db::PgPool& pool) : pool_(pool) {}

  /// The names of the prepared statements, for DbMetrics.
  static std::vector<std::string> StatementNames();

  boost::asio::awaitable<StoreResult<User>> Get(std::int64_t id, Clock::time_point deadline);
  /// `password_hash`: a PHC string, or "!" for an account that cannot log in yet.
  boost::asio::awaitable<StoreResult<User>> Create(const CreateUserInput& input,
                                                   std::string password_hash,
                                                   const AuditNote& audit,
                                                   Clock::time_point deadline);
  /// Changes the fields present in `input` (and the hash when given), bumps version and
  /// updated_at. With `if_match`, only when the current version matches (else kStale).
  boost::asio::awaitable<StoreResult<User>> Update(std::int64_t id, const UpdateUserInput& input,
                                                   std::optional<std::string> password_hash,
                                                   std::optional<IfMatch> if_match,
                                                   const AuditNote& audit,
                                                   Clock::time_point deadline);
  boost::asio::awaitable<StoreResult<void>> Delete(std::int64_t id, std::optional<IfMatch> if_match,
                                                   const AuditNote& audit,
                                                   Clock::time_point deadline);
  /// Rows with id > query.after_id in id order, `q` matched as a substring of
  /// "email name" (case-insensitive), at most query.limit of them.
  boost::asio::awaitable<StoreResult<Page>> List(const ListQuery& query,
                                                 Clock::time_point deadline);

 private:
  db::PgPool& pool_;
};

}  // namespace myriad::users

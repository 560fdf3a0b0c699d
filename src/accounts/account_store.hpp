#pragma once

#include <boost/asio/awaitable.hpp>
#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "db/pg_pool.hpp"
#include "users/user.hpp"
#include "users/user_input.hpp"
#include "users/user_store.hpp"

namespace myriad::accounts {

using users::StoreFailure;
using users::StoreResult;

/// A user with what login needs besides the public row.
struct Credentials {
  users::User user;
  std::string password_hash;  // a PHC string, or "!" (cannot log in)
};

/// An e-mail to send, written to the outbox in the transaction that caused it (a later
/// issue delivers it). `kind`: "verify_email", "reset_password", "password_changed",
/// "email_changed".
struct OutboxMessage {
  std::string kind;
  std::string recipient;
  std::string subject;
  std::string body;  // plain text; may carry a raw single-use token (never stored elsewhere)
};
struct OutboxEntry {
  std::int64_t id = 0;
  std::string created_at;  // RFC 3339 UTC
  std::string kind;
  std::string recipient;
  std::string subject;
  std::string body;
  std::optional<std::string> sent_at;
};

/// One audit_events row to write. Ids 0 mean "none" (anonymous actor, no target).
struct AuditEvent {
  std::int64_t actor_id = 0;
  std::string action;  // "login.succeeded", "login.failed", "password.changed", ...
  std::int64_t target_id = 0;
  std::string ip;          // textual address, "" if unknown
  std::string request_id;  // "" if none
  std::string detail;      // a JSON object as text, "" for none
};
struct AuditRecord {
  std::int64_t id = 0;
  std::string at;  // RFC 3339 UTC
  std::optional<std::int64_t> actor_id;
  std::string action;
  std::optional<std::int64_t> target_id;
  std::string ip;
  std::string request_id;
  std::string detail;  // JSON text ("{}" when none)
};

/// A refresh-token session to create. token_hash is SHA-256 of the opaque token (32 bytes).
struct NewSession {
  std::int64_t user_id = 0;
  std::string token_hash;
  std::chrono::seconds lifetime{0};
  std::string user_agent;  // truncated by the store to 256 bytes
  std::string ip;
};

/// What RotateSession found.
enum class RotateOutcome {
  kRotated,   // the old token is now spent; the new one is live in the same family
  kReused,    // the token was already spent or revoked: its whole family is now revoked
  kExpired,   // past its expiry (nothing changed)
  kUnknown,   // no such token
  kInactive,  // the user is disabled or gone: the family is revoked
};
struct Rotation {
  RotateOutcome outcome = RotateOutcome::kUnknown;
  std::optional<users::User> user;  // set for kRotated
  std::int64_t family_id = 0;
};

/// Single-use tokens sent by e-mail.
enum class TokenPurpose : std::int16_t { kVerifyEmail = 0, kResetPassword = 1 };

/// The accounts tables (migrations/0003_accounts.sql) through one io thread's pool. Cheap
/// to construct per request; every query parameterised. Multi-step changes run in one
/// transaction, outbox rows and audit rows included, so they happen all or not at all.
/// Errors: StoreFailure::kNotFound, kDuplicateEmail, kDatabase as UserStore.
class AccountStore {
 public:
  using Clock = db::PgPool::Clock;

  explicit AccountStore(db::PgPool& pool) : pool_(pool) {}

  /// Names of the prepared statements, for DbMetrics.
  static std::vector<std::string> StatementNames();

  /// By normalised email / by id; kNotFound when absent.
  boost::asio::awaitable<StoreResult<Credentials>> FindByEmail(const std::string& email,
                                                               Clock::time_point deadline);
  boost::asio::awaitable<StoreResult<Credentials>> FindById(std::int64_t id,
                                                            Clock::time_point deadline);

  /// Creates the user (kDuplicateEmail), a verify-email token (hash, 24 h) and the outbox
  /// message, and audits "user.registered", in one transaction.
  boost::asio::awaitable<StoreResult<users::User>> Register(const users::CreateUserInput& input,
                                                            std::string password_hash,
                                                            std::string verify_token_hash,
                                                            std::chrono::seconds verify_lifetime,
                                                            OutboxMessage message, AuditEvent audit,
                                                            Clock::time_point deadline);

  /// Replaces the hash only if it is still `old_hash` (a rehash after login).
  boost::asio::awaitable<StoreResult<void>> Rehash(std::int64_t user_id,
                                                   const std::string& old_hash,
                                                   std::string new_hash,
                                                   Clock::time_point deadline);

  /// A new session in a new family; returns its family id.
  boost::asio::awaitable<StoreResult<std::int64_t>> CreateSession(const NewSession& session,
                                                                  Clock::time_point deadline);
  /// Exchanges the session with `old_hash` for a new one (same family, `fresh` gives hash,
  /// lifetime, agent, ip) in one transaction with the old row locked, so two concurrent
  /// refreshes with one token cannot both succeed (the second sees kReused).
  boost::asio::awaitable<StoreResult<Rotation>> RotateSession(const std::string& old_hash,
                                                              const NewSession& fresh,
                                                              Clock::time_point deadline);
  /// Revokes the family of the session with `token_hash` if it belongs to `user_id` (0: any
  /// user). True if something was revoked.
  boost::asio::awaitable<StoreResult<bool>> RevokeFamily(const std::string& token_hash,
                                                         std::int64_t user_id,
                                                         Clock::time_point deadline);
  /// Revokes every live session of the user except family `keep_family` (0: none);
  /// returns how many.
  boost::asio::awaitable<StoreResult<std::int64_t>> RevokeUserSessions(std::int64_t user_id,
                                                                       std::int64_t keep_family,
                                                                       Clock::time_point deadline);

  /// New hash, every other session revoked (all but `keep_family`), an outbox message and
  /// an audit row, in one transaction. Returns the updated user (version bumped).
  boost::asio::awaitable<StoreResult<users::User>> ChangePassword(
      std::int64_t user_id, std::string new_hash, std::int64_t keep_family, OutboxMessage message,
      AuditEvent audit, Clock::time_point deadline);

  /// Stores a single-use token (hash) for `purpose` and its outbox message in one
  /// transaction; earlier unused tokens of that user and purpose are voided.
  boost::asio::awaitable<StoreResult<void>> IssueToken(std::int64_t user_id, TokenPurpose purpose,
                                                       std::string token_hash,
                                                       std::chrono::seconds lifetime,
                                                       OutboxMessage message,
                                                       Clock::time_point deadline);
  /// Marks an e-mail verified by a verify token: kNotFound when the token is unknown, used,
  /// expired, or was issued for an address the user no longer has. Audits.
  boost::asio::awaitable<StoreResult<users::User>> VerifyEmail(const std::string& token_hash,
                                                               AuditEvent audit,
                                                               Clock::time_point deadline);
  /// Consumes a reset token, sets the new hash, revokes every session, audits: one
  /// transaction. kNotFound when the token is unknown, used or expired.
  boost::asio::awaitable<StoreResult<users::User>> ResetPassword(const std::string& token_hash,
                                                                 std::string new_hash,
                                                                 AuditEvent audit,
                                                                 Clock::time_point deadline);

  /// Changes the user's email (kDuplicateEmail), clears its verification, voids pending
  /// verify tokens, issues a new one with its outbox message, audits: one transaction.
  boost::asio::awaitable<StoreResult<users::User>> ChangeEmail(
      std::int64_t user_id, std::string email, std::string verify_token_hash,
      std::chrono::seconds verify_lifetime, OutboxMessage message, AuditEvent audit,
      Clock::time_point deadline);

  boost::asio::awaitable<StoreResult<void>> Audit(const AuditEvent& event,
                                                  Clock::time_point deadline);
  /// Audit rows with id < before_id (0: from the newest), newest first, at most `limit`.
  boost::asio::awaitable<StoreResult<std::vector<AuditRecord>>> ListAudit(
      std::int64_t before_id, std::size_t limit, Clock::time_point deadline);
  /// Outbox rows, newest first, at most `limit`.
  boost::asio::awaitable<StoreResult<std::vector<OutboxEntry>>> ListOutbox(
      std::size_t limit, Clock::time_point deadline);

 private:
  db::PgPool& pool_;
};

}  // namespace myriad::accounts

#include "accounts/account_store.hpp"

#include <cstddef>
#include <limits>
#include <string_view>
#include <utility>

#include "db/params.hpp"
#include "db/pg_result.hpp"

namespace myriad::accounts {
namespace {

namespace asio = boost::asio;
using users::StoreError;
using users::User;

// The same text as UserStore's column list (users/user_store.cpp keeps it private), so a
// user read here renders exactly as one read there: timestamps leave the database already
// in RFC 3339 UTC form.
#define MYRIAD_ACCOUNTS_USER_COLUMNS                                                            \
  "id, email, name, role, status, "                                                             \
  "to_char(created_at AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.US\"Z\"') AS created_at, " \
  "to_char(updated_at AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.US\"Z\"') AS updated_at, " \
  "version, email_verified_at IS NOT NULL AS email_verified"
#define MYRIAD_ACCOUNTS_RFC3339(column) \
  "to_char(" column " AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.US\"Z\"')"

// Parameters travel as text and text cannot hold the NUL bytes a raw SHA-256 may contain,
// so every token hash goes as hex and the server decodes it.
const db::Statement kFindByEmail{"accounts_find_by_email",
                                 "SELECT " MYRIAD_ACCOUNTS_USER_COLUMNS
                                 ", password_hash FROM users WHERE email = $1"};
const db::Statement kFindById{"accounts_find_by_id", "SELECT " MYRIAD_ACCOUNTS_USER_COLUMNS
                                                     ", password_hash FROM users WHERE id = $1"};
const db::Statement kGetUser{"accounts_get_user",
                             "SELECT " MYRIAD_ACCOUNTS_USER_COLUMNS " FROM users WHERE id = $1"};
const db::Statement kInsertUser{
    "accounts_insert_user",
    "INSERT INTO users (email, name, password_hash, role, status) VALUES ($1, $2, $3, $4, $5) "
    "RETURNING " MYRIAD_ACCOUNTS_USER_COLUMNS,
    db::kWrites};
// A rehash is invisible in the API representation, so it leaves version (the ETag) alone:
// bumping it would fail a concurrent editor's If-Match for no visible change.
const db::Statement kRehash{
    "accounts_rehash",
    "UPDATE users SET password_hash = $3 WHERE id = $1 AND password_hash = $2 RETURNING id",
    db::kWrites};
const db::Statement kSetPassword{
    "accounts_set_password",
    "UPDATE users SET password_hash = $2, updated_at = now(), version = version + 1 "
    "WHERE id = $1 RETURNING " MYRIAD_ACCOUNTS_USER_COLUMNS,
    db::kWrites};
// Only while the address is still the one the token was sent to ($2).
const db::Statement kResetPassword{
    "accounts_reset_password",
    "UPDATE users SET password_hash = $3, updated_at = now(), version = version + 1 "
    "WHERE id = $1 AND email = $2 RETURNING " MYRIAD_ACCOUNTS_USER_COLUMNS,
    db::kWrites};
const db::Statement kSetEmail{
    "accounts_set_email",
    "UPDATE users SET email = $2, email_verified_at = NULL, updated_at = now(), "
    "version = version + 1 WHERE id = $1 RETURNING " MYRIAD_ACCOUNTS_USER_COLUMNS,
    db::kWrites};
const db::Statement kMarkVerified{
    "accounts_mark_verified",
    "UPDATE users SET email_verified_at = now(), updated_at = now(), version = version + 1 "
    "WHERE id = $1 AND email = $2 RETURNING " MYRIAD_ACCOUNTS_USER_COLUMNS,
    db::kWrites};

// The first session of a family is its own family: its id is drawn from the identity
// sequence first so that one INSERT can write it twice.
const db::Statement kCreateSession{
    "accounts_create_session",
    "WITH next AS (SELECT nextval(pg_get_serial_sequence('sessions', 'id')) AS id) "
    "INSERT INTO sessions (id, family_id, user_id, token_hash, expires_at, user_agent, ip) "
    "OVERRIDING SYSTEM VALUE SELECT next.id, next.id, $1, decode($2, 'hex'), "
    "now() + $3::bigint * interval '1 second', $4, NULLIF($5, '') FROM next "
    "RETURNING family_id",
    db::kWrites};
const db::Statement kInsertSessionInFamily{
    "accounts_insert_session_in_family",
    "INSERT INTO sessions (family_id, user_id, token_hash, expires_at, user_agent, ip) "
    "VALUES ($1, $2, decode($3, 'hex'), now() + $4::bigint * interval '1 second', $5, "
    "NULLIF($6, '')) RETURNING id",
    db::kWrites};
// The row lock makes a second refresh with the same token wait for the first and then see
// the row it left behind (READ COMMITTED re-reads a locked row after the wait).
const db::Statement kLockSession{
    "accounts_lock_session",
    "SELECT id, family_id, user_id, rotated_at IS NOT NULL OR revoked_at IS NOT NULL, "
    "expires_at <= now() FROM sessions WHERE token_hash = decode($1, 'hex') FOR UPDATE",
    db::kWrites};
const db::Statement kSpendSession{
    "accounts_spend_session",
    "UPDATE sessions SET rotated_at = now(), last_used_at = now() WHERE id = $1", db::kWrites};
const db::Statement kRevokeFamilyById{
    "accounts_revoke_family_by_id",
    "UPDATE sessions SET revoked_at = now() WHERE family_id = $1 AND revoked_at IS NULL",
    db::kWrites};
const db::Statement kRevokeFamilyByToken{
    "accounts_revoke_family_by_token",
    "UPDATE sessions SET revoked_at = now() WHERE revoked_at IS NULL AND family_id = "
    "(SELECT family_id FROM sessions WHERE token_hash = decode($1, 'hex') "
    "AND ($2::bigint = 0 OR user_id = $2::bigint))",
    db::kWrites};
// Live sessions only: spent and expired rows can no longer be refreshed, and leaving them
// out keeps the count meaningful.
const db::Statement kRevokeUserSessions{
    "accounts_revoke_user_sessions",
    "UPDATE sessions SET revoked_at = now() WHERE user_id = $1 AND revoked_at IS NULL "
    "AND rotated_at IS NULL AND family_id <> $2 AND expires_at > now()",
    db::kWrites};

const db::Statement kVoidTokens{
    "accounts_void_tokens",
    "UPDATE account_tokens SET used_at = now() WHERE user_id = $1 AND purpose = $2 "
    "AND used_at IS NULL",
    db::kWrites};
const db::Statement kVoidAllTokens{
    "accounts_void_all_tokens",
    "UPDATE account_tokens SET used_at = now() WHERE user_id = $1 AND used_at IS NULL",
    db::kWrites};
// The address is read from the row in the same transaction, so the token names the address
// it is actually sent to.
const db::Statement kInsertToken{
    "accounts_insert_token",
    "INSERT INTO account_tokens (token_hash, user_id, purpose, email, expires_at) "
    "SELECT decode($1, 'hex'), id, $2, email, now() + $3::bigint * interval '1 second' "
    "FROM users WHERE id = $4",
    db::kWrites};
const db::Statement kConsumeToken{
    "accounts_consume_token",
    "UPDATE account_tokens SET used_at = now() WHERE token_hash = decode($1, 'hex') "
    "AND purpose = $2 AND used_at IS NULL AND expires_at > now() RETURNING user_id, email",
    db::kWrites};

const db::Statement kInsertOutbox{
    "accounts_insert_outbox",
    "INSERT INTO outbox (kind, recipient, subject, body) VALUES ($1, $2, $3, $4)", db::kWrites};
const db::Statement kListOutbox{
    "accounts_list_outbox",
    "SELECT id, " MYRIAD_ACCOUNTS_RFC3339("created_at") ", kind, recipient, subject, body, "
    MYRIAD_ACCOUNTS_RFC3339("sent_at") " FROM outbox ORDER BY id DESC LIMIT $1"};
const db::Statement kInsertAudit{
    "accounts_insert_audit",
    "INSERT INTO audit_events (actor_id, action, target_id, ip, request_id, detail) "
    "VALUES (NULLIF($1::bigint, 0), $2, NULLIF($3::bigint, 0), NULLIF($4, ''), NULLIF($5, ''), "
    "COALESCE(NULLIF($6, ''), '{}')::jsonb)",
    db::kWrites};
// Keyset on the primary key, walked backwards: no OFFSET, no index on `at`.
const db::Statement kListAudit{
    "accounts_list_audit",
    "SELECT id, " MYRIAD_ACCOUNTS_RFC3339("at") ", actor_id, action, target_id, "
    "COALESCE(ip, ''), COALESCE(request_id, ''), detail::text FROM audit_events "
    "WHERE id < $1 ORDER BY id DESC LIMIT $2"};

#undef MYRIAD_ACCOUNTS_RFC3339
#undef MYRIAD_ACCOUNTS_USER_COLUMNS

constexpr std::string_view kUniqueViolation = "23505";
constexpr std::string_view kForeignKeyViolation = "23503";
constexpr std::string_view kEmailIndex = "users_email_key";
constexpr std::size_t kMaxUserAgentBytes = 256;

core::Unexpected<StoreError> Fail(StoreFailure failure, db::DbError error = {}) {
  return core::Unexpected<StoreError>{StoreError{failure, std::move(error)}};
}
core::Unexpected<StoreError> Fail(db::DbError error) {
  return Fail(StoreFailure::kDatabase, std::move(error));
}
// Only the email index means kDuplicateEmail; a clash on a token hash is a database error.
core::Unexpected<StoreError> FailWrite(db::DbError error) {
  if (error.Is(kUniqueViolation) && error.message.find(kEmailIndex) != std::string::npos) {
    return Fail(StoreFailure::kDuplicateEmail, std::move(error));
  }
  return Fail(std::move(error));
}

std::string Hex(std::string_view bytes) {
  constexpr std::string_view kDigits = "0123456789abcdef";
  std::string out;
  out.reserve(bytes.size() * 2);
  for (const char c : bytes) {
    const auto byte = static_cast<unsigned char>(c);
    out += kDigits[byte >> 4U];
    out += kDigits[byte & 0xFU];
  }
  return out;
}

// User-Agent is untrusted and is stored as text: bytes outside printable ASCII would make
// the server reject the whole statement (invalid UTF-8), so they become '?'. HTTP allows
// only visible ASCII there anyway.
std::string CleanUserAgent(std::string_view agent) {
  std::string out(agent.substr(0, kMaxUserAgentBytes));
  for (char& c : out) {
    if (c < 0x20 || c > 0x7E) {
      c = '?';
    }
  }
  return out;
}

std::int64_t PurposeCode(TokenPurpose purpose) { return static_cast<std::int64_t>(purpose); }

db::Params OutboxParams(const OutboxMessage& message) {
  return db::Params::Of(message.kind, message.recipient, message.subject, message.body);
}
db::Params AuditParams(const AuditEvent& event) {
  return db::Params::Of(event.actor_id, event.action, event.target_id, event.ip, event.request_id,
                        event.detail);
}
db::Params TokenParams(const std::string& token_hash, TokenPurpose purpose,
                       std::chrono::seconds lifetime, std::int64_t user_id) {
  return db::Params::Of(Hex(token_hash), PurposeCode(purpose),
                        static_cast<std::int64_t>(lifetime.count()), user_id);
}

// Reads cells of one row; the first bad cell wins, the rest read as empty values and are
// thrown away with it.
class RowReader {
 public:
  RowReader(const db::PgResult& result, int row) : result_(result), row_(row) {}

  std::string Text(int column) {
    auto value = result_.GetString(row_, column);
    if (value) {
      return std::string(*value);
    }
    Keep(std::move(value).error());
    return {};
  }
  std::optional<std::string> OptionalText(int column) {
    if (result_.IsNull(row_, column)) {
      return std::nullopt;
    }
    return Text(column);
  }
  std::int64_t Number(int column) {
    auto value = result_.GetInt64(row_, column);
    if (value) {
      return *value;
    }
    Keep(std::move(value).error());
    return 0;
  }
  std::optional<std::int64_t> OptionalNumber(int column) {
    if (result_.IsNull(row_, column)) {
      return std::nullopt;
    }
    return Number(column);
  }
  bool Flag(int column) {
    auto value = result_.GetBool(row_, column);
    if (value) {
      return *value;
    }
    Keep(std::move(value).error());
    return false;
  }
  std::optional<db::DbError>& error() { return error_; }

 private:
  void Keep(db::DbError error) {
    if (!error_) {
      error_ = std::move(error);
    }
  }
  const db::PgResult& result_;
  int row_;
  std::optional<db::DbError> error_;
};

// Columns 0..7 as MYRIAD_ACCOUNTS_USER_COLUMNS lists them.
User ReadUserColumns(RowReader& reader) {
  User user;
  user.id = reader.Number(0);
  user.email = reader.Text(1);
  user.name = reader.Text(2);
  user.role = reader.Number(3) == static_cast<std::int64_t>(users::Role::kAdmin)
                  ? users::Role::kAdmin
                  : users::Role::kUser;
  user.status = reader.Number(4) == static_cast<std::int64_t>(users::Status::kDisabled)
                    ? users::Status::kDisabled
                    : users::Status::kActive;
  user.created_at = reader.Text(5);
  user.updated_at = reader.Text(6);
  user.version = static_cast<std::int32_t>(reader.Number(7));
  user.email_verified = reader.Flag(8);
  return user;
}

// Every row of `result` through `read`; the first bad cell fails the whole list.
template <class T, class Read>
StoreResult<std::vector<T>> ReadRows(const db::PgResult& result, const Read& read) {
  std::vector<T> rows;
  rows.reserve(static_cast<std::size_t>(result.rows()));
  for (int row = 0; row < result.rows(); ++row) {
    RowReader reader(result, row);
    T value = read(reader);
    if (reader.error()) return Fail(std::move(*reader.error()));
    rows.push_back(std::move(value));
  }
  return rows;
}

StoreResult<User> ReadUser(const db::PgResult& result) {
  if (result.rows() == 0) {
    return Fail(StoreFailure::kNotFound);
  }
  RowReader reader(result, 0);
  User user = ReadUserColumns(reader);
  if (reader.error()) {
    return Fail(std::move(*reader.error()));
  }
  return user;
}

StoreResult<Credentials> ReadCredentials(const db::PgResult& result) {
  if (result.rows() == 0) {
    return Fail(StoreFailure::kNotFound);
  }
  RowReader reader(result, 0);
  Credentials credentials;
  credentials.user = ReadUserColumns(reader);
  credentials.password_hash = reader.Text(9);
  if (reader.error()) {
    return Fail(std::move(*reader.error()));
  }
  return credentials;
}

// The session row that RotateSession locked.
struct LockedSession {
  std::int64_t id = 0;
  std::int64_t family_id = 0;
  std::int64_t user_id = 0;
  bool spent = false;
  bool expired = false;
};

StoreResult<LockedSession> ReadLockedSession(const db::PgResult& result) {
  RowReader reader(result, 0);
  LockedSession session;
  session.id = reader.Number(0);
  session.family_id = reader.Number(1);
  session.user_id = reader.Number(2);
  session.spent = reader.Flag(3);
  session.expired = reader.Flag(4);
  if (reader.error()) {
    return Fail(std::move(*reader.error()));
  }
  return session;
}

// The token row that a consume returned: whose it is and which address it was sent to.
struct ConsumedToken {
  std::int64_t user_id = 0;
  std::string email;
};

StoreResult<ConsumedToken> ReadConsumedToken(const db::PgResult& result) {
  if (result.rows() == 0) {
    return Fail(StoreFailure::kNotFound);
  }
  RowReader reader(result, 0);
  ConsumedToken token;
  token.user_id = reader.Number(0);
  token.email = reader.Text(1);
  if (reader.error()) {
    return Fail(std::move(*reader.error()));
  }
  return token;
}

// Audit rows written by a store call name the user the call was about when the caller
// could not know its id yet (registration).
AuditEvent AboutUser(AuditEvent event, std::int64_t user_id) {
  if (event.actor_id == 0) {
    event.actor_id = user_id;
  }
  if (event.target_id == 0) {
    event.target_id = user_id;
  }
  return event;
}

// Outcomes that change nothing end the transaction with a ROLLBACK, which hands the
// connection back; merely destroying the transaction would close the connection. A failing
// ROLLBACK changes no outcome: the server rolls back when the connection goes.
asio::awaitable<void> Abandon(db::PgTransaction& tx, db::PgPool::Clock::time_point deadline) {
  auto rolled_back = co_await tx.Rollback(deadline);
  (void)rolled_back;
}

}  // namespace

std::vector<std::string> AccountStore::StatementNames() {
  std::vector<std::string> names;
  for (const db::Statement* statement : {&kFindByEmail,
                                         &kFindById,
                                         &kGetUser,
                                         &kInsertUser,
                                         &kRehash,
                                         &kSetPassword,
                                         &kResetPassword,
                                         &kSetEmail,
                                         &kMarkVerified,
                                         &kCreateSession,
                                         &kInsertSessionInFamily,
                                         &kLockSession,
                                         &kSpendSession,
                                         &kRevokeFamilyById,
                                         &kRevokeFamilyByToken,
                                         &kRevokeUserSessions,
                                         &kVoidTokens,
                                         &kVoidAllTokens,
                                         &kInsertToken,
                                         &kConsumeToken,
                                         &kInsertOutbox,
                                         &kListOutbox,
                                         &kInsertAudit,
                                         &kListAudit}) {
    names.push_back(statement->name);
  }
  return names;
}

asio::awaitable<StoreResult<Credentials>> AccountStore::FindByEmail(const std::string& email,
                                                                    Clock::time_point deadline) {
  auto params = db::Params::Of(email);
  auto result = co_await pool_.Query(kFindByEmail, std::move(params), deadline);
  if (!result) {
    co_return Fail(std::move(result).error());
  }
  co_return ReadCredentials(*result);
}

asio::awaitable<StoreResult<Credentials>> AccountStore::FindById(std::int64_t id,
                                                                 Clock::time_point deadline) {
  auto params = db::Params::Of(id);
  auto result = co_await pool_.Query(kFindById, std::move(params), deadline);
  if (!result) {
    co_return Fail(std::move(result).error());
  }
  co_return ReadCredentials(*result);
}

asio::awaitable<StoreResult<User>> AccountStore::Register(const users::CreateUserInput& input,
                                                          std::string password_hash,
                                                          std::string verify_token_hash,
                                                          std::chrono::seconds verify_lifetime,
                                                          OutboxMessage message, AuditEvent audit,
                                                          Clock::time_point deadline) {
  auto tx = co_await pool_.Begin(deadline);
  if (!tx) {
    co_return Fail(std::move(tx).error());
  }
  db::Params user_params;
  user_params.Add(input.email)
      .Add(input.name)
      .Add(password_hash)
      .Add(static_cast<std::int64_t>(input.role))
      .Add(static_cast<std::int64_t>(input.status));
  auto inserted = co_await tx->Query(kInsertUser, std::move(user_params), deadline);
  if (!inserted) {
    co_return FailWrite(std::move(inserted).error());
  }
  auto user = ReadUser(*inserted);
  if (!user) {
    co_return core::Unexpected<StoreError>{std::move(user).error()};
  }
  auto token_params =
      TokenParams(verify_token_hash, TokenPurpose::kVerifyEmail, verify_lifetime, user->id);
  auto token = co_await tx->Query(kInsertToken, std::move(token_params), deadline);
  if (!token) {
    co_return Fail(std::move(token).error());
  }
  auto outbox_params = OutboxParams(message);
  auto outbox = co_await tx->Query(kInsertOutbox, std::move(outbox_params), deadline);
  if (!outbox) {
    co_return Fail(std::move(outbox).error());
  }
  auto audit_params = AuditParams(AboutUser(std::move(audit), user->id));
  auto audited = co_await tx->Query(kInsertAudit, std::move(audit_params), deadline);
  if (!audited) {
    co_return Fail(std::move(audited).error());
  }
  auto committed = co_await tx->Commit(deadline);
  if (!committed) {
    co_return FailWrite(std::move(committed).error());
  }
  co_return std::move(*user);
}

asio::awaitable<StoreResult<void>> AccountStore::Rehash(std::int64_t user_id,
                                                        const std::string& old_hash,
                                                        std::string new_hash,
                                                        Clock::time_point deadline) {
  auto params = db::Params::Of(user_id, old_hash, new_hash);
  auto result = co_await pool_.Query(kRehash, std::move(params), deadline);
  if (!result) {
    co_return Fail(std::move(result).error());
  }
  if (result->rows() == 0) {
    co_return Fail(StoreFailure::kNotFound);
  }
  co_return StoreResult<void>{};
}

asio::awaitable<StoreResult<std::int64_t>> AccountStore::CreateSession(const NewSession& session,
                                                                       Clock::time_point deadline) {
  auto params = db::Params::Of(session.user_id, Hex(session.token_hash),
                               static_cast<std::int64_t>(session.lifetime.count()),
                               CleanUserAgent(session.user_agent), session.ip);
  auto result = co_await pool_.Query(kCreateSession, std::move(params), deadline);
  if (!result) {
    if (result.error().Is(kForeignKeyViolation)) {
      co_return Fail(StoreFailure::kNotFound, std::move(result).error());
    }
    co_return Fail(std::move(result).error());
  }
  auto family = result->GetInt64(0, 0);
  if (!family) {
    co_return Fail(std::move(family).error());
  }
  co_return *family;
}

asio::awaitable<StoreResult<Rotation>> AccountStore::RotateSession(const std::string& old_hash,
                                                                   const NewSession& fresh,
                                                                   Clock::time_point deadline) {
  auto tx = co_await pool_.Begin(deadline);
  if (!tx) {
    co_return Fail(std::move(tx).error());
  }
  auto lock_params = db::Params::Of(Hex(old_hash));
  auto locked = co_await tx->Query(kLockSession, std::move(lock_params), deadline);
  if (!locked) {
    co_return Fail(std::move(locked).error());
  }
  Rotation rotation;
  if (locked->rows() == 0) {
    co_await Abandon(*tx, deadline);
    rotation.outcome = RotateOutcome::kUnknown;
    co_return rotation;
  }
  auto old = ReadLockedSession(*locked);
  if (!old) {
    co_return core::Unexpected<StoreError>{std::move(old).error()};
  }
  rotation.family_id = old->family_id;
  if (old->expired && !old->spent) {
    co_await Abandon(*tx, deadline);
    rotation.outcome = RotateOutcome::kExpired;
    co_return rotation;
  }
  std::optional<User> user;
  if (!old->spent) {
    auto user_params = db::Params::Of(old->user_id);
    auto user_row = co_await tx->Query(kGetUser, std::move(user_params), deadline);
    if (!user_row) {
      co_return Fail(std::move(user_row).error());
    }
    auto read = ReadUser(*user_row);
    if (read) {
      user = std::move(*read);
    } else if (read.error().failure != StoreFailure::kNotFound) {
      co_return core::Unexpected<StoreError>{std::move(read).error()};
    }
  }
  const bool usable = user.has_value() && user->status == users::Status::kActive;
  if (old->spent || !usable) {
    // A spent token presented again was copied: nothing in the family can be trusted. A
    // disabled owner's family goes too, so that re-enabling the user revives no session.
    auto revoke_params = db::Params::Of(old->family_id);
    auto revoked = co_await tx->Query(kRevokeFamilyById, std::move(revoke_params), deadline);
    if (!revoked) {
      co_return Fail(std::move(revoked).error());
    }
    auto committed = co_await tx->Commit(deadline);
    if (!committed) {
      co_return Fail(std::move(committed).error());
    }
    rotation.outcome = old->spent ? RotateOutcome::kReused : RotateOutcome::kInactive;
    co_return rotation;
  }
  auto spend_params = db::Params::Of(old->id);
  auto spent = co_await tx->Query(kSpendSession, std::move(spend_params), deadline);
  if (!spent) {
    co_return Fail(std::move(spent).error());
  }
  auto insert_params = db::Params::Of(old->family_id, old->user_id, Hex(fresh.token_hash),
                                      static_cast<std::int64_t>(fresh.lifetime.count()),
                                      CleanUserAgent(fresh.user_agent), fresh.ip);
  auto inserted = co_await tx->Query(kInsertSessionInFamily, std::move(insert_params), deadline);
  if (!inserted) {
    co_return Fail(std::move(inserted).error());
  }
  auto committed = co_await tx->Commit(deadline);
  if (!committed) {
    co_return Fail(std::move(committed).error());
  }
  rotation.outcome = RotateOutcome::kRotated;
  rotation.user = std::move(user);
  co_return rotation;
}

asio::awaitable<StoreResult<bool>> AccountStore::RevokeFamily(const std::string& token_hash,
                                                              std::int64_t user_id,
                                                              Clock::time_point deadline) {
  auto params = db::Params::Of(Hex(token_hash), user_id);
  auto result = co_await pool_.Query(kRevokeFamilyByToken, std::move(params), deadline);
  if (!result) {
    co_return Fail(std::move(result).error());
  }
  co_return result->affected_rows() > 0;
}

asio::awaitable<StoreResult<std::int64_t>> AccountStore::RevokeUserSessions(
    std::int64_t user_id, std::int64_t keep_family, Clock::time_point deadline) {
  auto params = db::Params::Of(user_id, keep_family);
  auto result = co_await pool_.Query(kRevokeUserSessions, std::move(params), deadline);
  if (!result) {
    co_return Fail(std::move(result).error());
  }
  co_return result->affected_rows();
}

asio::awaitable<StoreResult<User>> AccountStore::ChangePassword(
    std::int64_t user_id, std::string new_hash, std::int64_t keep_family, OutboxMessage message,
    AuditEvent audit, Clock::time_point deadline) {
  auto tx = co_await pool_.Begin(deadline);
  if (!tx) {
    co_return Fail(std::move(tx).error());
  }
  auto set_params = db::Params::Of(user_id, new_hash);
  auto updated = co_await tx->Query(kSetPassword, std::move(set_params), deadline);
  if (!updated) {
    co_return Fail(std::move(updated).error());
  }
  auto user = ReadUser(*updated);
  if (!user) {
    co_await Abandon(*tx, deadline);
    co_return core::Unexpected<StoreError>{std::move(user).error()};
  }
  auto revoke_params = db::Params::Of(user_id, keep_family);
  auto revoked = co_await tx->Query(kRevokeUserSessions, std::move(revoke_params), deadline);
  if (!revoked) {
    co_return Fail(std::move(revoked).error());
  }
  // A reset link mailed before the change would otherwise undo it.
  auto void_params = db::Params::Of(user_id, PurposeCode(TokenPurpose::kResetPassword));
  auto voided = co_await tx->Query(kVoidTokens, std::move(void_params), deadline);
  if (!voided) {
    co_return Fail(std::move(voided).error());
  }
  auto outbox_params = OutboxParams(message);
  auto outbox = co_await tx->Query(kInsertOutbox, std::move(outbox_params), deadline);
  if (!outbox) {
    co_return Fail(std::move(outbox).error());
  }
  auto audit_params = AuditParams(audit);
  auto audited = co_await tx->Query(kInsertAudit, std::move(audit_params), deadline);
  if (!audited) {
    co_return Fail(std::move(audited).error());
  }
  auto committed = co_await tx->Commit(deadline);
  if (!committed) {
    co_return Fail(std::move(committed).error());
  }
  co_return std::move(*user);
}

asio::awaitable<StoreResult<void>> AccountStore::IssueToken(
    std::int64_t user_id, TokenPurpose purpose, std::string token_hash,
    std::chrono::seconds lifetime, OutboxMessage message, Clock::time_point deadline) {
  auto tx = co_await pool_.Begin(deadline);
  if (!tx) {
    co_return Fail(std::move(tx).error());
  }
  auto void_params = db::Params::Of(user_id, PurposeCode(purpose));
  auto voided = co_await tx->Query(kVoidTokens, std::move(void_params), deadline);
  if (!voided) {
    co_return Fail(std::move(voided).error());
  }
  auto token_params = TokenParams(token_hash, purpose, lifetime, user_id);
  auto token = co_await tx->Query(kInsertToken, std::move(token_params), deadline);
  if (!token) {
    co_return Fail(std::move(token).error());
  }
  if (token->affected_rows() == 0) {
    co_await Abandon(*tx, deadline);
    co_return Fail(StoreFailure::kNotFound);
  }
  auto outbox_params = OutboxParams(message);
  auto outbox = co_await tx->Query(kInsertOutbox, std::move(outbox_params), deadline);
  if (!outbox) {
    co_return Fail(std::move(outbox).error());
  }
  auto committed = co_await tx->Commit(deadline);
  if (!committed) {
    co_return Fail(std::move(committed).error());
  }
  co_return StoreResult<void>{};
}

asio::awaitable<StoreResult<User>> AccountStore::VerifyEmail(const std::string& token_hash,
                                                             AuditEvent audit,
                                                             Clock::time_point deadline) {
  auto tx = co_await pool_.Begin(deadline);
  if (!tx) {
    co_return Fail(std::move(tx).error());
  }
  auto consume_params = db::Params::Of(Hex(token_hash), PurposeCode(TokenPurpose::kVerifyEmail));
  auto consumed = co_await tx->Query(kConsumeToken, std::move(consume_params), deadline);
  if (!consumed) {
    co_return Fail(std::move(consumed).error());
  }
  auto token = ReadConsumedToken(*consumed);
  if (!token) {
    co_await Abandon(*tx, deadline);
    co_return core::Unexpected<StoreError>{std::move(token).error()};
  }
  auto mark_params = db::Params::Of(token->user_id, token->email);
  auto marked = co_await tx->Query(kMarkVerified, std::move(mark_params), deadline);
  if (!marked) {
    co_return Fail(std::move(marked).error());
  }
  auto user = ReadUser(*marked);
  if (!user) {
    // Issued for an address the user no longer has. Rolled back, the token stays unused,
    // but it can never match again (addresses are only ever changed away from by ChangeEmail,
    // which voids it).
    co_await Abandon(*tx, deadline);
    co_return core::Unexpected<StoreError>{std::move(user).error()};
  }
  auto audit_params = AuditParams(audit);
  auto audited = co_await tx->Query(kInsertAudit, std::move(audit_params), deadline);
  if (!audited) {
    co_return Fail(std::move(audited).error());
  }
  auto committed = co_await tx->Commit(deadline);
  if (!committed) {
    co_return Fail(std::move(committed).error());
  }
  co_return std::move(*user);
}

asio::awaitable<StoreResult<User>> AccountStore::ResetPassword(const std::string& token_hash,
                                                               std::string new_hash,
                                                               AuditEvent audit,
                                                               Clock::time_point deadline) {
  auto tx = co_await pool_.Begin(deadline);
  if (!tx) {
    co_return Fail(std::move(tx).error());
  }
  auto consume_params = db::Params::Of(Hex(token_hash), PurposeCode(TokenPurpose::kResetPassword));
  auto consumed = co_await tx->Query(kConsumeToken, std::move(consume_params), deadline);
  if (!consumed) {
    co_return Fail(std::move(consumed).error());
  }
  auto token = ReadConsumedToken(*consumed);
  if (!token) {
    co_await Abandon(*tx, deadline);
    co_return core::Unexpected<StoreError>{std::move(token).error()};
  }
  // A link mailed to an address the account no longer has must not take it over.
  auto reset_params = db::Params::Of(token->user_id, token->email, new_hash);
  auto updated = co_await tx->Query(kResetPassword, std::move(reset_params), deadline);
  if (!updated) {
    co_return Fail(std::move(updated).error());
  }
  auto user = ReadUser(*updated);
  if (!user) {
    co_await Abandon(*tx, deadline);
    co_return core::Unexpected<StoreError>{std::move(user).error()};
  }
  // Family ids start at 1, so keeping family 0 keeps none.
  auto revoke_params = db::Params::Of(token->user_id, std::int64_t{0});
  auto revoked = co_await tx->Query(kRevokeUserSessions, std::move(revoke_params), deadline);
  if (!revoked) {
    co_return Fail(std::move(revoked).error());
  }
  auto void_params = db::Params::Of(token->user_id, PurposeCode(TokenPurpose::kResetPassword));
  auto voided = co_await tx->Query(kVoidTokens, std::move(void_params), deadline);
  if (!voided) {
    co_return Fail(std::move(voided).error());
  }
  auto audit_params = AuditParams(AboutUser(std::move(audit), token->user_id));
  auto audited = co_await tx->Query(kInsertAudit, std::move(audit_params), deadline);
  if (!audited) {
    co_return Fail(std::move(audited).error());
  }
  auto committed = co_await tx->Commit(deadline);
  if (!committed) {
    co_return Fail(std::move(committed).error());
  }
  co_return std::move(*user);
}

asio::awaitable<StoreResult<User>> AccountStore::ChangeEmail(
    std::int64_t user_id, std::string email, std::string verify_token_hash,
    std::chrono::seconds verify_lifetime, OutboxMessage message, AuditEvent audit,
    Clock::time_point deadline) {
  auto tx = co_await pool_.Begin(deadline);
  if (!tx) {
    co_return Fail(std::move(tx).error());
  }
  auto set_params = db::Params::Of(user_id, email);
  auto updated = co_await tx->Query(kSetEmail, std::move(set_params), deadline);
  if (!updated) {
    co_return FailWrite(std::move(updated).error());
  }
  auto user = ReadUser(*updated);
  if (!user) {
    co_await Abandon(*tx, deadline);
    co_return core::Unexpected<StoreError>{std::move(user).error()};
  }
  // Reset links went to the old address too; they are voided with the verify links.
  auto void_params = db::Params::Of(user_id);
  auto voided = co_await tx->Query(kVoidAllTokens, std::move(void_params), deadline);
  if (!voided) {
    co_return Fail(std::move(voided).error());
  }
  auto token_params =
      TokenParams(verify_token_hash, TokenPurpose::kVerifyEmail, verify_lifetime, user_id);
  auto token = co_await tx->Query(kInsertToken, std::move(token_params), deadline);
  if (!token) {
    co_return Fail(std::move(token).error());
  }
  auto outbox_params = OutboxParams(message);
  auto outbox = co_await tx->Query(kInsertOutbox, std::move(outbox_params), deadline);
  if (!outbox) {
    co_return Fail(std::move(outbox).error());
  }
  auto audit_params = AuditParams(audit);
  auto audited = co_await tx->Query(kInsertAudit, std::move(audit_params), deadline);
  if (!audited) {
    co_return Fail(std::move(audited).error());
  }
  auto committed = co_await tx->Commit(deadline);
  if (!committed) {
    co_return FailWrite(std::move(committed).error());
  }
  co_return std::move(*user);
}

asio::awaitable<StoreResult<void>> AccountStore::Audit(const AuditEvent& event,
                                                       Clock::time_point deadline) {
  auto params = AuditParams(event);
  auto result = co_await pool_.Query(kInsertAudit, std::move(params), deadline);
  if (!result) {
    co_return Fail(std::move(result).error());
  }
  co_return StoreResult<void>{};
}

asio::awaitable<StoreResult<std::vector<AuditRecord>>> AccountStore::ListAudit(
    std::int64_t before_id, std::size_t limit, Clock::time_point deadline) {
  const std::int64_t before = before_id > 0 ? before_id : std::numeric_limits<std::int64_t>::max();
  auto params = db::Params::Of(before, static_cast<std::int64_t>(limit));
  auto result = co_await pool_.Query(kListAudit, std::move(params), deadline);
  if (!result) {
    co_return Fail(std::move(result).error());
  }
  co_return ReadRows<AuditRecord>(*result, [](RowReader& reader) {
    AuditRecord record;
    record.id = reader.Number(0);
    record.at = reader.Text(1);
    record.actor_id = reader.OptionalNumber(2);
    record.action = reader.Text(3);
    record.target_id = reader.OptionalNumber(4);
    record.ip = reader.Text(5);
    record.request_id = reader.Text(6);
    record.detail = reader.Text(7);
    return record;
  });
}

asio::awaitable<StoreResult<std::vector<OutboxEntry>>> AccountStore::ListOutbox(
    std::size_t limit, Clock::time_point deadline) {
  auto params = db::Params::Of(static_cast<std::int64_t>(limit));
  auto result = co_await pool_.Query(kListOutbox, std::move(params), deadline);
  if (!result) {
    co_return Fail(std::move(result).error());
  }
  co_return ReadRows<OutboxEntry>(*result, [](RowReader& reader) {
    OutboxEntry entry;
    entry.id = reader.Number(0);
    entry.created_at = reader.Text(1);
    entry.kind = reader.Text(2);
    entry.recipient = reader.Text(3);
    entry.subject = reader.Text(4);
    entry.body = reader.Text(5);
    entry.sent_at = reader.OptionalText(6);
    return entry;
  });
}

}  // namespace myriad::accounts

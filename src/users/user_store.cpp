#include "users/user_store.hpp"

#include <algorithm>
#include <string_view>
#include <utility>

#include "db/params.hpp"
#include "db/pg_result.hpp"

namespace myriad::users {
namespace {

namespace asio = boost::asio;

// Timestamps leave the database already in RFC 3339 UTC form, so no time zone or calendar
// code runs here.
#define MYRIAD_USER_COLUMNS                                                                     \
  "id, email, name, role, status, "                                                             \
  "to_char(created_at AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.US\"Z\"') AS created_at, " \
  "to_char(updated_at AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.US\"Z\"') AS updated_at, " \
  "version, email_verified_at IS NOT NULL AS email_verified"

const db::Statement kGet{"users_get", "SELECT " MYRIAD_USER_COLUMNS " FROM users WHERE id = $1"};
// Every write records its audit_events row in the same statement: the change and its record
// commit together or not at all. The AuditNote's fields follow the write's own parameters.
#define MYRIAD_USER_AUDIT(actor, action, ip, request_id, detail, source)                        \
  "audited AS (INSERT INTO audit_events (actor_id, action, target_id, ip, request_id, detail) " \
  "SELECT NULLIF(" actor "::bigint, 0), " action ", " source ".id, NULLIF(" ip                  \
  ", ''), "                                                                                     \
  "NULLIF(" request_id ", ''), COALESCE(NULLIF(" detail ", ''), '{}')::jsonb FROM " source ") "
const db::Statement kInsert{
    "users_insert",
    "WITH written AS (INSERT INTO users (email, name, password_hash, role, status) "
    "VALUES ($1, $2, $3, $4, $5) RETURNING " MYRIAD_USER_COLUMNS
    "), " MYRIAD_USER_AUDIT("$6", "$7", "$8", "$9", "$10", "written") "SELECT * FROM written",
    db::kWrites};
// NULL leaves a column as it is; $7 (an int[] of acceptable versions) is NULL without
// If-Match or with "If-Match: *".
const db::Statement kUpdate{
    "users_update",
    "WITH written AS (UPDATE users SET email = COALESCE($2, email), name = COALESCE($3, name), "
    "email_verified_at = CASE WHEN $2 IS NULL OR $2 = email THEN email_verified_at END, "
    "password_hash = COALESCE($4, password_hash), role = COALESCE($5::smallint, role), "
    "status = COALESCE($6::smallint, status), updated_at = now(), version = version + 1 "
    "WHERE id = $1 AND ($7::int[] IS NULL OR version = ANY($7::int[])) "
    "RETURNING " MYRIAD_USER_COLUMNS
    "), "
    // A new password or a disabled account ends the user's sessions (refresh tokens).
    "ended AS (UPDATE sessions SET revoked_at = now() FROM written "
    "WHERE sessions.user_id = written.id AND sessions.revoked_at IS NULL "
    "AND ($4 IS NOT NULL OR $6::smallint = 1)), " MYRIAD_USER_AUDIT(
        "$8", "$9", "$10", "$11", "$12", "written") "SELECT * FROM written",
    db::kWrites};
const db::Statement kDelete{
    "users_delete",
    "WITH written AS (DELETE FROM users WHERE id = $1 AND ($2::int[] IS NULL OR "
    "version = ANY($2::int[])) RETURNING id), " MYRIAD_USER_AUDIT(
        "$3", "$4", "$5", "$6", "$7", "written") "SELECT id FROM written",
    db::kWrites};
#undef MYRIAD_USER_AUDIT
// The list and the search window take the page size as a literal, one prepared statement
// per size (PagedStatements below): with `LIMIT $n` PostgreSQL assumes a parameterised limit
// returns a tenth of the table, so the generic plan looks expensive and every execution was
// planned afresh (pg_prepared_statements: custom plans only; planning showed in perf).
constexpr std::string_view kListSql =
    "SELECT " MYRIAD_USER_COLUMNS " FROM users WHERE id > $1 ORDER BY id LIMIT ";
// Search runs in two steps, because no single plan is fast for both kinds of term:
//  1. the next 2,000 rows in id order, filtered: a common term ("son", 12% of
//     rows) fills a page here after a few hundred rows, in about a millisecond;
//  2. only if the window held less than a page: the trigram index over the rest, sorted
//     by id afterwards. `ORDER BY id + 0` keeps PostgreSQL from walking the primary key
//     instead, which it picks when it overestimates the matches and which then reads all
//     1M rows for a term that matches few or none (1.7 s measured).
// The window holds every match in it, so step 2 may start after the last match found (or
// the cursor). The index step's first condition is the trigram index's expression
// (migrations/0002: punctuation mapped to letters so that it narrows the lookup too); the
// second is the real test, and keeps a match from spanning the email and the name ("com
// ann" in "ann@example.com Ann"). translate() maps the LIKE escape's targets as well, so an
// escaped "\_" becomes an escaped "\δ", which matches the δ that "_" became.
//
// The real test comes in two forms. ILIKE under the database's C.UTF-8 ctype folds case
// through wide characters (a multibyte conversion, then towlower per character): most of
// the window's time on 1M users. A term of ASCII characters can match only the ASCII bytes
// of a value (UTF-8 never puts an ASCII byte inside a multibyte character), so for such a
// term an ILIKE under the C collation, which folds A-Z alone, gives the same answer 2.5x
// faster (0.7 against 1.8 ms for "smith"). The exceptions are the two characters whose
// lowercase is ASCII, the Kelvin sign and the capital I with a dot (U+212A, U+0130), which
// the C form does not fold. Any other term takes the full Unicode form.
#define MYRIAD_USER_INDEXED                                           \
  "translate(email || ' ' || name, '@.-_+''', 'αβγδεζ') ILIKE " \
  "'%' || translate($1, '@.-_+''', 'αβγδεζ') || '%'"
#define MYRIAD_USER_MATCH "(email ILIKE '%' || $1 || '%' OR name ILIKE '%' || $1 || '%')"
#define MYRIAD_USER_MATCH_ASCII                                  \
  "(email COLLATE \"C\" ILIKE '%' || $1 || '%' OR name COLLATE " \
  "\"C\" ILIKE '%' || $1 || '%')"
#define MYRIAD_USER_WINDOW      \
  "SELECT " MYRIAD_USER_COLUMNS \
  " FROM (SELECT * FROM users WHERE id > $2 ORDER BY id LIMIT 2000) AS w WHERE "
constexpr std::string_view kSearchWindowSql =
    MYRIAD_USER_WINDOW MYRIAD_USER_MATCH " ORDER BY id LIMIT ";
constexpr std::string_view kSearchWindowAsciiSql =
    MYRIAD_USER_WINDOW MYRIAD_USER_MATCH_ASCII " ORDER BY id LIMIT ";
// Unnamed, so it is planned for the actual term (see the class comment).
constexpr std::string_view kSearchIndexSql =
    "SELECT " MYRIAD_USER_COLUMNS " FROM users WHERE " MYRIAD_USER_INDEXED " AND " MYRIAD_USER_MATCH
    " AND id > $2 ORDER BY id + 0 LIMIT $3";
constexpr std::string_view kSearchIndexAsciiSql =
    "SELECT " MYRIAD_USER_COLUMNS " FROM users WHERE " MYRIAD_USER_INDEXED
    " AND " MYRIAD_USER_MATCH_ASCII " AND id > $2 ORDER BY id + 0 LIMIT $3";
#undef MYRIAD_USER_WINDOW
#undef MYRIAD_USER_MATCH_ASCII
#undef MYRIAD_USER_INDEXED
#undef MYRIAD_USER_MATCH

#undef MYRIAD_USER_COLUMNS

// `name_N` / `sql N` for every fetch size N = 2..kMaxPageSize + 1 (a page plus one row).
class PagedStatements {
 public:
  PagedStatements(std::string_view name, std::string_view sql_prefix) {
    for (int fetch = 0; fetch <= kMaxPageSize + 1; ++fetch) {
      statements_.push_back(db::Statement{std::string(name) + "_" + std::to_string(fetch),
                                          std::string(sql_prefix) + std::to_string(fetch)});
    }
  }
  const db::Statement& For(std::int64_t fetch) const {
    return statements_.at(static_cast<std::size_t>(fetch));
  }
  void AppendNames(std::vector<std::string>& names) const {
    for (std::size_t fetch = 2; fetch < statements_.size(); ++fetch) {
      names.push_back(statements_[fetch].name);
    }
  }

 private:
  std::vector<db::Statement> statements_;
};

const PagedStatements& ListStatements() {
  static const auto* const kStatements = new PagedStatements("users_list", kListSql);
  return *kStatements;
}
const PagedStatements& SearchWindowStatements(bool ascii) {
  static const auto* const kStatements =
      new PagedStatements("users_search_window", kSearchWindowSql);
  static const auto* const kAsciiStatements =
      new PagedStatements("users_search_window_ascii", kSearchWindowAsciiSql);
  return ascii ? *kAsciiStatements : *kStatements;
}

bool IsAscii(std::string_view text) {
  return std::all_of(text.begin(), text.end(),
                     [](char c) { return static_cast<unsigned char>(c) < 0x80; });
}

constexpr std::string_view kUniqueViolation = "23505";

core::Unexpected<StoreError> Fail(StoreFailure failure, db::DbError error = {}) {
  return core::Unexpected<StoreError>{StoreError{failure, std::move(error)}};
}
core::Unexpected<StoreError> Fail(db::DbError error) {
  return Fail(StoreFailure::kDatabase, std::move(error));
}

db::DbResult<User> ReadUser(const db::PgResult& result, int row) {
  // The first bad cell wins; the rest read as empty values and are thrown away.
  std::optional<db::DbError> error;
  auto text = [&](int column) -> std::string {
    auto value = result.GetString(row, column);
    if (value) return std::string(*value);
    if (!error) error = std::move(value).error();
    return {};
  };
  auto number = [&](int column) -> std::int64_t {
    auto value = result.GetInt64(row, column);
    if (value) return *value;
    if (!error) error = std::move(value).error();
    return 0;
  };
  User user;
  user.id = number(0);
  user.email = text(1);
  user.name = text(2);
  user.role = number(3) == static_cast<std::int64_t>(Role::kAdmin) ? Role::kAdmin : Role::kUser;
  user.status = number(4) == static_cast<std::int64_t>(Status::kDisabled) ? Status::kDisabled
                                                                          : Status::kActive;
  user.created_at = text(5);
  user.updated_at = text(6);
  user.version = static_cast<std::int32_t>(number(7));
  if (auto verified = result.GetBool(row, 8)) {
    user.email_verified = *verified;
  } else if (!error) {
    error = std::move(verified).error();
  }
  if (error) return core::Unexpected<db::DbError>{std::move(*error)};
  return user;
}

// "{3,4}", or NULL when any version goes.
std::optional<std::string> VersionArray(const std::optional<IfMatch>& if_match) {
  if (!if_match || if_match->any) return std::nullopt;
  std::string text = "{";
  for (std::size_t i = 0; i < if_match->versions.size(); ++i) {
    if (i > 0) text += ',';
    text += std::to_string(if_match->versions[i]);
  }
  text += '}';
  return text;
}

void AddAudit(db::Params& params, const AuditNote& audit) {
  params.Add(audit.actor_id)
      .Add(audit.action)
      .Add(audit.ip)
      .Add(audit.request_id)
      .Add(audit.detail);
}

std::optional<std::int64_t> Code(const std::optional<Role>& role) {
  if (!role) return std::nullopt;
  return static_cast<std::int64_t>(*role);
}
std::optional<std::int64_t> Code(const std::optional<Status>& status) {
  if (!status) return std::nullopt;
  return static_cast<std::int64_t>(*status);
}

}  // namespace

std::vector<std::string> UserStore::StatementNames() {
  std::vector<std::string> names = {kGet.name, kInsert.name, kUpdate.name, kDelete.name};
  ListStatements().AppendNames(names);
  SearchWindowStatements(false).AppendNames(names);
  SearchWindowStatements(true).AppendNames(names);
  return names;
}

asio::awaitable<StoreResult<User>> UserStore::Get(std::int64_t id, Clock::time_point deadline) {
  auto params = db::Params::Of(id);
  auto result = co_await pool_.Query(kGet, std::move(params), deadline);
  if (!result) co_return Fail(std::move(result).error());
  if (result->rows() == 0) co_return Fail(StoreFailure::kNotFound);
  auto user = ReadUser(*result, 0);
  if (!user) co_return Fail(std::move(user).error());
  co_return std::move(*user);
}

asio::awaitable<StoreResult<User>> UserStore::Create(const CreateUserInput& input,
                                                     std::string password_hash,
                                                     const AuditNote& audit,
                                                     Clock::time_point deadline) {
  db::Params params;
  params.Add(input.email)
      .Add(input.name)
      .Add(password_hash)
      .Add(static_cast<std::int64_t>(input.role))
      .Add(static_cast<std::int64_t>(input.status));
  AddAudit(params, audit);
  auto result = co_await pool_.Query(kInsert, std::move(params), deadline);
  if (!result) {
    if (result.error().Is(kUniqueViolation)) co_return Fail(StoreFailure::kDuplicateEmail);
    co_return Fail(std::move(result).error());
  }
  auto user = ReadUser(*result, 0);
  if (!user) co_return Fail(std::move(user).error());
  co_return std::move(*user);
}

asio::awaitable<StoreResult<User>> UserStore::Update(std::int64_t id, const UpdateUserInput& input,
                                                     std::optional<std::string> password_hash,
                                                     std::optional<IfMatch> if_match,
                                                     const AuditNote& audit,
                                                     Clock::time_point deadline) {
  db::Params params;
  params.Add(id)
      .Add(input.email)
      .Add(input.name)
      .Add(password_hash)
      .Add(Code(input.role))
      .Add(Code(input.status))
      .Add(VersionArray(if_match));
  AddAudit(params, audit);
  auto result = co_await pool_.Query(kUpdate, std::move(params), deadline);
  if (!result) {
    if (result.error().Is(kUniqueViolation)) co_return Fail(StoreFailure::kDuplicateEmail);
    co_return Fail(std::move(result).error());
  }
  if (result->rows() == 0) {
    // Absent, or present at another version: one more read tells which.
    auto current = co_await Get(id, deadline);
    if (!current) co_return core::Unexpected<StoreError>{std::move(current).error()};
    co_return Fail(StoreFailure::kStale);
  }
  auto user = ReadUser(*result, 0);
  if (!user) co_return Fail(std::move(user).error());
  co_return std::move(*user);
}

asio::awaitable<StoreResult<void>> UserStore::Delete(std::int64_t id,
                                                     std::optional<IfMatch> if_match,
                                                     const AuditNote& audit,
                                                     Clock::time_point deadline) {
  auto params = db::Params::Of(id, VersionArray(if_match));
  AddAudit(params, audit);
  auto result = co_await pool_.Query(kDelete, std::move(params), deadline);
  if (!result) co_return Fail(std::move(result).error());
  if (result->rows() == 0) {
    auto current = co_await Get(id, deadline);
    if (!current) co_return core::Unexpected<StoreError>{std::move(current).error()};
    co_return Fail(StoreFailure::kStale);
  }
  co_return StoreResult<void>{};
}

asio::awaitable<StoreResult<Page>> UserStore::List(const ListQuery& query,
                                                   Clock::time_point deadline) {
  // One row more than asked says whether another page follows.
  const std::int64_t fetch = query.limit + 1;
  Page page;
  auto take = [&](const db::PgResult& rows) -> std::optional<db::DbError> {
    for (int row = 0; row < rows.rows(); ++row) {
      auto user = ReadUser(rows, row);
      if (!user) return std::move(user).error();
      page.users.push_back(std::move(*user));
    }
    return std::nullopt;
  };
  if (query.q.empty()) {
    auto params = db::Params::Of(query.after_id);
    auto rows = co_await pool_.Query(ListStatements().For(fetch), std::move(params), deadline);
    if (!rows) co_return Fail(std::move(rows).error());
    if (auto bad = take(*rows)) co_return Fail(std::move(*bad));
  } else {
    const std::string pattern = EscapeLikePattern(query.q);
    const bool ascii = IsAscii(query.q);
    auto window_params = db::Params::Of(pattern, query.after_id);
    const db::Statement& window_statement = SearchWindowStatements(ascii).For(fetch);
    auto window = co_await pool_.Query(window_statement, std::move(window_params), deadline);
    if (!window) co_return Fail(std::move(window).error());
    if (auto bad = take(*window)) co_return Fail(std::move(*bad));
    if (std::ssize(page.users) < fetch) {
      const std::int64_t after = page.users.empty() ? query.after_id : page.users.back().id;
      const std::int64_t rest = fetch - std::ssize(page.users);
      auto index_params = db::Params::Of(pattern, after, rest);
      auto more = co_await pool_.Query(ascii ? kSearchIndexAsciiSql : kSearchIndexSql,
                                       std::move(index_params), deadline);
      if (!more) co_return Fail(std::move(more).error());
      if (auto bad = take(*more)) co_return Fail(std::move(*bad));
    }
  }
  page.more = std::ssize(page.users) > query.limit;
  if (page.more) page.users.resize(static_cast<std::size_t>(query.limit));
  co_return page;
}

}  // namespace myriad::users

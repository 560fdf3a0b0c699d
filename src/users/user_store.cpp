#include "users/user_store.hpp"

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
  "version"

const db::Statement kGet{"users_get", "SELECT " MYRIAD_USER_COLUMNS " FROM users WHERE id = $1"};
const db::Statement kInsert{
    "users_insert",
    "INSERT INTO users (email, name, password_hash, role, status) VALUES ($1, $2, $3, $4, $5) "
    "RETURNING " MYRIAD_USER_COLUMNS};
// NULL leaves a column as it is; $7 (an int[] of acceptable versions) is NULL without
// If-Match or with "If-Match: *".
const db::Statement kUpdate{
    "users_update",
    "UPDATE users SET email = COALESCE($2, email), name = COALESCE($3, name), "
    "password_hash = COALESCE($4, password_hash), role = COALESCE($5::smallint, role), "
    "status = COALESCE($6::smallint, status), updated_at = now(), version = version + 1 "
    "WHERE id = $1 AND ($7::int[] IS NULL OR version = ANY($7::int[])) "
    "RETURNING " MYRIAD_USER_COLUMNS};
const db::Statement kDelete{
    "users_delete",
    "DELETE FROM users WHERE id = $1 AND ($2::int[] IS NULL OR version = ANY($2::int[])) "
    "RETURNING id"};
const db::Statement kList{
    "users_list", "SELECT " MYRIAD_USER_COLUMNS " FROM users WHERE id > $1 ORDER BY id LIMIT $2"};
// Unnamed on purpose (see the class comment). The first condition is the trigram index's
// expression, so the index can find candidates; the second keeps a match from spanning the
// email and the name ("com ann" in "ann@example.com Ann").
constexpr std::string_view kSearchSql =
    "SELECT " MYRIAD_USER_COLUMNS
    " FROM users WHERE (email || ' ' || name) ILIKE '%' || $1 || '%' "
    "AND (email ILIKE '%' || $1 || '%' OR name ILIKE '%' || $1 || '%') AND id > $2 "
    "ORDER BY id LIMIT $3";

#undef MYRIAD_USER_COLUMNS

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
  return {kGet.name, kInsert.name, kUpdate.name, kDelete.name, kList.name};
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
                                                     Clock::time_point deadline) {
  db::Params params;
  params.Add(input.email)
      .Add(input.name)
      .Add(password_hash)
      .Add(static_cast<std::int64_t>(input.role))
      .Add(static_cast<std::int64_t>(input.status));
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
                                                     Clock::time_point deadline) {
  db::Params params;
  params.Add(id)
      .Add(input.email)
      .Add(input.name)
      .Add(password_hash)
      .Add(Code(input.role))
      .Add(Code(input.status))
      .Add(VersionArray(if_match));
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
                                                     Clock::time_point deadline) {
  auto params = db::Params::Of(id, VersionArray(if_match));
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
  std::optional<db::DbResult<db::PgResult>> result;
  if (query.q.empty()) {
    auto params = db::Params::Of(query.after_id, fetch);
    result.emplace(co_await pool_.Query(kList, std::move(params), deadline));
  } else {
    auto params = db::Params::Of(EscapeLikePattern(query.q), query.after_id, fetch);
    result.emplace(co_await pool_.Query(kSearchSql, std::move(params), deadline));
  }
  if (!*result) co_return Fail(std::move(*result).error());
  const db::PgResult& rows = **result;
  Page page;
  const int n = std::min(rows.rows(), query.limit);
  page.users.reserve(static_cast<std::size_t>(n));
  for (int row = 0; row < n; ++row) {
    auto user = ReadUser(rows, row);
    if (!user) co_return Fail(std::move(user).error());
    page.users.push_back(std::move(*user));
  }
  page.more = rows.rows() > query.limit;
  co_return page;
}

}  // namespace myriad::users

#include "users/users_api.hpp"

#include <boost/asio/awaitable.hpp>
#include <charconv>
#include <optional>
#include <string>
#include <utility>

#include "accounts/access.hpp"
#include "api/db_problem.hpp"
#include "auth/password.hpp"
#include "db/pg_pool.hpp"
#include "http/problem.hpp"
#include "users/user_cache.hpp"
#include "users/user_store.hpp"

namespace myriad::users {
namespace {

namespace asio = boost::asio;
using http::ErrorCode;
using http::Request;
using http::Response;

// Accounts created without a password cannot log in until one is set: "!" is no PHC
// string, so no password ever verifies against it.
constexpr std::string_view kNoPassword = "!";

Response Problem(const Request& request, http::Error error) {
  return http::ProblemResponse(error, request.request_id());
}

// application/json, application/merge-patch+json or any other application/*+json, with
// or without parameters (charset).
bool IsJson(std::string_view content_type) {
  const auto semicolon = content_type.find(';');
  std::string type(content_type.substr(0, semicolon));
  while (!type.empty() && (type.back() == ' ' || type.back() == '\t')) type.pop_back();
  for (char& c : type) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  if (type == "application/json") return true;
  return type.starts_with("application/") && type.ends_with("+json");
}

std::optional<Response> RequireJson(const Request& request) {
  if (IsJson(request.Header("Content-Type"))) return std::nullopt;
  return Problem(request, {ErrorCode::kUnsupportedMediaType,
                           "Send the body as application/json (Content-Type header)."});
}

// A path id: decimal, 1..2^63-1. Anything else names no user.
std::optional<std::int64_t> ParseId(std::string_view text) {
  std::int64_t id = 0;
  const auto* end = text.data() + text.size();
  auto [ptr, ec] = std::from_chars(text.data(), end, id);
  if (ec != std::errc{} || ptr != end || id <= 0) return std::nullopt;  // from_chars takes no '+'
  return id;
}

Response NotFound(const Request& request) {
  return Problem(request, {ErrorCode::kNotFound, "No user with this id."});
}

Response UserResponse(int status, const User& user) {
  Response response = http::JsonResponse(status, ToJson(user));
  response.Header("ETag", MakeETag(user.version));
  return response;
}

Response StoreProblem(const Request& request, const StoreError& error) {
  switch (error.failure) {
    case StoreFailure::kNotFound:
      return NotFound(request);
    case StoreFailure::kDuplicateEmail:
      return Problem(request, {ErrorCode::kConflict,
                               "Another user already has this email address.",
                               {{"email", "taken", "This email address is already in use."}}});
    case StoreFailure::kStale:
      return Problem(request, {ErrorCode::kPreconditionFailed,
                               "The user has changed since the version named in If-Match; "
                               "read it again and retry."});
    case StoreFailure::kDatabase:
      break;
  }
  return api::DbProblem(error.db, request.request_id());
}

// If-None-Match on GET: "*" or any listed tag equal to the current one (weak comparison).
bool NoneMatchHits(std::string_view header, std::string_view etag) {
  if (header.empty()) return false;
  if (header.find('*') != std::string_view::npos) return true;
  return header.find(etag) != std::string_view::npos;
}

std::optional<IfMatch> ReadIfMatch(const Request& request) {
  if (!request.HasHeader("If-Match")) return std::nullopt;
  return ParseIfMatch(request.Header("If-Match"));
}

using accounts::Caller;

struct Context {
  const std::vector<db::PgPool*>& pools;
  const CursorCodec& cursors;
  auth::PasswordHasher& hasher;
  UsersApi::Options options;
  UserCache* cache;

  AuditNote Audit(const Request& request, const Caller& caller, std::string action,
                  std::string detail) const {
    AuditNote note;
    note.actor_id = caller.id;
    note.action = std::move(action);
    note.ip = net::ClientAddress(request.peer(), request.Header("X-Forwarded-For"),
                                 options.trusted_proxies);
    note.request_id = std::string(request.request_id());
    note.detail = std::move(detail);
    return note;
  }

  UserStore Store(const Request& request) const { return UserStore(*pools.at(request.worker())); }
  UserStore::Clock::time_point Deadline(const Request& request) const {
    return std::min(request.deadline(), UserStore::Clock::now() + options.statement_timeout);
  }
  // After a committed write: the cache must not hand out the old value from now on.
  asio::awaitable<void> Invalidate(const Request& request, std::int64_t id) const {
    if (cache != nullptr) {
      co_await cache->Invalidate(request.worker(), id, request.deadline());
    }
  }
  // The same when the write returned the row: the cache holds the new version.
  asio::awaitable<void> Recache(const Request& request, const User& user) const {
    if (cache != nullptr) {
      co_await cache->Refresh(request.worker(), MakeCachedUser(user), request.deadline());
    }
  }
  // The hash for a new password; a Response when the hasher is full or failed.
  asio::awaitable<core::Result<std::string, Response>> Hash(const Request& request,
                                                            std::string_view password) const {
    auto hashed = co_await hasher.Hash(password);
    if (hashed.outcome == auth::PasswordHasher::Outcome::kOk) co_return std::move(hashed.hash);
    if (hashed.outcome == auth::PasswordHasher::Outcome::kBusy) {
      Response busy = Problem(
          request, {ErrorCode::kOverloaded, "Too many passwords are being hashed; retry shortly."});
      busy.Header("Retry-After", "1");
      co_return core::Unexpected<Response>{std::move(busy)};
    }
    co_return core::Unexpected<Response>{
        Problem(request, {ErrorCode::kInternal, "Could not hash the password."})};
  }
};

// What an admin write changed, for its audit record: the fields named, and the new role
// and status (never a password or an address).
std::string ChangeDetail(const UpdateUserInput& input) {
  std::string fields;
  const auto add = [&fields](bool present, std::string_view name) {
    if (!present) return;
    if (!fields.empty()) fields += ',';
    fields += '"';
    fields += name;
    fields += '"';
  };
  add(input.email.has_value(), "email");
  add(input.name.has_value(), "name");
  add(input.password.has_value(), "password");
  add(input.role.has_value(), "role");
  add(input.status.has_value(), "status");
  std::string detail = R"({"fields":[)" + fields + "]";
  if (input.role) detail += R"(,"role":")" + std::string(ToString(*input.role)) + '"';
  if (input.status) detail += R"(,"status":")" + std::string(ToString(*input.status)) + '"';
  return detail + '}';
}

// An administrator cannot lock themselves out: another one must demote, disable or
// delete them, so the last administrator cannot vanish by a slip.
Response SelfLockout(const Request& request) {
  return Problem(request,
                 {ErrorCode::kConflict,
                  "Administrators cannot demote, disable or delete themselves; ask another "
                  "administrator."});
}

asio::awaitable<Response> Create(const Context& c, const Request& request, const Caller& caller) {
  if (auto refused = RequireJson(request)) co_return std::move(*refused);
  auto input = ParseCreateUser(request.body());
  if (!input) co_return Problem(request, std::move(input).error());
  std::string hash(kNoPassword);
  if (input->password) {
    auto hashed = co_await c.Hash(request, *input->password);
    if (!hashed) co_return std::move(hashed).error();
    hash = std::move(*hashed);
  }
  auto store = c.Store(request);
  const std::string detail = R"({"role":")" + std::string(ToString(input->role)) +
                             R"(","status":")" + std::string(ToString(input->status)) + R"("})";
  auto user =
      co_await store.Create(*input, std::move(hash),
                            c.Audit(request, caller, "user.created", detail), c.Deadline(request));
  if (!user) co_return StoreProblem(request, user.error());
  co_await c.Recache(request, *user);  // replaces a cached "no such user" for this id
  Response response = UserResponse(201, *user);
  response.Header("Location", "/api/users/" + std::to_string(user->id));
  co_return response;
}

// The answer to a read: 200 with the user, or 304 when If-None-Match names its ETag. What
// it holds depends on who asks, so caches must key it by the credentials too.
Response ReadAnswer(const Request& request, std::string_view etag, std::string json) {
  if (NoneMatchHits(request.Header("If-None-Match"), etag)) {
    Response not_modified;
    not_modified.status = 304;
    not_modified.Header("ETag", std::string(etag));
    not_modified.Header("Vary", "Authorization");
    return not_modified;
  }
  Response response = http::JsonResponse(200, std::move(json));
  response.Header("ETag", std::string(etag));
  response.Header("Vary", "Authorization");
  return response;
}

// The user as `caller` may see them: everything for themselves and admins, the public
// profile (with its own tag: it is another representation) for everybody else.
Response ReadAnswer(const Request& request, const Caller& caller, const CachedUser& user) {
  if (caller.Owns(user.user.id)) return ReadAnswer(request, user.etag, user.json);
  return ReadAnswer(request, user.public_etag, user.public_json);
}

asio::awaitable<Response> Read(const Context& c, const Request& request, const Caller& caller) {
  auto id = ParseId(request.Param("id"));
  if (!id) co_return NotFound(request);
  if (*id == caller.id) co_return ReadAnswer(request, caller, *caller.record);
  if (c.cache != nullptr) {
    if (auto local = c.cache->Peek(request.worker(), *id)) {
      if (!*local) co_return NotFound(request);
      co_return ReadAnswer(request, caller, **local);
    }
  }
  auto store = c.Store(request);
  const auto deadline = c.Deadline(request);
  if (c.cache != nullptr) {
    const UserCache::Load load = [&store, &id, deadline]() { return store.Get(*id, deadline); };
    auto cached = co_await c.cache->Get(request.worker(), *id, load, deadline);
    if (!cached) co_return StoreProblem(request, cached.error());
    co_return ReadAnswer(request, caller, **cached);
  }
  auto user = co_await store.Get(*id, deadline);
  if (!user) co_return StoreProblem(request, user.error());
  co_return ReadAnswer(request, caller, *MakeCachedUser(std::move(*user)));
}

asio::awaitable<Response> Update(const Context& c, const Request& request, const Caller& caller) {
  auto id = ParseId(request.Param("id"));
  if (!id) co_return NotFound(request);
  if (auto refused = RequireJson(request)) co_return std::move(*refused);
  auto input = ParseUpdateUser(request.body());
  if (!input) co_return Problem(request, std::move(input).error());
  if (*id == caller.id && ((input->role && *input->role != Role::kAdmin) ||
                           (input->status && *input->status != Status::kActive))) {
    co_return SelfLockout(request);
  }
  std::optional<std::string> hash;
  if (input->password) {
    auto hashed = co_await c.Hash(request, *input->password);
    if (!hashed) co_return std::move(hashed).error();
    hash = std::move(*hashed);
  }
  auto store = c.Store(request);
  auto user = co_await store.Update(*id, *input, std::move(hash), ReadIfMatch(request),
                                    c.Audit(request, caller, "user.updated", ChangeDetail(*input)),
                                    c.Deadline(request));
  if (!user) co_return StoreProblem(request, user.error());
  co_await c.Recache(request, *user);
  co_return UserResponse(200, *user);
}

asio::awaitable<Response> Remove(const Context& c, const Request& request, const Caller& caller) {
  auto id = ParseId(request.Param("id"));
  if (!id) co_return NotFound(request);
  if (*id == caller.id) co_return SelfLockout(request);
  auto store = c.Store(request);
  auto done = co_await store.Delete(
      *id, ReadIfMatch(request), c.Audit(request, caller, "user.deleted", ""), c.Deadline(request));
  if (!done) co_return StoreProblem(request, done.error());
  co_await c.Invalidate(request, *id);
  Response response;
  response.status = 204;
  co_return response;
}

asio::awaitable<Response> List(const Context& c, const Request& request, const Caller& /*admin*/) {
  auto query = ParseListQuery(request.query(), c.cursors);
  if (!query) co_return Problem(request, std::move(query).error());
  auto store = c.Store(request);
  auto page = co_await store.List(*query, c.Deadline(request));
  if (!page) co_return StoreProblem(request, page.error());
  std::string body = R"({"items":[)";
  for (std::size_t i = 0; i < page->users.size(); ++i) {
    if (i > 0) body += ',';
    AppendJson(body, page->users[i]);
  }
  body += R"(],"next_cursor":)";
  if (page->more && !page->users.empty()) {
    // Cursors are base64url: no character needs escaping inside the JSON string.
    body += '"';
    body += c.cursors.Encode(page->users.back().id, query->q);
    body += '"';
  } else {
    body += "null";
  }
  body += '}';
  co_return http::JsonResponse(200, std::move(body));
}

}  // namespace

UsersApi::UsersApi(const std::vector<db::PgPool*>& pools, const CursorCodec& cursors,
                   auth::PasswordHasher& hasher, Options options, UserCache* cache,
                   const accounts::AccessControl& access)
    : pools_(pools),
      cursors_(cursors),
      hasher_(hasher),
      options_(std::move(options)),
      cache_(cache),
      access_(access) {}

void UsersApi::Register(http::Routes& routes) const {
  auto context = std::make_shared<Context>(Context{pools_, cursors_, hasher_, options_, cache_});
  const auto add = [this, &routes, &context](http::Method method, std::string_view pattern,
                                             const std::string& group,
                                             asio::awaitable<Response> (*handler)(
                                                 const Context&, const Request&, const Caller&)) {
    access_.Add(routes, method, pattern, group,
                [context, handler](const Request& r, const Caller& caller) {
                  return handler(*context, r, caller);
                });
  };
  using http::Method;
  add(Method::kPost, "/api/users", "users-write", Create);
  add(Method::kGet, "/api/users", "users-read", List);
  add(Method::kGet, "/api/users/{id}", "users-read", Read);
  add(Method::kPatch, "/api/users/{id}", "users-write", Update);
  add(Method::kDelete, "/api/users/{id}", "users-write", Remove);
}

}  // namespace myriad::users

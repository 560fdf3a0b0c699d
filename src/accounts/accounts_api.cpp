#include "accounts/accounts_api.hpp"

#include <sodium.h>

#include <boost/asio/awaitable.hpp>
#include <boost/json/serialize.hpp>
#include <boost/json/string.hpp>
#include <charconv>
#include <optional>
#include <string>
#include <utility>

#include "accounts/access.hpp"
#include "accounts/account_store.hpp"
#include "accounts/login_guard.hpp"
#include "api/db_problem.hpp"
#include "auth/authenticator.hpp"
#include "auth/jwks.hpp"
#include "auth/opaque_token.hpp"
#include "auth/password.hpp"
#include "db/pg_pool.hpp"
#include "http/problem.hpp"
#include "users/user_cache.hpp"
#include "users/user_input.hpp"
#include "users/user_store.hpp"

namespace myriad::accounts {
namespace {

namespace asio = boost::asio;
using http::ErrorCode;
using http::Request;
using http::Response;
using Clock = AccountStore::Clock;

// Bodies here are a few short strings; anything bigger is not one of ours.
constexpr std::size_t kMaxAuthBody = 4096;
constexpr std::size_t kMaxUserAgent = 256;
constexpr std::size_t kDefaultAuditPage = 50;
constexpr std::size_t kMaxAuditPage = 500;

// Every auth answer: tokens and account data must not be stored by caches on the way.
Response& Secure(Response& response) {
  response.Header("Cache-Control", "no-store");
  response.Header("X-Content-Type-Options", "nosniff");
  return response;
}

Response Problem(const Request& request, http::Error error) {
  Response response = http::ProblemResponse(error, request.request_id());
  return std::move(Secure(response));
}

Response Unauthorized(const Request& request, std::string detail, bool bad_token) {
  Response response = accounts::Unauthorized(request, std::move(detail), bad_token);
  return std::move(Secure(response));
}

Response Busy(const Request& request) {
  Response busy = Problem(
      request, {ErrorCode::kOverloaded, "Too many password checks are waiting; retry shortly."});
  busy.Header("Retry-After", "1");
  return busy;
}

Response Json(int status, std::string body) {
  Response response = http::JsonResponse(status, std::move(body));
  return std::move(Secure(response));
}

Response NoContent() {
  Response response;
  response.status = 204;
  return std::move(Secure(response));
}

std::string Quote(std::string_view text) {
  return boost::json::serialize(boost::json::string(text));
}

Response AccountResponse(int status, const users::User& user) {
  Response response = Json(status, users::ToJson(user));
  response.Header("ETag", users::MakeETag(user.version));
  return response;
}

Response StoreProblem(const Request& request, const users::StoreError& error) {
  switch (error.failure) {
    case StoreFailure::kNotFound:
      return Problem(request, {ErrorCode::kNotFound, "No such account."});
    case StoreFailure::kDuplicateEmail:
      return Problem(request, {ErrorCode::kConflict,
                               "Another account already has this email address.",
                               {{"email", "taken", "This email address is already in use."}}});
    case StoreFailure::kStale:
      return Problem(request, {ErrorCode::kPreconditionFailed, "The account changed meanwhile."});
    case StoreFailure::kDatabase:
      break;
  }
  Response response = api::DbProblem(error.db, request.request_id());
  return std::move(Secure(response));
}

std::optional<Response> RefuseBody(const Request& request) {
  if (request.body().size() > kMaxAuthBody) {
    return Problem(request,
                   {ErrorCode::kPayloadTooLarge, "Auth request bodies are at most 4096 bytes."});
  }
  std::string type(
      request.Header("Content-Type").substr(0, request.Header("Content-Type").find(';')));
  while (!type.empty() && (type.back() == ' ' || type.back() == '\t')) type.pop_back();
  for (char& ch : type) ch = static_cast<char>(std::tolower(static_cast<unsigned char>(ch)));
  if (type != "application/json") {
    return Problem(request, {ErrorCode::kUnsupportedMediaType,
                             "Send the body as application/json (Content-Type header)."});
  }
  return std::nullopt;
}

http::Error Invalid(std::string field, std::string code, std::string message) {
  return http::Error{ErrorCode::kValidation,
                     message,
                     {http::FieldError{std::move(field), std::move(code), message}}};
}

// The password policy beyond its length: never the account's own address.
std::optional<http::Error> CheckNewPassword(std::string_view password, std::string_view email,
                                            std::string_view field) {
  if (auto error = users::CheckPassword(password, field)) {
    return http::Error{ErrorCode::kValidation, error->message, {*error}};
  }
  if (users::NormalizeEmail(password) == std::optional<std::string>(email)) {
    return Invalid(std::string(field), "same_as_email",
                   std::string(field) + " must not be the email address.");
  }
  return std::nullopt;
}

void Wipe(std::string& secret) {
  if (!secret.empty()) sodium_memzero(secret.data(), secret.size());
}

struct Context {
  const std::vector<db::PgPool*>& pools;
  auth::PasswordHasher& hasher;
  auth::Authenticator& authn;
  LoginGuard& guard;
  AccountsApi::Options options;
  users::UserCache* cache;

  AccountStore Store(const Request& request) const {
    return AccountStore(*pools.at(request.worker()));
  }
  Clock::time_point Deadline(const Request& request) const {
    return std::min(request.deadline(), Clock::now() + options.statement_timeout);
  }
  std::string Client(const Request& request) const {
    return net::ClientAddress(request.peer(), request.Header("X-Forwarded-For"),
                              options.trusted_proxies);
  }
  AuditEvent Audit(const Request& request, std::string action, std::int64_t actor,
                   std::int64_t target) const {
    AuditEvent event;
    event.actor_id = actor;
    event.action = std::move(action);
    event.target_id = target;
    event.ip = Client(request);
    event.request_id = std::string(request.request_id());
    return event;
  }
  NewSession Session(const Request& request, std::int64_t user_id, std::string token_hash) const {
    NewSession session;
    session.user_id = user_id;
    session.token_hash = std::move(token_hash);
    session.lifetime = options.refresh_ttl;
    session.user_agent = std::string(request.Header("User-Agent").substr(0, kMaxUserAgent));
    session.ip = Client(request);
    return session;
  }
  // After a committed write that returned the row: the cache holds the new version.
  asio::awaitable<void> Recache(const Request& request, const users::User& user) const {
    if (cache != nullptr) {
      co_await cache->Refresh(request.worker(), users::MakeCachedUser(user), request.deadline());
    }
  }
  // The {access_token, ..., refresh_token} answer.
  Response Tokens(const users::User& user, const std::string& refresh) const {
    const auto now = auth::UnixNow();
    const std::string access = authn.Issue(user.id, user.role == users::Role::kAdmin, now);
    std::string body = R"({"access_token":")" + access +
                       R"(","token_type":"Bearer","expires_in":)" +
                       std::to_string(authn.options().access_ttl.count()) +
                       R"(,"refresh_token":")" + refresh + R"("})";
    return Json(200, std::move(body));
  }
};

asio::awaitable<Response> RegisterAccount(const Context& c, const Request& request) {
  if (auto refused = RefuseBody(request)) co_return std::move(*refused);
  auto fields = users::ParseStringFields(request.body(), {"email", "password", "name"},
                                         {"email", "password", "name"});
  if (!fields) co_return Problem(request, std::move(fields).error());
  auto email = users::NormalizeEmail(fields->at("email"));
  if (!email) {
    co_return Problem(request, Invalid("email", "invalid",
                                       "email must be a valid address such as ada@example.com."));
  }
  auto name = users::CheckName(fields->at("name"));
  if (!name)
    co_return Problem(request, {ErrorCode::kValidation, name.error().message, {name.error()}});
  std::string& password = fields->at("password");
  if (auto bad = CheckNewPassword(password, *email, "password")) co_return Problem(request, *bad);
  auto hashed = co_await c.hasher.Hash(password);
  Wipe(password);
  if (hashed.outcome == auth::PasswordHasher::Outcome::kBusy) co_return Busy(request);
  if (hashed.outcome != auth::PasswordHasher::Outcome::kOk) {
    co_return Problem(request, {ErrorCode::kInternal, "Could not hash the password."});
  }
  users::CreateUserInput input;
  input.email = *email;
  input.name = std::move(*name);
  const std::string token = auth::NewOpaqueToken();
  OutboxMessage message{"verify_email", *email, "Verify your email address",
                        "Confirm this address for your Myriad account with this code: " + token +
                            "\n(POST /api/auth/verify-email {\"token\": \"...\"}; it expires in 24 "
                            "hours.)\n"};
  auto store = c.Store(request);
  auto user = co_await store.Register(
      input, std::move(hashed.hash), auth::HashOpaqueToken(token), c.options.verify_ttl,
      std::move(message), c.Audit(request, "user.registered", 0, 0), c.Deadline(request));
  if (!user) co_return StoreProblem(request, user.error());
  co_await c.Recache(request, *user);  // replaces a cached "no such user" for this id
  Response response = AccountResponse(201, *user);
  response.Header("Location", "/api/users/" + std::to_string(user->id));
  co_return response;
}

// The hash was made with another cost than the configured one: store a new one. Best
// effort: a busy pool or a failed write leaves the old hash, which still verifies.
asio::awaitable<void> Rehash(const Context& c, AccountStore& store, const Credentials& account,
                             const std::string& password, const Request& request) {
  auto hashed = co_await c.hasher.Hash(password);
  if (hashed.outcome != auth::PasswordHasher::Outcome::kOk) co_return;
  (void)co_await store.Rehash(account.user.id, account.password_hash, std::move(hashed.hash),
                              c.Deadline(request));
}

Response LockedOut(const Request& request, std::chrono::seconds retry_after) {
  Response response = Problem(
      request, {ErrorCode::kTooManyRequests,
                "Too many failed logins for this account; try again after Retry-After seconds."});
  response.Header("Retry-After", std::to_string(retry_after.count()));
  return response;
}

Response BadCredentials(const Request& request) {
  return Unauthorized(request, "The email address or the password is wrong.", false);
}

asio::awaitable<Response> Login(const Context& c, const Request& request) {
  if (auto refused = RefuseBody(request)) co_return std::move(*refused);
  auto fields =
      users::ParseStringFields(request.body(), {"email", "password"}, {"email", "password"});
  if (!fields) co_return Problem(request, std::move(fields).error());
  std::string password = std::move(fields->at("password"));
  const auto email = users::NormalizeEmail(fields->at("email"));
  // Counted per address as given (normalised when it is one), whether or not an account
  // has it: lockouts must not tell which addresses exist either.
  const std::string account_key = email ? *email : fields->at("email");
  if (auto locked = co_await c.guard.Locked(request.worker(), account_key, c.Deadline(request))) {
    Wipe(password);
    co_return LockedOut(request, *locked);
  }
  auto store = c.Store(request);
  std::optional<Credentials> account;
  if (email) {
    auto found = co_await store.FindByEmail(*email, c.Deadline(request));
    if (found) {
      account = std::move(*found);
    } else if (found.error().failure != StoreFailure::kNotFound) {
      Wipe(password);
      co_return StoreProblem(request, found.error());
    }
  }
  // Kept for a rehash after a match (Verify wipes its own copy); wiped on every way out.
  std::string retained = account ? password : std::string();
  // An unknown address costs one verification too, so timing does not tell it apart.
  auto checked = account ? co_await c.hasher.Verify(account->password_hash, std::move(password))
                         : co_await c.hasher.VerifyDummy(std::move(password));
  if (checked.outcome == auth::PasswordHasher::Outcome::kBusy) {
    Wipe(retained);
    co_return Busy(request);
  }
  if (account && checked.needs_rehash) {
    co_await Rehash(c, store, *account, retained, request);
  }
  Wipe(retained);
  if (!account || checked.check != auth::PasswordCheck::kMatch) {
    (void)co_await c.guard.Failed(request.worker(), account_key, c.Deadline(request));
    const std::int64_t target = account ? account->user.id : 0;
    (void)co_await store.Audit(c.Audit(request, "login.failed", 0, target), c.Deadline(request));
    co_return BadCredentials(request);
  }
  const users::User& user = account->user;
  if (user.status != users::Status::kActive) {
    (void)co_await store.Audit(c.Audit(request, "login.refused_disabled", user.id, user.id),
                               c.Deadline(request));
    co_return Problem(request, {ErrorCode::kForbidden, "This account is disabled."});
  }
  co_await c.guard.Succeeded(request.worker(), account_key, c.Deadline(request));
  const std::string refresh = auth::NewOpaqueToken();
  auto session = co_await store.CreateSession(
      c.Session(request, user.id, auth::HashOpaqueToken(refresh)), c.Deadline(request));
  if (!session) co_return StoreProblem(request, session.error());
  (void)co_await store.Audit(c.Audit(request, "login.succeeded", user.id, user.id),
                             c.Deadline(request));
  co_return c.Tokens(user, refresh);
}

asio::awaitable<Response> Refresh(const Context& c, const Request& request) {
  if (auto refused = RefuseBody(request)) co_return std::move(*refused);
  auto fields = users::ParseStringFields(request.body(), {"refresh_token"}, {"refresh_token"});
  if (!fields) co_return Problem(request, std::move(fields).error());
  const std::string& presented = fields->at("refresh_token");
  if (!auth::LooksLikeOpaqueToken(presented)) {
    co_return Unauthorized(request, "The refresh token is not valid.", true);
  }
  const std::string fresh = auth::NewOpaqueToken();
  auto store = c.Store(request);
  auto rotation = co_await store.RotateSession(auth::HashOpaqueToken(presented),
                                               c.Session(request, 0, auth::HashOpaqueToken(fresh)),
                                               c.Deadline(request));
  if (!rotation) co_return StoreProblem(request, rotation.error());
  switch (rotation->outcome) {
    case RotateOutcome::kRotated:
      co_return c.Tokens(*rotation->user, fresh);
    case RotateOutcome::kReused:
      (void)co_await store.Audit(c.Audit(request, "session.reuse_detected", 0, 0),
                                 c.Deadline(request));
      co_return Unauthorized(request,
                             "This refresh token was already used; every session descended from "
                             "it has been ended. Log in again.",
                             true);
    case RotateOutcome::kInactive:
      co_return Problem(request, {ErrorCode::kForbidden, "This account is disabled."});
    case RotateOutcome::kExpired:
    case RotateOutcome::kUnknown:
      break;
  }
  co_return Unauthorized(request, "The refresh token is not valid or has expired.", true);
}

asio::awaitable<Response> Logout(const Context& c, const Request& request) {
  if (auto refused = RefuseBody(request)) co_return std::move(*refused);
  auto fields = users::ParseStringFields(request.body(), {"refresh_token"}, {"refresh_token"});
  if (!fields) co_return Problem(request, std::move(fields).error());
  const std::string& presented = fields->at("refresh_token");
  // Idempotent: an unknown or already ended session is just as logged out.
  if (!auth::LooksLikeOpaqueToken(presented)) co_return NoContent();
  auto store = c.Store(request);
  auto revoked =
      co_await store.RevokeFamily(auth::HashOpaqueToken(presented), 0, c.Deadline(request));
  if (!revoked) co_return StoreProblem(request, revoked.error());
  co_return NoContent();
}

// The caller's own row with the password hash, straight from the database.
asio::awaitable<core::Result<Credentials, Response>> Me(const Context& c, const Request& request,
                                                        AccountStore& store, const Caller& caller) {
  auto account = co_await store.FindById(caller.id, c.Deadline(request));
  if (!account) {
    if (account.error().failure == StoreFailure::kNotFound) {
      co_return core::Unexpected<Response>{
          Unauthorized(request, "The account of this token no longer exists.", true)};
    }
    co_return core::Unexpected<Response>{StoreProblem(request, account.error())};
  }
  co_return std::move(*account);
}

// Access control read the caller's record through the user cache: that is the answer.
asio::awaitable<Response> GetMe(const Context& /*c*/, const Request& request,
                                const Caller& caller) {
  const users::CachedUser& me = *caller.record;
  if (request.Header("If-None-Match") == me.etag) {
    Response not_modified;
    not_modified.status = 304;
    not_modified.Header("ETag", me.etag);
    co_return std::move(Secure(not_modified));
  }
  Response response = Json(200, me.json);
  response.Header("ETag", me.etag);
  co_return response;
}

asio::awaitable<Response> PatchMe(const Context& c, const Request& request, const Caller& caller) {
  if (auto refused = RefuseBody(request)) co_return std::move(*refused);
  auto store = c.Store(request);
  auto fields = users::ParseStringFields(request.body(), {"name", "email"}, {});
  if (!fields) co_return Problem(request, std::move(fields).error());
  if (fields->empty()) {
    co_return Problem(request, Invalid("", "empty", "Send name, email or both."));
  }
  std::optional<std::string> email;
  if (fields->contains("email")) {
    email = users::NormalizeEmail(fields->at("email"));
    if (!email) {
      co_return Problem(request, Invalid("email", "invalid",
                                         "email must be a valid address such as ada@example.com."));
    }
  }
  std::optional<std::string> name;
  if (fields->contains("name")) {
    auto checked = users::CheckName(fields->at("name"));
    if (!checked) {
      co_return Problem(request,
                        {ErrorCode::kValidation, checked.error().message, {checked.error()}});
    }
    name = std::move(*checked);
  }
  const std::int64_t id = caller.id;
  users::User user = caller.record->user;
  bool wrote = false;
  if (email && *email != user.email) {
    const std::string token = auth::NewOpaqueToken();
    OutboxMessage message{
        "verify_email", *email, "Verify your new email address",
        "Confirm this address for your Myriad account with this code: " + token + "\n"};
    auto changed = co_await store.ChangeEmail(
        id, *email, auth::HashOpaqueToken(token), c.options.verify_ttl, std::move(message),
        c.Audit(request, "email.changed", id, id), c.Deadline(request));
    if (!changed) co_return StoreProblem(request, changed.error());
    user = std::move(*changed);
    wrote = true;
  }
  if (name && *name != user.name) {
    users::UpdateUserInput input;
    input.name = std::move(name);
    users::UserStore users_store(*c.pools.at(request.worker()));
    users::AuditNote audit;
    audit.actor_id = id;
    audit.action = "user.updated";
    audit.ip = c.Client(request);
    audit.request_id = std::string(request.request_id());
    audit.detail = R"({"fields":["name"]})";
    auto updated = co_await users_store.Update(id, input, std::nullopt, std::nullopt, audit,
                                               c.Deadline(request));
    if (!updated) co_return StoreProblem(request, updated.error());
    user = std::move(*updated);
    wrote = true;
  }
  if (wrote) {
    co_await c.Recache(request, user);
  }
  co_return AccountResponse(200, user);
}

asio::awaitable<Response> ChangeMyPassword(const Context& c, const Request& request,
                                           const Caller& caller) {
  if (auto refused = RefuseBody(request)) co_return std::move(*refused);
  auto store = c.Store(request);
  auto me = co_await Me(c, request, store, caller);
  if (!me) co_return std::move(me).error();
  auto fields = users::ParseStringFields(request.body(), {"current_password", "new_password"},
                                         {"current_password", "new_password"});
  if (!fields) co_return Problem(request, std::move(fields).error());
  std::string fresh = std::move(fields->at("new_password"));
  if (auto bad = CheckNewPassword(fresh, me->user.email, "new_password")) {
    Wipe(fresh);
    co_return Problem(request, *bad);
  }
  auto checked =
      co_await c.hasher.Verify(me->password_hash, std::move(fields->at("current_password")));
  if (checked.outcome == auth::PasswordHasher::Outcome::kBusy) co_return Busy(request);
  if (checked.check != auth::PasswordCheck::kMatch) {
    Wipe(fresh);
    co_return Problem(request,
                      {ErrorCode::kForbidden,
                       "The current password is wrong.",
                       {{"current_password", "mismatch", "The current password is wrong."}}});
  }
  auto hashed = co_await c.hasher.Hash(fresh);
  Wipe(fresh);
  if (hashed.outcome == auth::PasswordHasher::Outcome::kBusy) co_return Busy(request);
  if (hashed.outcome != auth::PasswordHasher::Outcome::kOk) {
    co_return Problem(request, {ErrorCode::kInternal, "Could not hash the password."});
  }
  const std::int64_t id = me->user.id;
  OutboxMessage message{"password_changed", me->user.email, "Your password was changed",
                        "The password of your Myriad account was changed. If this was not you, "
                        "reset it now.\n"};
  auto user = co_await store.ChangePassword(id, std::move(hashed.hash), 0, std::move(message),
                                            c.Audit(request, "password.changed", id, id),
                                            c.Deadline(request));
  if (!user) co_return StoreProblem(request, user.error());
  co_await c.Recache(request, *user);
  // Every session ended with the change; the caller carries on in a new one.
  const std::string refresh = auth::NewOpaqueToken();
  auto session = co_await store.CreateSession(
      c.Session(request, id, auth::HashOpaqueToken(refresh)), c.Deadline(request));
  if (!session) co_return StoreProblem(request, session.error());
  co_return c.Tokens(*user, refresh);
}

Response InvalidToken(const Request& request) {
  return Problem(request,
                 Invalid("token", "invalid", "The token is unknown, already used or expired."));
}

asio::awaitable<Response> VerifyEmail(const Context& c, const Request& request) {
  if (auto refused = RefuseBody(request)) co_return std::move(*refused);
  auto fields = users::ParseStringFields(request.body(), {"token"}, {"token"});
  if (!fields) co_return Problem(request, std::move(fields).error());
  const std::string& token = fields->at("token");
  if (!auth::LooksLikeOpaqueToken(token)) co_return InvalidToken(request);
  auto store = c.Store(request);
  auto user = co_await store.VerifyEmail(
      auth::HashOpaqueToken(token), c.Audit(request, "email.verified", 0, 0), c.Deadline(request));
  if (!user) {
    if (user.error().failure == StoreFailure::kNotFound) co_return InvalidToken(request);
    co_return StoreProblem(request, user.error());
  }
  co_await c.Recache(request, *user);
  co_return AccountResponse(200, *user);
}

asio::awaitable<Response> ForgotPassword(const Context& c, const Request& request) {
  if (auto refused = RefuseBody(request)) co_return std::move(*refused);
  auto fields = users::ParseStringFields(request.body(), {"email"}, {"email"});
  if (!fields) co_return Problem(request, std::move(fields).error());
  // 202 whatever happens below, so the answer never tells whether the address exists.
  Response accepted = Json(202, R"({"status":"accepted"})");
  const auto email = users::NormalizeEmail(fields->at("email"));
  if (!email) co_return accepted;
  auto store = c.Store(request);
  auto account = co_await store.FindByEmail(*email, c.Deadline(request));
  if (!account || account->user.status != users::Status::kActive) co_return accepted;
  const std::string token = auth::NewOpaqueToken();
  OutboxMessage message{"reset_password", *email, "Reset your password",
                        "Set a new password for your Myriad account with this code: " + token +
                            "\n(POST /api/auth/reset-password {\"token\": \"...\", "
                            "\"new_password\": \"...\"}; it expires in an hour.)\n"};
  (void)co_await store.IssueToken(account->user.id, TokenPurpose::kResetPassword,
                                  auth::HashOpaqueToken(token), c.options.reset_ttl,
                                  std::move(message), c.Deadline(request));
  co_return accepted;
}

asio::awaitable<Response> ResetPassword(const Context& c, const Request& request) {
  if (auto refused = RefuseBody(request)) co_return std::move(*refused);
  auto fields = users::ParseStringFields(request.body(), {"token", "new_password"},
                                         {"token", "new_password"});
  if (!fields) co_return Problem(request, std::move(fields).error());
  const std::string& token = fields->at("token");
  std::string fresh = std::move(fields->at("new_password"));
  if (auto error = users::CheckPassword(fresh, "new_password")) {
    co_return Problem(request, {ErrorCode::kValidation, error->message, {*error}});
  }
  if (!auth::LooksLikeOpaqueToken(token)) co_return InvalidToken(request);
  auto hashed = co_await c.hasher.Hash(fresh);
  Wipe(fresh);
  if (hashed.outcome == auth::PasswordHasher::Outcome::kBusy) co_return Busy(request);
  if (hashed.outcome != auth::PasswordHasher::Outcome::kOk) {
    co_return Problem(request, {ErrorCode::kInternal, "Could not hash the password."});
  }
  auto store = c.Store(request);
  auto user =
      co_await store.ResetPassword(auth::HashOpaqueToken(token), std::move(hashed.hash),
                                   c.Audit(request, "password.reset", 0, 0), c.Deadline(request));
  if (!user) {
    if (user.error().failure == StoreFailure::kNotFound) co_return InvalidToken(request);
    co_return StoreProblem(request, user.error());
  }
  co_await c.Recache(request, *user);
  co_return NoContent();
}

std::optional<std::int64_t> ParsePositive(std::string_view text) {
  std::int64_t value = 0;
  const auto* end = text.data() + text.size();
  const auto [ptr, ec] = std::from_chars(text.data(), end, value);
  if (ec != std::errc{} || ptr != end || value < 1) return std::nullopt;
  return value;
}

// ?before=<id>&limit=<n>: anything else is refused, as the users list does.
core::Result<std::pair<std::int64_t, std::size_t>, http::Error> ParseAuditQuery(
    std::string_view query) {
  std::int64_t before = 0;
  std::size_t limit = kDefaultAuditPage;
  while (!query.empty()) {
    const auto amp = query.find('&');
    const std::string_view pair = query.substr(0, amp);
    query = amp == std::string_view::npos ? std::string_view{} : query.substr(amp + 1);
    const auto eq = pair.find('=');
    const std::string_view key = pair.substr(0, eq);
    const std::string_view value = eq == std::string_view::npos ? "" : pair.substr(eq + 1);
    const auto number = ParsePositive(value);
    if (key == "before" && number) {
      before = *number;
    } else if (key == "limit" && number && *number <= static_cast<std::int64_t>(kMaxAuditPage)) {
      limit = static_cast<std::size_t>(*number);
    } else {
      return core::Unexpected<http::Error>{
          http::Error{ErrorCode::kBadRequest,
                      "Query parameters: before (a positive event id) and limit (1..500) only."}};
    }
  }
  return std::pair{before, limit};
}

std::string AuditJson(const AuditRecord& r) {
  const auto id_or_null = [](const std::optional<std::int64_t>& v) {
    return v ? std::to_string(*v) : std::string("null");
  };
  return R"({"id":)" + std::to_string(r.id) + R"(,"at":)" + Quote(r.at) + R"(,"actor_id":)" +
         id_or_null(r.actor_id) + R"(,"action":)" + Quote(r.action) + R"(,"target_id":)" +
         id_or_null(r.target_id) + R"(,"ip":)" + Quote(r.ip) + R"(,"request_id":)" +
         Quote(r.request_id) + R"(,"detail":)" + (r.detail.empty() ? "{}" : r.detail) + "}";
}

asio::awaitable<Response> ListAudit(const Context& c, const Request& request,
                                    const Caller& /*admin*/) {
  auto store = c.Store(request);
  auto query = ParseAuditQuery(request.query());
  if (!query) co_return Problem(request, std::move(query).error());
  auto rows = co_await store.ListAudit(query->first, query->second + 1, c.Deadline(request));
  if (!rows) co_return StoreProblem(request, rows.error());
  const bool more = rows->size() > query->second;
  if (more) rows->pop_back();
  std::string body = R"({"items":[)";
  for (std::size_t i = 0; i < rows->size(); ++i) {
    if (i > 0) body += ',';
    body += AuditJson((*rows)[i]);
  }
  body += R"(],"next_before":)";
  body += more && !rows->empty() ? std::to_string(rows->back().id) : "null";
  body += '}';
  co_return Json(200, std::move(body));
}

}  // namespace

AccountsApi::AccountsApi(const std::vector<db::PgPool*>& pools, auth::PasswordHasher& hasher,
                         auth::Authenticator& authenticator, LoginGuard& guard, Options options,
                         users::UserCache* cache, const AccessControl& access)
    : pools_(pools),
      hasher_(hasher),
      authenticator_(authenticator),
      guard_(guard),
      options_(std::move(options)),
      cache_(cache),
      access_(access) {}

void AccountsApi::Register(http::Routes& routes) const {
  auto context =
      std::make_shared<Context>(Context{pools_, hasher_, authenticator_, guard_, options_, cache_});
  using Public = asio::awaitable<Response> (*)(const Context&, const Request&);
  using Guarded = asio::awaitable<Response> (*)(const Context&, const Request&, const Caller&);
  const auto open = [this, &routes, &context](http::Method method, std::string_view pattern,
                                              const std::string& group, Public handler) {
    access_.AddPublic(routes, method, pattern, group,
                      [context, handler](const Request& r) { return handler(*context, r); });
  };
  const auto guarded = [this, &routes, &context](http::Method method, std::string_view pattern,
                                                 const std::string& group, Guarded handler) {
    access_.Add(routes, method, pattern, group,
                [context, handler](const Request& r, const Caller& caller) {
                  return handler(*context, r, caller);
                });
  };
  using http::Method;
  open(Method::kPost, "/api/auth/register", "auth", RegisterAccount);
  open(Method::kPost, "/api/auth/login", "auth-login", Login);
  open(Method::kPost, "/api/auth/refresh", "auth", Refresh);
  open(Method::kPost, "/api/auth/logout", "auth", Logout);
  open(Method::kPost, "/api/auth/verify-email", "auth", VerifyEmail);
  open(Method::kPost, "/api/auth/forgot-password", "auth", ForgotPassword);
  open(Method::kPost, "/api/auth/reset-password", "auth", ResetPassword);
  guarded(Method::kGet, "/api/users/me", "users-read", GetMe);
  guarded(Method::kPatch, "/api/users/me", "users-write", PatchMe);
  guarded(Method::kPost, "/api/users/me/password", "auth", ChangeMyPassword);
  guarded(Method::kGet, "/api/admin/audit", "users-read", ListAudit);
  // The public keys change only with a restart: rendered once.
  auto jwks = std::make_shared<const std::string>(auth::RenderJwks(authenticator_.keys()));
  access_.AddPublic(routes, Method::kGet, "/.well-known/jwks.json", [jwks](const Request&) {
    Response response = http::JsonResponse(200, *jwks);
    response.Header("Cache-Control", "public, max-age=300");
    return response;
  });
}

}  // namespace myriad::accounts

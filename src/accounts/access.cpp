#include "accounts/access.hpp"

#include <algorithm>
#include <array>
#include <stdexcept>
#include <utility>

#include "api/db_problem.hpp"
#include "auth/authenticator.hpp"
#include "db/pg_pool.hpp"
#include "http/problem.hpp"
#include "ratelimit/rate_limiter.hpp"
#include "users/user_store.hpp"

namespace myriad::accounts {
namespace {

namespace asio = boost::asio;
using http::ErrorCode;
using http::Method;
using http::Request;
using http::Response;

// clang-format off
constexpr std::array kRules{
    AccessRule{Method::kPost,   "/api/auth/register",        Access::kAnyone, ""},
    AccessRule{Method::kPost,   "/api/auth/login",           Access::kAnyone, ""},
    AccessRule{Method::kPost,   "/api/auth/refresh",         Access::kAnyone, "the refresh token is the credential"},
    AccessRule{Method::kPost,   "/api/auth/logout",          Access::kAnyone, "the refresh token is the credential"},
    AccessRule{Method::kPost,   "/api/auth/verify-email",    Access::kAnyone, "the mailed token is the credential"},
    AccessRule{Method::kPost,   "/api/auth/forgot-password", Access::kAnyone, ""},
    AccessRule{Method::kPost,   "/api/auth/reset-password",  Access::kAnyone, "the mailed token is the credential"},
    AccessRule{Method::kGet,    "/.well-known/jwks.json",    Access::kAnyone, ""},
    AccessRule{Method::kGet,    "/api/users/me",             Access::kUser,   "the caller's own account"},
    AccessRule{Method::kPatch,  "/api/users/me",             Access::kUser,   "name and email only"},
    AccessRule{Method::kPost,   "/api/users/me/password",    Access::kUser,   "needs the current password"},
    AccessRule{Method::kGet,    "/api/users/{id}",           Access::kUser,   "self and admins: everything; others: id, name, created_at"},
    AccessRule{Method::kGet,    "/api/users",                Access::kAdmin,  "list and search"},
    AccessRule{Method::kPost,   "/api/users",                Access::kAdmin,  ""},
    AccessRule{Method::kPatch,  "/api/users/{id}",           Access::kAdmin,  "any field, role and status included"},
    AccessRule{Method::kDelete, "/api/users/{id}",           Access::kAdmin,  ""},
    AccessRule{Method::kGet,    "/api/admin/audit",          Access::kAdmin,  ""},
};
// clang-format on

Access Require(Method method, std::string_view pattern) {
  const auto rule = RuleFor(method, pattern);
  if (!rule) {
    throw std::logic_error("no access rule for " + std::string(http::ToString(method)) + " " +
                           std::string(pattern) + " (accounts/access.cpp)");
  }
  return *rule;
}

}  // namespace

Response Unauthorized(const Request& request, std::string detail, bool bad_token) {
  Response response =
      http::ProblemResponse({ErrorCode::kUnauthorized, std::move(detail)}, request.request_id());
  std::erase_if(response.headers, [](const auto& h) { return h.first == "WWW-Authenticate"; });
  response.Header("WWW-Authenticate", bad_token ? R"(Bearer realm="myriad", error="invalid_token")"
                                                : R"(Bearer realm="myriad")");
  return response;
}

std::span<const AccessRule> AccessRules() { return kRules; }

std::optional<Access> RuleFor(Method method, std::string_view pattern) {
  const auto* it = std::find_if(kRules.begin(), kRules.end(), [&](const AccessRule& rule) {
    return rule.method == method && rule.pattern == pattern;
  });
  if (it == kRules.end()) return std::nullopt;
  return it->access;
}

struct AccessControl::State {
  auth::Authenticator& authn;
  const std::vector<db::PgPool*>& pools;
  users::UserCache* cache;
  ratelimit::RateLimiter* limiter;
  Options options;

  static http::AsyncHandler Limited(const std::shared_ptr<const State>& self,
                                    const std::string& group, http::AsyncHandler handler) {
    if (self->limiter == nullptr) return handler;
    return self->limiter->Wrap(group, std::move(handler), [self](const Request& request) {
      // Only a token this thread has already verified names the bucket: an unverified one
      // costs a signature check, which must not run before the client was limited.
      if (auto known = self->authn.Known(request.worker(), request.Header("Authorization"),
                                         auth::UnixNow())) {
        return "user:" + std::to_string(known->user_id);
      }
      return std::string();  // the client's address
    });
  }

  asio::awaitable<users::StoreResult<users::CachedUserPtr>> Load(
      const Request& request, users::UserStore& store, std::int64_t user_id,
      users::UserStore::Clock::time_point deadline) const {
    if (cache != nullptr) {
      const users::UserCache::Load load = [&store, user_id, deadline]() {
        return store.Get(user_id, deadline);
      };
      co_return co_await cache->Get(request.worker(), user_id, load, deadline);
    }
    auto user = co_await store.Get(user_id, deadline);
    if (!user) co_return core::Unexpected<users::StoreError>{std::move(user).error()};
    co_return users::MakeCachedUser(std::move(*user));
  }

  // The account behind a verified token, or the answer.
  asio::awaitable<core::Result<Caller, Response>> Resolve(const Request& request,
                                                          std::int64_t user_id) const {
    users::CachedUserPtr record;
    std::optional<users::CachedUserPtr> local;
    if (cache != nullptr) local = cache->Peek(request.worker(), user_id);
    if (local) {
      record = std::move(*local);
    } else {
      users::UserStore store(*pools.at(request.worker()));
      const auto deadline =
          std::min(request.deadline(), users::UserStore::Clock::now() + options.statement_timeout);
      auto found = co_await Load(request, store, user_id, deadline);
      if (found) {
        record = std::move(*found);
      } else if (found.error().failure != users::StoreFailure::kNotFound) {
        co_return core::Unexpected<Response>{
            api::DbProblem(found.error().db, request.request_id())};
      }
    }
    if (record == nullptr) {
      co_return core::Unexpected<Response>{
          Unauthorized(request, "The account of this token no longer exists.", true)};
    }
    if (record->user.status != users::Status::kActive) {
      co_return core::Unexpected<Response>{
          Unauthorized(request, "This account is disabled.", true)};
    }
    Caller caller;
    caller.id = user_id;
    caller.admin = record->user.role == users::Role::kAdmin;
    caller.record = std::move(record);
    co_return caller;
  }

  asio::awaitable<Response> Guard(Access access, const GuardedHandler& handler,
                                  const Request& request) const {
    const std::string_view header = request.Header("Authorization");
    std::int64_t user_id = 0;
    if (header.empty() && options.insecure_anonymous_user) {
      user_id = *options.insecure_anonymous_user;
    } else {
      auto principal = authn.Authenticate(request.worker(), header, auth::UnixNow());
      if (!principal) {
        // RFC 6750 3.1: no error code for a request without a bearer token (none, or
        // another scheme such as Basic); invalid_token for a bearer token that failed.
        if (!auth::IsBearerScheme(header)) {
          co_return Unauthorized(request, "Log in and send the access token as a Bearer token.",
                                 false);
        }
        co_return Unauthorized(request, "The access token is not valid.", true);
      }
      user_id = principal->user_id;
    }
    auto caller = co_await Resolve(request, user_id);
    if (!caller) co_return std::move(caller).error();
    if (access == Access::kAdmin && !caller->admin) {
      co_return http::ProblemResponse({ErrorCode::kForbidden, "Only administrators may do this."},
                                      request.request_id());
    }
    co_return co_await handler(request, *caller);
  }
};

AccessControl::AccessControl(auth::Authenticator& authenticator,
                             const std::vector<db::PgPool*>& pools, users::UserCache* cache,
                             ratelimit::RateLimiter* limiter, Options options)
    : state_(std::make_shared<State>(State{authenticator, pools, cache, limiter, options})) {}

void AccessControl::Add(http::Routes& routes, Method method, std::string_view pattern,
                        const std::string& group, GuardedHandler handler) const {
  const Access access = Require(method, pattern);
  if (access == Access::kAnyone) {
    throw std::logic_error("AccessControl::Add for a public route: " + std::string(pattern));
  }
  auto state = state_;
  http::AsyncHandler guarded = [state, access, handler = std::move(handler)](const Request& r) {
    return state->Guard(access, handler, r);
  };
  routes.AddAsync(method, pattern, State::Limited(state_, group, std::move(guarded)));
}

void AccessControl::AddPublic(http::Routes& routes, Method method, std::string_view pattern,
                              const std::string& group, http::AsyncHandler handler) const {
  if (Require(method, pattern) != Access::kAnyone) {
    throw std::logic_error("AccessControl::AddPublic for a protected route: " +
                           std::string(pattern));
  }
  routes.AddAsync(method, pattern, State::Limited(state_, group, std::move(handler)));
}

// A member for symmetry with the other two: every route goes through the access control.
// NOLINTNEXTLINE(readability-convert-member-functions-to-static)
void AccessControl::AddPublic(http::Routes& routes, Method method, std::string_view pattern,
                              http::SyncHandler handler) const {
  if (Require(method, pattern) != Access::kAnyone) {
    throw std::logic_error("AccessControl::AddPublic for a protected route: " +
                           std::string(pattern));
  }
  routes.Add(method, pattern, std::move(handler));
}

}  // namespace myriad::accounts

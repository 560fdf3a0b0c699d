#pragma once

#include <boost/asio/awaitable.hpp>
#include <chrono>
#include <cstdint>
#include <functional>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "http/handler.hpp"
#include "users/user_cache.hpp"

namespace myriad::db {
class PgPool;
}
namespace myriad::auth {
class Authenticator;
}
namespace myriad::ratelimit {
class RateLimiter;
}

namespace myriad::accounts {

/// Who may call a route.
enum class Access : std::uint8_t {
  kAnyone,  // no credentials: register, log in, refresh, recover, the public keys
  kUser,    // any active account with a valid access token
  kAdmin,   // an active administrator
};

struct AccessRule {
  http::Method method;
  std::string_view pattern;
  Access access;
  /// What else the handler decides, for the reader of the table.
  std::string_view note;
};

/// The rule table: every route of the accounts and users APIs, once. AccessControl::Add()
/// refuses a route that is not in it, so a new endpoint cannot go live without a rule.
std::span<const AccessRule> AccessRules();

/// The caller as access control established it.
struct Caller {
  std::int64_t id = 0;
  /// The role the account has now (not the token's claim, which may predate a demotion).
  bool admin = false;
  /// The caller's own record, from the user cache (or the database without one).
  users::CachedUserPtr record;

  /// May see and change everything of user `user_id`: themselves, or an admin.
  bool Owns(std::int64_t user_id) const { return admin || id == user_id; }
};

using GuardedHandler =
    std::function<boost::asio::awaitable<http::Response>(const http::Request&, const Caller&)>;

/// Authentication and authorization in front of handlers, per AccessRules():
///  - no or malformed credentials on a kUser/kAdmin route: 401 with WWW-Authenticate
///    (`error="invalid_token"` when a token was presented but failed);
///  - a valid token whose account is gone or disabled: 401 invalid_token. The account is
///    read through the user cache, so a disabled user's live tokens stop working within
///    the cache's life (at once on this instance; on others within --cache-local-ttl, or
///    --cache-local-ttl-degraded while the invalidation feed is down);
///  - a user on a kAdmin route: 403.
/// Rate limits run first (the verification of a token nobody has seen is behind them):
/// requests bearing a token this io thread already verified are counted per user, every
/// other request per client address.
class AccessControl {
 public:
  struct Options {
    std::chrono::milliseconds statement_timeout{5'000};
    /// Development only (--insecure-anonymous-user): a request without Authorization on
    /// a kUser/kAdmin route acts as this user. Exists to measure what authentication
    /// costs (bench/users_me.sh); production refuses to start with it.
    std::optional<std::int64_t> insecure_anonymous_user;
  };

  /// Everything referenced must outlive the routes; `cache` and `limiter` may be null.
  AccessControl(auth::Authenticator& authenticator, const std::vector<db::PgPool*>& pools,
                users::UserCache* cache, ratelimit::RateLimiter* limiter, Options options);

  /// A route that needs a caller, behind the rule the table gives it and rate-limit
  /// group `group`. Throws std::logic_error when the table has no rule for it.
  void Add(http::Routes& routes, http::Method method, std::string_view pattern,
           const std::string& group, GuardedHandler handler) const;
  /// A kAnyone route (throws std::logic_error when the table says otherwise).
  void AddPublic(http::Routes& routes, http::Method method, std::string_view pattern,
                 const std::string& group, http::AsyncHandler handler) const;
  /// A kAnyone route answered without waiting (not rate limited).
  void AddPublic(http::Routes& routes, http::Method method, std::string_view pattern,
                 http::SyncHandler handler) const;

  struct State;  // defined in access.cpp

 private:
  std::shared_ptr<const State> state_;
};

/// 401 problem+json with `WWW-Authenticate: Bearer realm="myriad"` (RFC 6750 3), plus
/// `error="invalid_token"` when a credential was presented and failed.
http::Response Unauthorized(const http::Request& request, std::string detail, bool bad_token);

/// The table's rule for a route, or nullopt.
std::optional<Access> RuleFor(http::Method method, std::string_view pattern);

}  // namespace myriad::accounts

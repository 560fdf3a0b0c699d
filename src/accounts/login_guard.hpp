#pragma once

#include <boost/asio/awaitable.hpp>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <list>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "metrics/series_set.hpp"

namespace prometheus {
class Collectable;
}
namespace myriad::redis {
class RedisClient;
struct Script;
}  // namespace myriad::redis

namespace myriad::accounts {

/// How failed logins lock an account.
struct LockoutPolicy {
  /// Failures allowed in the window before the first lockout.
  std::size_t free_failures = 5;
  /// The lockout after failure free_failures + 1; each further failure doubles it...
  std::chrono::seconds first_lockout{30};
  /// ...up to this.
  std::chrono::seconds max_lockout{15 * 60};
  /// Failures are forgotten `window` after the last one (or when its lockout ends, if
  /// that is later).
  std::chrono::seconds window{15 * 60};
};

/// What one account's failures left behind, in milliseconds of some clock (Redis' TIME,
/// or the steady clock for the local fallback). A zero record is an account without
/// failures.
struct FailureRecord {
  std::uint64_t failures = 0;
  std::int64_t locked_until_ms = 0;  // 0: not locked
  std::int64_t expires_ms = 0;       // the whole record is forgotten from then on
};

/// The lockout that the `failures`-th failure in a window imposes: zero up to
/// free_failures, then first_lockout * 2^(failures - free_failures - 1), capped at
/// max_lockout. The login script does the same arithmetic in Lua.
std::chrono::milliseconds LockoutAfter(const LockoutPolicy& policy, std::uint64_t failures);

/// Counts a failure at `now_ms` into `record` (restarting the count if the record had
/// expired) and returns the lockout it imposes, whole seconds rounded up (nullopt: none).
std::optional<std::chrono::seconds> RecordFailure(const LockoutPolicy& policy,
                                                  FailureRecord& record, std::int64_t now_ms);

/// How long `record` still locks its account at `now_ms`, whole seconds rounded up
/// (nullopt: not locked).
std::optional<std::chrono::seconds> RemainingLockout(const FailureRecord& record,
                                                     std::int64_t now_ms);

/// The fallback store when Redis is unavailable: per process rather than shared by every
/// replica, so while Redis is down an attacker gets the free failures once per replica.
/// Thread-safe (sharded mutexes); bounded (the accounts whose last failure is oldest are
/// dropped first). Keys are LoginGuard's hashed keys, never addresses.
class LocalFailures {
 public:
  explicit LocalFailures(std::size_t capacity);

  std::optional<std::chrono::seconds> Locked(const std::string& key, std::int64_t now_ms);
  std::optional<std::chrono::seconds> Failed(const LockoutPolicy& policy, const std::string& key,
                                             std::int64_t now_ms);
  void Succeeded(const std::string& key);
  /// Accounts held right now.
  std::size_t size();

 private:
  static constexpr std::size_t kShards = 32;
  struct Entry {
    FailureRecord record;
    std::list<std::string>::iterator position;  // in Shard::order
  };
  struct Shard {
    std::mutex mutex;
    std::unordered_map<std::string, Entry> entries;
    std::list<std::string> order;  // least recently failed first
  };
  Shard& ShardFor(const std::string& key);

  std::size_t per_shard_;
  std::vector<Shard> shards_;
};

/// Brute-force defence for logins: counts failed logins per account and locks the account
/// for a growing time once it has had more than policy.free_failures of them in the
/// window.
///
/// With Redis, one Lua script (loaded once per connection, run by EVALSHA) checks, counts or
/// forgets atomically on Redis' clock, so every replica sharing that Redis sees the same
/// count. The key is `<prefix>login:v1:<hex of the first 16 bytes of SHA-256(account)>`:
/// addresses never appear in Redis. When the worker has no Redis client, Redis is down or a
/// call fails, LocalFailures decides instead: Redis trouble never fails a login. Whichever
/// store answers decides alone (failures counted locally during an outage do not carry over
/// to Redis once it is back; Succeeded() clears both).
///
/// Every call takes the io thread (`worker`) it runs on and must be awaited there (metrics
/// are per worker); `account` must stay valid until the call is awaited. The guard must
/// outlive the calls.
/// Metrics:
///   myriad_login_failures_total
///   myriad_login_lockouts_total{store="redis"|"local"}
class LoginGuard {
 public:
  using Clock = std::chrono::steady_clock;

  /// Throws std::invalid_argument for a policy without a positive first lockout, a max
  /// lockout below it or a non-positive window. `local_accounts` bounds the fallback.
  LoginGuard(LockoutPolicy policy, std::string key_prefix, std::size_t workers,
             std::size_t local_accounts = 100'000);
  ~LoginGuard();
  LoginGuard(const LoginGuard&) = delete;
  LoginGuard& operator=(const LoginGuard&) = delete;

  /// The login script, for RedisClient's ClientOptions::scripts.
  static const redis::Script& Script();

  /// Sets io thread `worker`'s Redis client (null: none). Before requests arrive.
  void SetRedis(std::size_t worker, redis::RedisClient* client);

  /// Before checking a password: how long `account` (the normalised email) stays locked,
  /// whole seconds rounded up, for Retry-After; nullopt when it is not locked.
  boost::asio::awaitable<std::optional<std::chrono::seconds>> Locked(std::size_t worker,
                                                                     std::string_view account,
                                                                     Clock::time_point deadline);
  /// After a wrong password, or an unknown account (pass the normalised email either way,
  /// so both behave alike): counts the failure and returns the lockout it put in force, if
  /// any.
  boost::asio::awaitable<std::optional<std::chrono::seconds>> Failed(std::size_t worker,
                                                                     std::string_view account,
                                                                     Clock::time_point deadline);
  /// After a successful login: forgets the account's failures.
  boost::asio::awaitable<void> Succeeded(std::size_t worker, std::string_view account,
                                         Clock::time_point deadline);

  /// The Redis key of `account` (for tests and operators).
  std::string KeyFor(std::string_view account) const;
  const LockoutPolicy& policy() const { return policy_; }
  /// For metrics::Registry::Add.
  std::shared_ptr<prometheus::Collectable> Collectable() const;

 private:
  redis::RedisClient* UsableRedis(std::size_t worker) const;

  LockoutPolicy policy_;
  std::string key_prefix_;
  std::vector<std::string> script_args_;  // the policy in milliseconds, rendered once
  std::vector<redis::RedisClient*> clients_;
  LocalFailures local_;
  metrics::SeriesSet metrics_;
  metrics::SeriesSet::Id failures_metric_ = 0;
  metrics::SeriesSet::Id redis_lockouts_metric_ = 0;
  metrics::SeriesSet::Id local_lockouts_metric_ = 0;
};

}  // namespace myriad::accounts

#include "accounts/login_guard.hpp"

#include <sodium.h>

#include <algorithm>
#include <array>
#include <cassert>
#include <functional>
#include <iterator>
#include <stdexcept>
#include <utility>

#include "core/clock.hpp"
#include "redis/redis_client.hpp"

namespace myriad::accounts {
namespace asio = boost::asio;
using std::chrono::milliseconds;
using std::chrono::seconds;

namespace {

// KEYS[1]: the account's hash {n, until_ms}. ARGV[1]: 'check', 'fail' or 'succeed'; 'fail'
// also takes ARGV[2..5]: free failures, first lockout, max lockout and window (ms).
// Returns {failures, ms}: for 'check' the lockout left, for 'fail' the lockout just
// imposed (0: none). LockoutAfter() and RecordFailure() are the same arithmetic in C++; the
// key's expiry stands for FailureRecord::expires_ms. Redis' clock, so that every replica
// agrees.
const redis::Script kLoginScript{R"lua(
local key = KEYS[1]
local op = ARGV[1]
if op == 'succeed' then
  redis.call('DEL', key)
  return {0, 0}
end
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local state = redis.call('HMGET', key, 'n', 'until_ms')
local n = tonumber(state[1]) or 0
local until_ms = tonumber(state[2]) or 0
if op == 'check' then
  return {n, math.max(0, until_ms - now)}
end
if op ~= 'fail' then
  return redis.error_reply('login guard: unknown op')
end
local free = tonumber(ARGV[2])
local first = tonumber(ARGV[3])
local max = tonumber(ARGV[4])
local window = tonumber(ARGV[5])
n = n + 1
local lockout = 0
if n > free then
  lockout = first
  local doublings = n - free - 1
  while doublings > 0 and lockout < max do
    lockout = lockout * 2
    doublings = doublings - 1
  end
  lockout = math.min(lockout, max)
end
until_ms = 0
if lockout > 0 then
  until_ms = now + lockout
end
redis.call('HSET', key, 'n', string.format('%d', n), 'until_ms', string.format('%.0f', until_ms))
redis.call('PEXPIRE', key, string.format('%.0f', math.max(window, lockout)))
return {n, lockout}
)lua"};

constexpr std::size_t kKeyDigestBytes = 16;

std::optional<seconds> CeilSeconds(std::int64_t ms) {
  if (ms <= 0) {
    return std::nullopt;
  }
  return seconds((ms + 999) / 1000);
}

std::int64_t SteadyMs() {
  return std::chrono::duration_cast<milliseconds>(core::SteadyNow().time_since_epoch()).count();
}

// The script's {failures, ms}; nullopt for anything else (an error reply, a failed call),
// which sends the caller to the local store.
std::optional<std::int64_t> ScriptMs(const redis::RedisResult<redis::Reply>& result) {
  using Type = redis::Reply::Type;
  if (!result) {
    return std::nullopt;
  }
  const redis::Reply& reply = *result;
  if (reply.type != Type::kArray || reply.elements.size() != 2) {
    return std::nullopt;
  }
  for (const auto& e : reply.elements) {
    if (e.type != Type::kInteger || e.integer < 0) {
      return std::nullopt;
    }
  }
  return static_cast<std::int64_t>(reply.elements[1].integer);
}

}  // namespace

milliseconds LockoutAfter(const LockoutPolicy& policy, std::uint64_t failures) {
  if (failures <= policy.free_failures) {
    return milliseconds(0);
  }
  const milliseconds cap = policy.max_lockout;
  milliseconds lockout = policy.first_lockout;
  // Stops doubling at the cap, so a long run of failures cannot overflow.
  for (std::uint64_t d = failures - policy.free_failures - 1; d > 0 && lockout < cap; --d) {
    lockout *= 2;
  }
  return std::min(lockout, cap);
}

std::optional<seconds> RecordFailure(const LockoutPolicy& policy, FailureRecord& record,
                                     std::int64_t now_ms) {
  if (now_ms >= record.expires_ms) {
    record = FailureRecord{};
  }
  ++record.failures;
  const std::int64_t lockout = LockoutAfter(policy, record.failures).count();
  const std::int64_t window = milliseconds(policy.window).count();
  record.locked_until_ms = lockout > 0 ? now_ms + lockout : 0;
  record.expires_ms = now_ms + std::max(window, lockout);
  return CeilSeconds(lockout);
}

std::optional<seconds> RemainingLockout(const FailureRecord& record, std::int64_t now_ms) {
  if (now_ms >= record.expires_ms) {
    return std::nullopt;
  }
  return CeilSeconds(record.locked_until_ms - now_ms);
}

LocalFailures::LocalFailures(std::size_t capacity)
    : per_shard_(std::max<std::size_t>(1, capacity / kShards)), shards_(kShards) {}

LocalFailures::Shard& LocalFailures::ShardFor(const std::string& key) {
  return shards_[std::hash<std::string>{}(key) % kShards];
}

std::optional<seconds> LocalFailures::Locked(const std::string& key, std::int64_t now_ms) {
  Shard& s = ShardFor(key);
  std::lock_guard lock(s.mutex);
  const auto it = s.entries.find(key);
  if (it == s.entries.end()) {
    return std::nullopt;
  }
  if (now_ms >= it->second.record.expires_ms) {
    s.order.erase(it->second.position);
    s.entries.erase(it);
    return std::nullopt;
  }
  return RemainingLockout(it->second.record, now_ms);
}

std::optional<seconds> LocalFailures::Failed(const LockoutPolicy& policy, const std::string& key,
                                             std::int64_t now_ms) {
  Shard& s = ShardFor(key);
  std::lock_guard lock(s.mutex);
  auto it = s.entries.find(key);
  if (it == s.entries.end()) {
    while (s.entries.size() >= per_shard_ && !s.order.empty()) {
      s.entries.erase(s.order.front());
      s.order.pop_front();
    }
    s.order.push_back(key);
    it = s.entries.emplace(key, Entry{FailureRecord{}, std::prev(s.order.end())}).first;
  } else {
    s.order.splice(s.order.end(), s.order, it->second.position);
  }
  return RecordFailure(policy, it->second.record, now_ms);
}

void LocalFailures::Succeeded(const std::string& key) {
  Shard& s = ShardFor(key);
  std::lock_guard lock(s.mutex);
  const auto it = s.entries.find(key);
  if (it != s.entries.end()) {
    s.order.erase(it->second.position);
    s.entries.erase(it);
  }
}

std::size_t LocalFailures::size() {
  std::size_t n = 0;
  for (Shard& s : shards_) {
    std::lock_guard lock(s.mutex);
    n += s.entries.size();
  }
  return n;
}

LoginGuard::LoginGuard(LockoutPolicy policy, std::string key_prefix, std::size_t workers,
                       std::size_t local_accounts)
    : policy_(policy),
      key_prefix_(std::move(key_prefix)),
      clients_(workers, nullptr),
      local_(local_accounts),
      metrics_(workers) {
  if (policy_.first_lockout.count() <= 0 || policy_.max_lockout < policy_.first_lockout ||
      policy_.window.count() <= 0) {
    throw std::invalid_argument(
        "login lockout policy: the first lockout and the window must be positive and the "
        "max lockout at least the first");
  }
  if (sodium_init() < 0) {
    throw std::runtime_error("libsodium failed to initialise");
  }
  script_args_ = {"fail", std::to_string(policy_.free_failures),
                  std::to_string(milliseconds(policy_.first_lockout).count()),
                  std::to_string(milliseconds(policy_.max_lockout).count()),
                  std::to_string(milliseconds(policy_.window).count())};
  failures_metric_ = metrics_.Counter("myriad_login_failures_total",
                                      "Failed logins (wrong password or unknown account).");
  const std::string lockouts_help =
      "Failed logins that locked their account, by the store that counted them.";
  redis_lockouts_metric_ =
      metrics_.Counter("myriad_login_lockouts_total", lockouts_help, {{"store", "redis"}});
  local_lockouts_metric_ =
      metrics_.Counter("myriad_login_lockouts_total", lockouts_help, {{"store", "local"}});
  metrics_.Seal();
}

LoginGuard::~LoginGuard() = default;

const redis::Script& LoginGuard::Script() { return kLoginScript; }

void LoginGuard::SetRedis(std::size_t worker, redis::RedisClient* client) {
  clients_.at(worker) = client;
}

redis::RedisClient* LoginGuard::UsableRedis(std::size_t worker) const {
  assert(worker < clients_.size());
  redis::RedisClient* client = clients_[worker];
  return client != nullptr && client->up() ? client : nullptr;
}

std::string LoginGuard::KeyFor(std::string_view account) const {
  std::array<unsigned char, crypto_hash_sha256_BYTES> digest{};
  crypto_hash_sha256(digest.data(), reinterpret_cast<const unsigned char*>(account.data()),
                     account.size());
  constexpr std::string_view kHex = "0123456789abcdef";
  std::string key = key_prefix_ + "login:v1:";
  key.reserve(key.size() + 2 * kKeyDigestBytes);
  for (std::size_t i = 0; i < kKeyDigestBytes; ++i) {
    key.push_back(kHex[digest[i] >> 4U]);
    key.push_back(kHex[digest[i] & 0xfU]);
  }
  return key;
}

asio::awaitable<std::optional<seconds>> LoginGuard::Locked(std::size_t worker,
                                                           std::string_view account,
                                                           Clock::time_point deadline) {
  std::string key = KeyFor(account);
  if (redis::RedisClient* redis = UsableRedis(worker)) {
    std::vector<std::string> keys{key};
    std::vector<std::string> args{"check"};
    const auto reply =
        co_await redis->Eval(kLoginScript, std::move(keys), std::move(args), deadline);
    if (const auto ms = ScriptMs(reply)) {
      co_return CeilSeconds(*ms);
    }
  }
  co_return local_.Locked(key, SteadyMs());
}

asio::awaitable<std::optional<seconds>> LoginGuard::Failed(std::size_t worker,
                                                           std::string_view account,
                                                           Clock::time_point deadline) {
  std::string key = KeyFor(account);
  metrics_.Add(worker, failures_metric_);
  if (redis::RedisClient* redis = UsableRedis(worker)) {
    std::vector<std::string> keys{key};
    std::vector<std::string> args = script_args_;
    const auto reply =
        co_await redis->Eval(kLoginScript, std::move(keys), std::move(args), deadline);
    if (const auto ms = ScriptMs(reply)) {
      const auto lockout = CeilSeconds(*ms);
      if (lockout) {
        metrics_.Add(worker, redis_lockouts_metric_);
      }
      co_return lockout;
    }
  }
  const auto lockout = local_.Failed(policy_, key, SteadyMs());
  if (lockout) {
    metrics_.Add(worker, local_lockouts_metric_);
  }
  co_return lockout;
}

asio::awaitable<void> LoginGuard::Succeeded(std::size_t worker, std::string_view account,
                                            Clock::time_point deadline) {
  std::string key = KeyFor(account);
  // Both stores: a count the local store kept while Redis was down must not lock the
  // account out later either.
  local_.Succeeded(key);
  if (redis::RedisClient* redis = UsableRedis(worker)) {
    std::vector<std::string> keys{std::move(key)};
    std::vector<std::string> args{"succeed"};
    // A failure leaves the count to expire with its window; the login itself stands.
    (void)co_await redis->Eval(kLoginScript, std::move(keys), std::move(args), deadline);
  }
}

std::shared_ptr<prometheus::Collectable> LoginGuard::Collectable() const {
  return metrics_.Collectable();
}

}  // namespace myriad::accounts

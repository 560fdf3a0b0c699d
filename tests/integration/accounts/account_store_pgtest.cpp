// accounts::AccountStore against a real PostgreSQL (support/pg_support.hpp): every test
// migrates a schema of its own with the repository's migrations and works in it through a
// db::PgPool, as an io thread would.
#include <gtest/gtest.h>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/redirect_error.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <chrono>
#include <cstdint>
#include <filesystem>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "accounts/account_store.hpp"
#include "db/migrations.hpp"
#include "db/pg_connection.hpp"
#include "db/pg_pool.hpp"
#include "support/coro_test.hpp"
#include "support/pg_support.hpp"
#include "users/user_store.hpp"

namespace myriad::accounts {
namespace {

namespace asio = boost::asio;
using namespace std::chrono_literals;
using Clock = db::PgPool::Clock;
using myriad::testing::RunIo;
using myriad::testing::RunOnOwnLoop;
using users::StoreFailure;
using users::User;

Clock::time_point Soon() { return Clock::now() + 10s; }

// A 32-byte "SHA-256" for test number `n`. It starts with a NUL byte, so a store that sent
// hashes as plain text would fail (or truncate them).
std::string Hash(int n) {
  std::string hash(32, '\0');
  for (std::size_t i = 1; i < hash.size(); ++i) {
    hash[i] = static_cast<char>((n * 37 + static_cast<int>(i) * 11) & 0xFF);
  }
  hash[1] = static_cast<char>(n & 0xFF);
  hash[2] = static_cast<char>((n >> 8) & 0xFF);
  return hash;
}

std::string HexOf(const std::string& bytes) {
  static constexpr std::string_view kDigits = "0123456789abcdef";
  std::string out;
  for (const char c : bytes) {
    const auto byte = static_cast<unsigned char>(c);
    out += kDigits[byte >> 4U];
    out += kDigits[byte & 0xFU];
  }
  return out;
}

// The SQL literal of a hash, for checks that read the tables directly.
std::string Bytea(const std::string& hash) { return "decode('" + HexOf(hash) + "', 'hex')"; }

OutboxMessage Message(std::string kind, std::string recipient) {
  OutboxMessage message;
  message.kind = std::move(kind);
  message.recipient = std::move(recipient);
  message.subject = "Subject of " + message.kind;
  message.body = "Body of " + message.kind;
  return message;
}

AuditEvent Event(std::string action, std::int64_t actor = 0, std::int64_t target = 0) {
  AuditEvent event;
  event.action = std::move(action);
  event.actor_id = actor;
  event.target_id = target;
  return event;
}

NewSession Session(std::int64_t user_id, int hash, std::chrono::seconds lifetime = 3600s) {
  NewSession session;
  session.user_id = user_id;
  session.token_hash = Hash(hash);
  session.lifetime = lifetime;
  session.user_agent = "test-agent/1.0";
  session.ip = "192.0.2.1";
  return session;
}

std::string FailureName(StoreFailure failure) {
  switch (failure) {
    case StoreFailure::kNotFound:
      return "kNotFound";
    case StoreFailure::kDuplicateEmail:
      return "kDuplicateEmail";
    case StoreFailure::kStale:
      return "kStale";
    case StoreFailure::kDatabase:
      return "kDatabase";
  }
  return "?";
}

// "ok" or the failure, for readable expectations.
template <class T>
std::string Outcome(const StoreResult<T>& result) {
  if (result) {
    return "ok";
  }
  std::string text = FailureName(result.error().failure);
  if (result.error().failure == StoreFailure::kDatabase) {
    text += ": " + result.error().db.Describe();
  }
  return text;
}

std::string Name(RotateOutcome outcome) {
  switch (outcome) {
    case RotateOutcome::kRotated:
      return "kRotated";
    case RotateOutcome::kReused:
      return "kReused";
    case RotateOutcome::kExpired:
      return "kExpired";
    case RotateOutcome::kUnknown:
      return "kUnknown";
    case RotateOutcome::kInactive:
      return "kInactive";
  }
  return "?";
}

// The outcome of a rotation, or the store's failure.
std::string RotationName(const StoreResult<Rotation>& result) {
  return result ? Name(result->outcome) : Outcome(result);
}

// "2026-11-29T08:01:23.123456Z": RFC 3339 UTC with microseconds, as UserStore renders it.
bool IsRfc3339(const std::string& text) {
  constexpr std::string_view kShape = "dddd-dd-ddTdd:dd:dd.ddddddZ";
  if (text.size() != kShape.size()) {
    return false;
  }
  for (std::size_t i = 0; i < text.size(); ++i) {
    const bool digit = text[i] >= '0' && text[i] <= '9';
    if (kShape[i] == 'd' ? !digit : text[i] != kShape[i]) {
      return false;
    }
  }
  return true;
}

class AccountStoreTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto migrations = db::LoadMigrations(std::filesystem::path(MYRIAD_SOURCE_DIR) / "migrations");
    ASSERT_TRUE(migrations.has_value()) << migrations.error();
    const std::string url = schema_.url();
    auto applied = RunOnOwnLoop<core::Result<db::MigrateReport, std::string>>(
        [&](asio::any_io_executor ex)
            -> asio::awaitable<core::Result<db::MigrateReport, std::string>> {
          db::ConnectOptions connect{url};
          auto conn = co_await db::PgConnection::Connect(ex, connect, Soon());
          if (!conn) {
            core::Unexpected<std::string> error{"connect: " + conn.error().message};
            co_return error;
          }
          db::MigrateOptions options;
          co_return co_await db::ApplyMigrations(*conn, *migrations, options);
        });
    ASSERT_TRUE(applied.has_value()) << applied.error();
  }

  db::PoolOptions Options() const {
    db::PoolOptions options;
    options.connect.conninfo = schema_.url();
    options.size = 4;
    return options;
  }

  std::string Value(const std::string& sql) const { return schema_.Value(sql); }

  // Registers `email` with the verify token Hash(token); the user, or a failed test.
  static asio::awaitable<StoreResult<User>> Register(AccountStore& store, std::string email,
                                                     int token) {
    users::CreateUserInput input;
    input.email = email;
    input.name = "Name of " + email;
    std::string password_hash = "$argon2id$v=19$m=65536,t=2,p=1$c2FsdA$aGFzaA";
    OutboxMessage message = Message("verify_email", email);
    AuditEvent audit = Event("user.registered");
    std::string token_hash = Hash(token);
    co_return co_await store.Register(input, std::move(password_hash), std::move(token_hash), 24h,
                                      std::move(message), std::move(audit), Soon());
  }

  static asio::awaitable<StoreResult<Rotation>> Rotate(AccountStore& store, std::int64_t user_id,
                                                       int old_hash, int new_hash) {
    const std::string old = Hash(old_hash);
    const NewSession fresh = Session(user_id, new_hash);
    co_return co_await store.RotateSession(old, fresh, Soon());
  }

  static asio::awaitable<std::int64_t> NewFamily(AccountStore& store, std::int64_t user_id,
                                                 int hash) {
    const NewSession session = Session(user_id, hash);
    auto family = co_await store.CreateSession(session, Soon());
    EXPECT_EQ(Outcome(family), "ok");
    co_return family ? *family : -1;
  }

  static asio::awaitable<StoreResult<void>> Issue(AccountStore& store, std::int64_t user_id,
                                                  TokenPurpose purpose, int hash,
                                                  std::chrono::seconds lifetime = 3600s) {
    OutboxMessage message =
        Message(purpose == TokenPurpose::kVerifyEmail ? "verify_email" : "reset_password", "x@y.z");
    std::string token_hash = Hash(hash);
    co_return co_await store.IssueToken(user_id, purpose, std::move(token_hash), lifetime,
                                        std::move(message), Soon());
  }

  static asio::awaitable<StoreResult<User>> Verify(AccountStore& store, int hash) {
    const std::string token_hash = Hash(hash);
    AuditEvent audit = Event("email.verified");
    co_return co_await store.VerifyEmail(token_hash, std::move(audit), Soon());
  }

  static asio::awaitable<StoreResult<User>> Reset(AccountStore& store, int hash,
                                                  std::string new_hash) {
    const std::string token_hash = Hash(hash);
    AuditEvent audit = Event("password.reset");
    co_return co_await store.ResetPassword(token_hash, std::move(new_hash), std::move(audit),
                                           Soon());
  }

  std::string LiveSessions(std::int64_t user_id) const {
    return Value("SELECT count(*) FROM sessions WHERE user_id = " + std::to_string(user_id) +
                 " AND revoked_at IS NULL AND rotated_at IS NULL");
  }

  myriad::testing::TestSchema schema_{"test_accounts"};
};

TEST_F(AccountStoreTest, StatementNamesAreUniqueAndPrefixed) {
  const auto names = AccountStore::StatementNames();
  ASSERT_FALSE(names.empty());
  const std::set<std::string> unique(names.begin(), names.end());
  EXPECT_EQ(unique.size(), names.size());
  for (const auto& name : names) {
    EXPECT_TRUE(name.starts_with("accounts_")) << name;
  }
}

TEST_F(AccountStoreTest, RegisterWritesUserTokenOutboxAndAuditInOneTransaction) {
  RunIo([&](asio::any_io_executor ex) -> asio::awaitable<void> {
    db::PgPool pool(ex, Options());
    AccountStore store(pool);
    auto user = co_await Register(store, "ada@example.com", 1);
    CO_ASSERT_TRUE(Outcome(user) == "ok");
    EXPECT_GT(user->id, 0);
    EXPECT_EQ(user->email, "ada@example.com");
    EXPECT_EQ(user->name, "Name of ada@example.com");
    EXPECT_EQ(user->version, 1);
    EXPECT_TRUE(IsRfc3339(user->created_at)) << user->created_at;
    EXPECT_TRUE(IsRfc3339(user->updated_at)) << user->updated_at;

    // Rendered exactly as the users resource renders it.
    users::UserStore users_store(pool);
    auto same = co_await users_store.Get(user->id, Soon());
    CO_ASSERT_TRUE(same.has_value());
    EXPECT_EQ(users::ToJson(*same), users::ToJson(*user));

    const std::string id = std::to_string(user->id);
    // The token is stored as the 32 raw bytes of its hash, for the address, for 24 h.
    EXPECT_EQ(Value("SELECT count(*) FROM account_tokens WHERE token_hash = " + Bytea(Hash(1)) +
                    " AND user_id = " + id +
                    " AND purpose = 0 AND email = 'ada@example.com' AND used_at IS NULL AND "
                    "expires_at BETWEEN now() + interval '23 hours' AND now() + interval "
                    "'25 hours'"),
              "1");
    EXPECT_EQ(Value("SELECT count(*) FROM account_tokens"), "1");
    EXPECT_EQ(Value("SELECT kind || '|' || recipient || '|' || subject || '|' || body || '|' || "
                    "(sent_at IS NULL) FROM outbox"),
              "verify_email|ada@example.com|Subject of verify_email|Body of verify_email|true");
    EXPECT_EQ(Value("SELECT action || '|' || actor_id || '|' || target_id || '|' || "
                    "(ip IS NULL OR ip = '') || '|' || detail::text FROM audit_events"),
              "user.registered|" + id + "|" + id + "|true|{}");

    auto found = co_await store.FindByEmail("ada@example.com", Soon());
    CO_ASSERT_TRUE(Outcome(found) == "ok");
    EXPECT_EQ(users::ToJson(found->user), users::ToJson(*user));
    EXPECT_EQ(found->password_hash, "$argon2id$v=19$m=65536,t=2,p=1$c2FsdA$aGFzaA");
    EXPECT_FALSE(found->user.email_verified);
    auto by_id = co_await store.FindById(user->id, Soon());
    CO_ASSERT_TRUE(Outcome(by_id) == "ok");
    EXPECT_EQ(by_id->user.email, "ada@example.com");
    EXPECT_EQ(by_id->password_hash, found->password_hash);
    EXPECT_EQ(Outcome(co_await store.FindByEmail("nobody@example.com", Soon())), "kNotFound");
    EXPECT_EQ(Outcome(co_await store.FindById(user->id + 1000, Soon())), "kNotFound");

    // A duplicate leaves nothing behind: no token, no e-mail, no audit row.
    auto again = co_await Register(store, "ada@example.com", 2);
    EXPECT_EQ(Outcome(again), "kDuplicateEmail");
    EXPECT_EQ(Value("SELECT count(*) FROM users"), "1");
    EXPECT_EQ(Value("SELECT count(*) FROM account_tokens"), "1");
    EXPECT_EQ(Value("SELECT count(*) FROM outbox"), "1");
    EXPECT_EQ(Value("SELECT count(*) FROM audit_events"), "1");

    // A token hash clash is not a duplicate email.
    auto clash = co_await Register(store, "bob@example.com", 1);
    EXPECT_EQ(Outcome(clash).substr(0, 9), "kDatabase") << Outcome(clash);
    EXPECT_EQ(Value("SELECT count(*) FROM users"), "1");
  });
}

TEST_F(AccountStoreTest, RehashIsCompareAndSetAndKeepsTheVersion) {
  RunIo([&](asio::any_io_executor ex) -> asio::awaitable<void> {
    db::PgPool pool(ex, Options());
    AccountStore store(pool);
    auto user = co_await Register(store, "ada@example.com", 1);
    CO_ASSERT_TRUE(user.has_value());
    const std::string old_hash = "$argon2id$v=19$m=65536,t=2,p=1$c2FsdA$aGFzaA";

    const std::string wrong = "$argon2id$other";
    auto stale = co_await store.Rehash(user->id, wrong, "$argon2id$new", Soon());
    EXPECT_EQ(Outcome(stale), "kNotFound");
    auto done = co_await store.Rehash(user->id, old_hash, "$argon2id$new", Soon());
    EXPECT_EQ(Outcome(done), "ok");
    // The old hash no longer matches: a second rehash from it does nothing.
    auto twice = co_await store.Rehash(user->id, old_hash, "$argon2id$newer", Soon());
    EXPECT_EQ(Outcome(twice), "kNotFound");
    auto missing = co_await store.Rehash(user->id + 1000, old_hash, "$argon2id$x", Soon());
    EXPECT_EQ(Outcome(missing), "kNotFound");

    auto now = co_await store.FindById(user->id, Soon());
    CO_ASSERT_TRUE(now.has_value());
    EXPECT_EQ(now->password_hash, "$argon2id$new");
    EXPECT_EQ(now->user.version, 1);
  });
}

TEST_F(AccountStoreTest, RotationSpendsTheOldTokenAndReuseRevokesTheFamily) {
  RunIo([&](asio::any_io_executor ex) -> asio::awaitable<void> {
    db::PgPool pool(ex, Options());
    AccountStore store(pool);
    auto user = co_await Register(store, "ada@example.com", 1);
    CO_ASSERT_TRUE(user.has_value());
    const std::int64_t family = co_await NewFamily(store, user->id, 10);
    CO_ASSERT_TRUE(family > 0);
    // The first session names itself as its family.
    EXPECT_EQ(Value("SELECT family_id = id FROM sessions WHERE token_hash = " + Bytea(Hash(10))),
              "t");
    EXPECT_EQ(Value("SELECT user_agent || '|' || ip FROM sessions"), "test-agent/1.0|192.0.2.1");

    auto first = co_await Rotate(store, user->id, 10, 11);
    CO_ASSERT_TRUE(RotationName(first) == "kRotated");
    EXPECT_EQ(first->family_id, family);
    CO_ASSERT_TRUE(first->user.has_value());
    EXPECT_EQ(first->user->id, user->id);
    EXPECT_EQ(first->user->email, "ada@example.com");
    EXPECT_EQ(Value("SELECT count(*) FROM sessions WHERE family_id = " + std::to_string(family)),
              "2");
    EXPECT_EQ(
        Value("SELECT rotated_at IS NOT NULL FROM sessions WHERE token_hash = " + Bytea(Hash(10))),
        "t");

    auto second = co_await Rotate(store, user->id, 11, 12);
    EXPECT_EQ(RotationName(second), "kRotated");

    // The first token again: stolen. The whole family goes, the newest session included.
    auto reused = co_await Rotate(store, user->id, 10, 13);
    CO_ASSERT_TRUE(RotationName(reused) == "kReused");
    EXPECT_EQ(reused->family_id, family);
    EXPECT_FALSE(reused->user.has_value());
    EXPECT_EQ(Value("SELECT count(*) FROM sessions WHERE revoked_at IS NULL"), "0");
    EXPECT_EQ(Value("SELECT count(*) FROM sessions WHERE token_hash = " + Bytea(Hash(13))), "0");
    EXPECT_EQ(RotationName(co_await Rotate(store, user->id, 12, 14)), "kReused");

    EXPECT_EQ(RotationName(co_await Rotate(store, user->id, 99, 15)), "kUnknown");
  });
}

TEST_F(AccountStoreTest, ConcurrentRefreshesWithOneTokenRotateOnce) {
  RunIo([&](asio::any_io_executor ex) -> asio::awaitable<void> {
    db::PgPool pool(ex, Options());
    AccountStore store(pool);
    auto user = co_await Register(store, "ada@example.com", 1);
    CO_ASSERT_TRUE(user.has_value());
    for (int round = 0; round < 3; ++round) {
      const int base = 100 + round * 10;
      CO_ASSERT_TRUE(co_await NewFamily(store, user->id, base) > 0);
      // Another session holds the row, so that both refreshes are surely in flight at once
      // (on a fast loopback the first would otherwise finish before the second begins).
      myriad::testing::PgSession holder(schema_.url());
      CO_ASSERT_TRUE(holder.connected());
      CO_ASSERT_TRUE(holder.Exec("BEGIN").empty());
      CO_ASSERT_TRUE(holder
                         .Exec("SELECT 1 FROM sessions WHERE token_hash = " + Bytea(Hash(base)) +
                               " FOR UPDATE")
                         .empty());
      std::vector<std::string> outcomes;
      asio::steady_timer done(ex, Clock::time_point::max());
      for (int racer = 1; racer <= 2; ++racer) {
        asio::co_spawn(
            ex,
            [&, racer]() -> asio::awaitable<void> {
              auto rotated = co_await Rotate(store, user->id, base, base + racer);
              outcomes.push_back(RotationName(rotated));
              if (outcomes.size() == 2) {
                done.cancel();
              }
            },
            asio::detached);
      }
      bool both_waiting = false;
      for (int poll = 0; poll < 100 && !both_waiting; ++poll) {
        co_await myriad::testing::SleepFor(20ms);
        std::string waiting;
        EXPECT_EQ(myriad::testing::Sql(schema_.base_url(),
                                       "SELECT count(*) >= 2 FROM pg_stat_activity WHERE "
                                       "wait_event_type = 'Lock' AND query LIKE '%sessions%'",
                                       &waiting),
                  "");
        both_waiting = waiting == "t";
      }
      EXPECT_TRUE(both_waiting) << "round " << round;
      EXPECT_EQ(holder.Exec("COMMIT"), "");
      boost::system::error_code ec;
      if (outcomes.size() < 2) {
        co_await done.async_wait(asio::redirect_error(asio::use_awaitable, ec));
      }
      const std::multiset<std::string> got(outcomes.begin(), outcomes.end());
      EXPECT_EQ(got, (std::multiset<std::string>{"kReused", "kRotated"})) << "round " << round;
      // The loser's reuse revoked the winner's new session too.
      EXPECT_EQ(LiveSessions(user->id), "0") << "round " << round;
    }
  });
}

TEST_F(AccountStoreTest, ExpiredAndDisabledSessionsDoNotRotate) {
  RunIo([&](asio::any_io_executor ex) -> asio::awaitable<void> {
    db::PgPool pool(ex, Options());
    AccountStore store(pool);
    auto user = co_await Register(store, "ada@example.com", 1);
    CO_ASSERT_TRUE(user.has_value());
    const std::string id = std::to_string(user->id);

    CO_ASSERT_TRUE(co_await NewFamily(store, user->id, 10) > 0);
    EXPECT_EQ(Value("UPDATE sessions SET expires_at = now() - interval '1 second' WHERE "
                    "token_hash = " +
                    Bytea(Hash(10)) + " RETURNING 1"),
              "1");
    auto expired = co_await Rotate(store, user->id, 10, 11);
    EXPECT_EQ(RotationName(expired), "kExpired");
    EXPECT_EQ(Value("SELECT count(*) FROM sessions WHERE rotated_at IS NOT NULL OR revoked_at "
                    "IS NOT NULL"),
              "0");
    EXPECT_EQ(Value("SELECT count(*) FROM sessions"), "1");

    const std::int64_t family = co_await NewFamily(store, user->id, 20);
    CO_ASSERT_TRUE(family > 0);
    EXPECT_EQ(Value("UPDATE users SET status = 1 WHERE id = " + id + " RETURNING 1"), "1");
    auto inactive = co_await Rotate(store, user->id, 20, 21);
    EXPECT_EQ(RotationName(inactive), "kInactive");
    EXPECT_EQ(
        Value("SELECT revoked_at IS NOT NULL FROM sessions WHERE token_hash = " + Bytea(Hash(20))),
        "t");
    // Enabling the user again revives nothing.
    EXPECT_EQ(Value("UPDATE users SET status = 0 WHERE id = " + id + " RETURNING 1"), "1");
    EXPECT_EQ(RotationName(co_await Rotate(store, user->id, 20, 22)), "kReused");
  });
}

TEST_F(AccountStoreTest, RevokeFamilyAndRevokeUserSessions) {
  RunIo([&](asio::any_io_executor ex) -> asio::awaitable<void> {
    db::PgPool pool(ex, Options());
    AccountStore store(pool);
    auto ada = co_await Register(store, "ada@example.com", 1);
    auto bob = co_await Register(store, "bob@example.com", 2);
    CO_ASSERT_TRUE(ada.has_value() && bob.has_value());

    CO_ASSERT_TRUE(co_await NewFamily(store, ada->id, 10) > 0);
    CO_ASSERT_TRUE(RotationName(co_await Rotate(store, ada->id, 10, 11)) == "kRotated");
    const std::string newest = Hash(11);
    const std::string unknown = Hash(99);
    // Somebody else's session: nothing happens.
    auto not_bobs = co_await store.RevokeFamily(newest, bob->id, Soon());
    CO_ASSERT_TRUE(not_bobs.has_value());
    EXPECT_FALSE(*not_bobs);
    auto no_such = co_await store.RevokeFamily(unknown, 0, Soon());
    CO_ASSERT_TRUE(no_such.has_value());
    EXPECT_FALSE(*no_such);
    EXPECT_EQ(LiveSessions(ada->id), "1");
    auto revoked = co_await store.RevokeFamily(newest, ada->id, Soon());
    CO_ASSERT_TRUE(revoked.has_value());
    EXPECT_TRUE(*revoked);
    EXPECT_EQ(LiveSessions(ada->id), "0");
    auto again = co_await store.RevokeFamily(newest, 0, Soon());
    CO_ASSERT_TRUE(again.has_value());
    EXPECT_FALSE(*again);
    EXPECT_EQ(RotationName(co_await Rotate(store, ada->id, 11, 12)), "kReused");

    // Revoke with `user_id` 0 works for any user.
    CO_ASSERT_TRUE(co_await NewFamily(store, bob->id, 30) > 0);
    const std::string bobs = Hash(30);
    auto any_user = co_await store.RevokeFamily(bobs, 0, Soon());
    CO_ASSERT_TRUE(any_user.has_value());
    EXPECT_TRUE(*any_user);

    const std::int64_t f1 = co_await NewFamily(store, ada->id, 40);
    const std::int64_t f2 = co_await NewFamily(store, ada->id, 50);
    const std::int64_t f3 = co_await NewFamily(store, ada->id, 60);
    CO_ASSERT_TRUE(f1 > 0 && f2 > 0 && f3 > 0);
    CO_ASSERT_TRUE(co_await NewFamily(store, bob->id, 70) > 0);
    auto count = co_await store.RevokeUserSessions(ada->id, f2, Soon());
    CO_ASSERT_TRUE(count.has_value());
    EXPECT_EQ(*count, 2);
    EXPECT_EQ(RotationName(co_await Rotate(store, ada->id, 40, 41)), "kReused");
    EXPECT_EQ(RotationName(co_await Rotate(store, ada->id, 60, 61)), "kReused");
    EXPECT_EQ(RotationName(co_await Rotate(store, ada->id, 50, 51)), "kRotated");
    EXPECT_EQ(LiveSessions(bob->id), "1");
    auto all = co_await store.RevokeUserSessions(ada->id, 0, Soon());
    CO_ASSERT_TRUE(all.has_value());
    EXPECT_EQ(*all, 1);
    EXPECT_EQ(LiveSessions(ada->id), "0");
    EXPECT_EQ(LiveSessions(bob->id), "1");
  });
}

TEST_F(AccountStoreTest, ChangePasswordRevokesOtherFamiliesAndBumpsTheVersion) {
  RunIo([&](asio::any_io_executor ex) -> asio::awaitable<void> {
    db::PgPool pool(ex, Options());
    AccountStore store(pool);
    auto user = co_await Register(store, "ada@example.com", 1);
    CO_ASSERT_TRUE(user.has_value());
    const std::int64_t mine = co_await NewFamily(store, user->id, 10);
    const std::int64_t other = co_await NewFamily(store, user->id, 20);
    CO_ASSERT_TRUE(mine > 0 && other > 0);
    CO_ASSERT_TRUE(Outcome(co_await Issue(store, user->id, TokenPurpose::kResetPassword, 30)) ==
                   "ok");

    OutboxMessage message = Message("password_changed", "ada@example.com");
    AuditEvent audit = Event("password.changed", user->id, user->id);
    auto changed = co_await store.ChangePassword(user->id, "$argon2id$changed", mine,
                                                 std::move(message), std::move(audit), Soon());
    CO_ASSERT_TRUE(Outcome(changed) == "ok");
    EXPECT_EQ(changed->version, user->version + 1);
    EXPECT_EQ(Value("SELECT updated_at > created_at FROM users"), "t");
    auto now = co_await store.FindById(user->id, Soon());
    CO_ASSERT_TRUE(now.has_value());
    EXPECT_EQ(now->password_hash, "$argon2id$changed");

    EXPECT_EQ(RotationName(co_await Rotate(store, user->id, 20, 21)), "kReused");
    EXPECT_EQ(RotationName(co_await Rotate(store, user->id, 10, 11)), "kRotated");
    // A reset link mailed before the change no longer works.
    EXPECT_EQ(Outcome(co_await Reset(store, 30, "$argon2id$reset")), "kNotFound");
    EXPECT_EQ(Value("SELECT count(*) FROM outbox WHERE kind = 'password_changed'"), "1");
    EXPECT_EQ(Value("SELECT count(*) FROM audit_events WHERE action = 'password.changed' AND "
                    "actor_id = " +
                    std::to_string(user->id)),
              "1");

    OutboxMessage lost = Message("password_changed", "nobody@example.com");
    AuditEvent lost_audit = Event("password.changed");
    auto missing = co_await store.ChangePassword(user->id + 1000, "$argon2id$x", 0, std::move(lost),
                                                 std::move(lost_audit), Soon());
    EXPECT_EQ(Outcome(missing), "kNotFound");
    EXPECT_EQ(Value("SELECT count(*) FROM outbox WHERE kind = 'password_changed'"), "1");
  });
}

TEST_F(AccountStoreTest, TokensAreSingleUseExpireAndVoidEarlierOnes) {
  RunIo([&](asio::any_io_executor ex) -> asio::awaitable<void> {
    db::PgPool pool(ex, Options());
    AccountStore store(pool);
    auto user = co_await Register(store, "ada@example.com", 1);
    CO_ASSERT_TRUE(user.has_value());

    // A newer verify token voids the one from registration.
    CO_ASSERT_TRUE(Outcome(co_await Issue(store, user->id, TokenPurpose::kVerifyEmail, 2)) == "ok");
    EXPECT_EQ(Value("SELECT count(*) FROM outbox WHERE kind = 'verify_email'"), "2");
    EXPECT_EQ(Outcome(co_await Verify(store, 1)), "kNotFound");
    // A reset token is not a verify token.
    CO_ASSERT_TRUE(Outcome(co_await Issue(store, user->id, TokenPurpose::kResetPassword, 3)) ==
                   "ok");
    EXPECT_EQ(Outcome(co_await Verify(store, 3)), "kNotFound");
    EXPECT_EQ(Outcome(co_await Reset(store, 2, "$argon2id$x")), "kNotFound");

    auto verified = co_await Verify(store, 2);
    CO_ASSERT_TRUE(Outcome(verified) == "ok");
    EXPECT_EQ(verified->id, user->id);
    EXPECT_EQ(verified->version, user->version + 1);
    auto found = co_await store.FindById(user->id, Soon());
    CO_ASSERT_TRUE(found.has_value());
    EXPECT_TRUE(found->user.email_verified);
    EXPECT_EQ(Value("SELECT count(*) FROM audit_events WHERE action = 'email.verified'"), "1");
    EXPECT_EQ(Outcome(co_await Verify(store, 2)), "kNotFound");

    // Expiry, with a real one-second lifetime.
    CO_ASSERT_TRUE(Outcome(co_await Issue(store, user->id, TokenPurpose::kVerifyEmail, 4, 1s)) ==
                   "ok");
    co_await myriad::testing::SleepFor(1100ms);
    EXPECT_EQ(Outcome(co_await Verify(store, 4)), "kNotFound");
    // And one set in the past directly.
    CO_ASSERT_TRUE(Outcome(co_await Issue(store, user->id, TokenPurpose::kVerifyEmail, 5)) == "ok");
    EXPECT_EQ(Value("UPDATE account_tokens SET expires_at = now() - interval '1 second' WHERE "
                    "token_hash = " +
                    Bytea(Hash(5)) + " RETURNING 1"),
              "1");
    EXPECT_EQ(Outcome(co_await Verify(store, 5)), "kNotFound");
    EXPECT_EQ(Outcome(co_await Verify(store, 77)), "kNotFound");

    EXPECT_EQ(Outcome(co_await Issue(store, user->id + 1000, TokenPurpose::kVerifyEmail, 6)),
              "kNotFound");
    EXPECT_EQ(Value("SELECT count(*) FROM account_tokens WHERE token_hash = " + Bytea(Hash(6))),
              "0");
  });
}

TEST_F(AccountStoreTest, VerifyEmailIsRejectedAfterTheAddressChanged) {
  RunIo([&](asio::any_io_executor ex) -> asio::awaitable<void> {
    db::PgPool pool(ex, Options());
    AccountStore store(pool);
    auto user = co_await Register(store, "ada@example.com", 1);
    auto bob = co_await Register(store, "bob@example.com", 2);
    CO_ASSERT_TRUE(user.has_value() && bob.has_value());
    const std::string id = std::to_string(user->id);

    // Changed behind the store's back (as PATCH /api/users does): the token was for the old
    // address, and proves nothing about the new one.
    EXPECT_EQ(
        Value("UPDATE users SET email = 'ada2@example.com' WHERE id = " + id + " RETURNING 1"),
        "1");
    EXPECT_EQ(Outcome(co_await Verify(store, 1)), "kNotFound");
    EXPECT_EQ(Value("SELECT email_verified_at IS NULL FROM users WHERE id = " + id), "t");

    // Through the store: a duplicate changes nothing.
    OutboxMessage dup_message = Message("verify_email", "bob@example.com");
    AuditEvent dup_audit = Event("email.changed", user->id, user->id);
    auto duplicate =
        co_await store.ChangeEmail(user->id, "bob@example.com", Hash(3), 3600s,
                                   std::move(dup_message), std::move(dup_audit), Soon());
    EXPECT_EQ(Outcome(duplicate), "kDuplicateEmail");
    EXPECT_EQ(Value("SELECT count(*) FROM account_tokens WHERE token_hash = " + Bytea(Hash(3))),
              "0");

    OutboxMessage message = Message("verify_email", "ada3@example.com");
    AuditEvent audit = Event("email.changed", user->id, user->id);
    auto changed = co_await store.ChangeEmail(user->id, "ada3@example.com", Hash(4), 3600s,
                                              std::move(message), std::move(audit), Soon());
    CO_ASSERT_TRUE(Outcome(changed) == "ok");
    EXPECT_EQ(changed->email, "ada3@example.com");
    EXPECT_EQ(changed->version, user->version + 1);  // the SQL change bumped nothing
    EXPECT_EQ(Value("SELECT email FROM account_tokens WHERE token_hash = " + Bytea(Hash(4))),
              "ada3@example.com");
    // The earlier token, though never used, is void now.
    EXPECT_EQ(Value("SELECT used_at IS NOT NULL FROM account_tokens WHERE token_hash = " +
                    Bytea(Hash(1))),
              "t");
    auto verified = co_await Verify(store, 4);
    CO_ASSERT_TRUE(Outcome(verified) == "ok");
    EXPECT_EQ(verified->email, "ada3@example.com");

    // Changing the address again clears the verification.
    OutboxMessage again_message = Message("verify_email", "ada4@example.com");
    AuditEvent again_audit = Event("email.changed", user->id, user->id);
    auto again =
        co_await store.ChangeEmail(user->id, "ada4@example.com", Hash(5), 3600s,
                                   std::move(again_message), std::move(again_audit), Soon());
    CO_ASSERT_TRUE(Outcome(again) == "ok");
    auto found = co_await store.FindById(user->id, Soon());
    CO_ASSERT_TRUE(found.has_value());
    EXPECT_FALSE(found->user.email_verified);
    EXPECT_EQ(Value("SELECT count(*) FROM audit_events WHERE action = 'email.changed'"), "2");
  });
}

TEST_F(AccountStoreTest, ResetPasswordRevokesEverySessionAndIsSingleUse) {
  RunIo([&](asio::any_io_executor ex) -> asio::awaitable<void> {
    db::PgPool pool(ex, Options());
    AccountStore store(pool);
    auto user = co_await Register(store, "ada@example.com", 1);
    CO_ASSERT_TRUE(user.has_value());
    CO_ASSERT_TRUE(co_await NewFamily(store, user->id, 10) > 0);
    CO_ASSERT_TRUE(co_await NewFamily(store, user->id, 20) > 0);
    CO_ASSERT_TRUE(Outcome(co_await Issue(store, user->id, TokenPurpose::kResetPassword, 30)) ==
                   "ok");
    EXPECT_EQ(Value("SELECT count(*) FROM outbox WHERE kind = 'reset_password'"), "1");

    auto reset = co_await Reset(store, 30, "$argon2id$reset");
    CO_ASSERT_TRUE(Outcome(reset) == "ok");
    EXPECT_EQ(reset->version, user->version + 1);
    auto found = co_await store.FindById(user->id, Soon());
    CO_ASSERT_TRUE(found.has_value());
    EXPECT_EQ(found->password_hash, "$argon2id$reset");
    EXPECT_EQ(LiveSessions(user->id), "0");
    EXPECT_EQ(RotationName(co_await Rotate(store, user->id, 10, 11)), "kReused");
    EXPECT_EQ(Outcome(co_await Reset(store, 30, "$argon2id$again")), "kNotFound");
    EXPECT_EQ(Value("SELECT count(*) FROM audit_events WHERE action = 'password.reset' AND "
                    "target_id = " +
                    std::to_string(user->id)),
              "1");

    // A link sent to an address the account no longer has does nothing.
    CO_ASSERT_TRUE(Outcome(co_await Issue(store, user->id, TokenPurpose::kResetPassword, 40)) ==
                   "ok");
    EXPECT_EQ(Value("UPDATE users SET email = 'new@example.com' WHERE id = " +
                    std::to_string(user->id) + " RETURNING 1"),
              "1");
    EXPECT_EQ(Outcome(co_await Reset(store, 40, "$argon2id$stolen")), "kNotFound");
    auto after = co_await store.FindById(user->id, Soon());
    CO_ASSERT_TRUE(after.has_value());
    EXPECT_EQ(after->password_hash, "$argon2id$reset");
  });
}

TEST_F(AccountStoreTest, AuditListPagesNewestFirstByKeyset) {
  RunIo([&](asio::any_io_executor ex) -> asio::awaitable<void> {
    db::PgPool pool(ex, Options());
    AccountStore store(pool);
    for (int i = 1; i <= 7; ++i) {
      AuditEvent event = Event("event." + std::to_string(i), i % 2 == 0 ? i : 0, 100 + i);
      if (i == 7) {
        event.ip = "198.51.100.7";
        event.request_id = "req-7";
        event.detail = R"({"reason":"test"})";
      }
      CO_ASSERT_TRUE(Outcome(co_await store.Audit(event, Soon())) == "ok");
    }
    std::vector<std::string> actions;
    std::int64_t before = 0;
    std::vector<std::size_t> sizes;
    for (int page = 0; page < 10; ++page) {
      auto records = co_await store.ListAudit(before, 3, Soon());
      CO_ASSERT_TRUE(Outcome(records) == "ok");
      sizes.push_back(records->size());
      if (records->empty()) {
        break;
      }
      for (const auto& record : *records) {
        if (before != 0) {
          EXPECT_LT(record.id, before);
        }
        actions.push_back(record.action);
      }
      before = records->back().id;
    }
    EXPECT_EQ(sizes, (std::vector<std::size_t>{3, 3, 1, 0}));
    EXPECT_EQ(actions, (std::vector<std::string>{"event.7", "event.6", "event.5", "event.4",
                                                 "event.3", "event.2", "event.1"}));

    auto newest = co_await store.ListAudit(0, 2, Soon());
    CO_ASSERT_TRUE(newest.has_value() && newest->size() == 2);
    const AuditRecord& seventh = (*newest)[0];
    EXPECT_TRUE(IsRfc3339(seventh.at)) << seventh.at;
    EXPECT_FALSE(seventh.actor_id.has_value());
    EXPECT_EQ(seventh.target_id, std::optional<std::int64_t>(107));
    EXPECT_EQ(seventh.ip, "198.51.100.7");
    EXPECT_EQ(seventh.request_id, "req-7");
    EXPECT_EQ(seventh.detail, R"({"reason": "test"})");
    const AuditRecord& sixth = (*newest)[1];
    EXPECT_EQ(sixth.actor_id, std::optional<std::int64_t>(6));
    EXPECT_EQ(sixth.ip, "");
    EXPECT_EQ(sixth.request_id, "");
    EXPECT_EQ(sixth.detail, "{}");

    // Detail must be a JSON object's text: anything else is refused, not stored.
    AuditEvent bad = Event("event.bad");
    bad.detail = "not json";
    EXPECT_EQ(Outcome(co_await store.Audit(bad, Soon())).substr(0, 9), "kDatabase");
  });
}

TEST_F(AccountStoreTest, OutboxListsNewestFirst) {
  RunIo([&](asio::any_io_executor ex) -> asio::awaitable<void> {
    db::PgPool pool(ex, Options());
    AccountStore store(pool);
    auto ada = co_await Register(store, "ada@example.com", 1);
    auto bob = co_await Register(store, "bob@example.com", 2);
    CO_ASSERT_TRUE(ada.has_value() && bob.has_value());
    CO_ASSERT_TRUE(Outcome(co_await Issue(store, ada->id, TokenPurpose::kResetPassword, 3)) ==
                   "ok");
    EXPECT_EQ(Value("UPDATE outbox SET sent_at = now() WHERE recipient = 'ada@example.com' "
                    "RETURNING 1"),
              "1");

    auto entries = co_await store.ListOutbox(2, Soon());
    CO_ASSERT_TRUE(Outcome(entries) == "ok");
    CO_ASSERT_TRUE(entries->size() == 2);
    EXPECT_EQ((*entries)[0].kind, "reset_password");
    EXPECT_EQ((*entries)[1].kind, "verify_email");
    EXPECT_EQ((*entries)[1].recipient, "bob@example.com");
    EXPECT_EQ((*entries)[1].subject, "Subject of verify_email");
    EXPECT_EQ((*entries)[1].body, "Body of verify_email");
    EXPECT_GT((*entries)[0].id, (*entries)[1].id);
    EXPECT_TRUE(IsRfc3339((*entries)[0].created_at));
    EXPECT_FALSE((*entries)[0].sent_at.has_value());

    auto all = co_await store.ListOutbox(10, Soon());
    CO_ASSERT_TRUE(all.has_value() && all->size() == 3);
    const OutboxEntry& first = (*all)[2];
    EXPECT_EQ(first.recipient, "ada@example.com");
    CO_ASSERT_TRUE(first.sent_at.has_value());
    EXPECT_TRUE(IsRfc3339(*first.sent_at)) << *first.sent_at;
  });
}

}  // namespace
}  // namespace myriad::accounts

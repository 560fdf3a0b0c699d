#include "auth/password.hpp"

#include <gtest/gtest.h>
#include <sodium.h>

#include <array>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <chrono>
#include <exception>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <thread>
#include <utility>
#include <vector>

#include "support/coro_test.hpp"

namespace myriad::auth {
namespace {

namespace asio = boost::asio;
using VerifyResult = PasswordHasher::VerifyResult;
using Outcome = PasswordHasher::Outcome;

// Fast enough for many hashes per test; the default cost is tested on its own.
constexpr HashCost kFastCost{.passes = 1, .memory_bytes = 64 * 1024};
constexpr HashCost kOtherPasses{.passes = 2, .memory_bytes = 64 * 1024};
constexpr HashCost kOtherMemory{.passes = 1, .memory_bytes = 128 * 1024};
// Only ConcurrentFirstUsesShareOneHash asks for this cost's dummy hash.
constexpr HashCost kUnusedElsewhere{.passes = 3, .memory_bytes = 64 * 1024};

std::string Hash(std::string_view password, const HashCost& cost = kFastCost) {
  auto hash = HashPassword(password, cost);
  if (!hash) throw std::runtime_error("HashPassword failed");
  return std::move(*hash);
}

TEST(HashPasswordTest, DefaultCostIsOwaspMinimum) {
  const std::string hash = Hash("correct horse", HashCost{});
  EXPECT_TRUE(hash.starts_with("$argon2id$v=19$m=19456,t=2,p=1$")) << hash;
  EXPECT_EQ(VerifyPassword(hash, "correct horse"), PasswordCheck::kMatch);
  EXPECT_FALSE(NeedsRehash(hash, HashCost{}));
}

TEST(VerifyPasswordTest, MatchesOnlyTheSamePassword) {
  const std::string hash = Hash("correct horse");
  EXPECT_EQ(VerifyPassword(hash, "correct horse"), PasswordCheck::kMatch);
  EXPECT_EQ(VerifyPassword(hash, "correct hors"), PasswordCheck::kMismatch);
  EXPECT_EQ(VerifyPassword(hash, "correct horse "), PasswordCheck::kMismatch);
  EXPECT_EQ(VerifyPassword(hash, ""), PasswordCheck::kMismatch);
}

TEST(VerifyPasswordTest, PasswordBytesAreTakenAsGivenNulsIncluded) {
  using namespace std::string_literals;
  const std::string password = "a\0b"s;
  const std::string hash = Hash(password);
  EXPECT_EQ(VerifyPassword(hash, password), PasswordCheck::kMatch);
  EXPECT_EQ(VerifyPassword(hash, "a"), PasswordCheck::kMismatch);
  const std::string empty_hash = Hash("");
  EXPECT_EQ(VerifyPassword(empty_hash, ""), PasswordCheck::kMatch);
}

TEST(VerifyPasswordTest, AcceptsArgon2iHashes) {
  std::array<char, crypto_pwhash_STRBYTES> out{};
  const std::string_view password = "legacy";
  constexpr HashCost kArgon2iCost{.passes = crypto_pwhash_argon2i_OPSLIMIT_MIN,
                                  .memory_bytes = kFastCost.memory_bytes};
  ASSERT_EQ(crypto_pwhash_str_alg(out.data(), password.data(), password.size(), kArgon2iCost.passes,
                                  kArgon2iCost.memory_bytes, crypto_pwhash_ALG_ARGON2I13),
            0);
  const std::string hash(out.data());
  ASSERT_TRUE(hash.starts_with("$argon2i$")) << hash;
  EXPECT_EQ(VerifyPassword(hash, "legacy"), PasswordCheck::kMatch);
  EXPECT_EQ(VerifyPassword(hash, "legacy!"), PasswordCheck::kMismatch);
  EXPECT_TRUE(NeedsRehash(hash, kArgon2iCost)) << "Argon2i is rehashed to Argon2id";
}

TEST(VerifyPasswordTest, MalformedStringsAreNeverAMatch) {
  using namespace std::string_literals;
  const std::string good = Hash("pw");
  const std::string with_nul = good.substr(0, 20) + "\0"s + good.substr(20);
  const std::string too_long = good + std::string(crypto_pwhash_STRBYTES, 'A');
  const std::vector<std::string> malformed = {
      "",
      "pw",
      "not a hash",
      "$argon2id$",
      "$argon2id$v=19$m=64,t=1,p=1$",
      "$argon2id$v=19$m=x,t=1,p=1$c2FsdHNhbHRzYWx0$aGFzaA",
      "$bcrypt$v=19$m=64,t=1,p=1$c2FsdHNhbHRzYWx0c2FsdA$aGFzaGhhc2hoYXNoaGFzaA",
      good.substr(0, good.size() / 2),
      good.substr(0, good.rfind('$')),
      with_nul,
      too_long,
  };
  for (const auto& phc : malformed) {
    EXPECT_EQ(VerifyPassword(phc, "pw"), PasswordCheck::kMalformed) << phc;
    EXPECT_TRUE(NeedsRehash(phc, kFastCost)) << phc;
  }
}

TEST(NeedsRehashTest, TrueWhenPassesOrMemoryDiffer) {
  const std::string hash = Hash("pw");
  EXPECT_FALSE(NeedsRehash(hash, kFastCost));
  EXPECT_TRUE(NeedsRehash(hash, kOtherPasses));
  EXPECT_TRUE(NeedsRehash(hash, kOtherMemory));
  EXPECT_TRUE(NeedsRehash(hash, HashCost{}));
}

TEST(DummyHashTest, OnePerCostMadeWithThatCostAndMatchingNothingObvious) {
  const std::string& dummy = DummyHash(kFastCost);
  EXPECT_EQ(&dummy, &DummyHash(kFastCost)) << "computed once, then shared";
  EXPECT_NE(&dummy, &DummyHash(kOtherPasses));
  EXPECT_FALSE(NeedsRehash(dummy, kFastCost));
  EXPECT_FALSE(NeedsRehash(DummyHash(kOtherPasses), kOtherPasses));
  EXPECT_EQ(VerifyPassword(dummy, ""), PasswordCheck::kMismatch);
  EXPECT_EQ(VerifyPassword(dummy, "password"), PasswordCheck::kMismatch);
}

TEST(DummyHashTest, ConcurrentFirstUsesShareOneHash) {
  std::array<const std::string*, 4> seen{};
  std::vector<std::thread> threads;
  threads.reserve(seen.size());
  for (auto& out : seen) {
    threads.emplace_back([&out] { out = &DummyHash(kUnusedElsewhere); });
  }
  for (auto& thread : threads) thread.join();
  for (const auto* hash : seen) EXPECT_EQ(hash, seen[0]);
}

// Waits on the io thread, without blocking it, until `done` is true.
asio::awaitable<void> WaitFor(asio::any_io_executor executor, const bool& done) {
  asio::steady_timer timer(executor);
  while (!done) {
    timer.expires_after(std::chrono::milliseconds(1));
    co_await timer.async_wait(asio::use_awaitable);
  }
}

TEST(PasswordHasherTest, VerifyReportsMatchMismatchAndMalformed) {
  PasswordHasher hasher(2, 8, kFastCost);
  const std::string hash = Hash("pw");
  testing::RunIo([&](asio::any_io_executor /*executor*/) -> asio::awaitable<void> {
    const VerifyResult match = co_await hasher.Verify(hash, "pw");
    EXPECT_EQ(match.outcome, Outcome::kOk);
    EXPECT_EQ(match.check, PasswordCheck::kMatch);
    EXPECT_FALSE(match.needs_rehash);

    const VerifyResult mismatch = co_await hasher.Verify(hash, "pW");
    EXPECT_EQ(mismatch.outcome, Outcome::kOk);
    EXPECT_EQ(mismatch.check, PasswordCheck::kMismatch);
    EXPECT_FALSE(mismatch.needs_rehash);

    const VerifyResult malformed = co_await hasher.Verify("$argon2id$nonsense", "pw");
    EXPECT_EQ(malformed.outcome, Outcome::kOk);
    EXPECT_EQ(malformed.check, PasswordCheck::kMalformed);
    EXPECT_FALSE(malformed.needs_rehash);
  });
}

TEST(PasswordHasherTest, MatchAdvisesRehashWhenTheHasherCostDiffers) {
  PasswordHasher hasher(1, 4, kFastCost);
  EXPECT_EQ(hasher.cost().passes, kFastCost.passes);
  EXPECT_EQ(hasher.cost().memory_bytes, kFastCost.memory_bytes);
  const std::string old_hash = Hash("pw", kOtherMemory);
  testing::RunIo([&](asio::any_io_executor /*executor*/) -> asio::awaitable<void> {
    const VerifyResult match = co_await hasher.Verify(old_hash, "pw");
    EXPECT_EQ(match.check, PasswordCheck::kMatch);
    EXPECT_TRUE(match.needs_rehash);
    const VerifyResult mismatch = co_await hasher.Verify(old_hash, "other");
    EXPECT_EQ(mismatch.check, PasswordCheck::kMismatch);
    EXPECT_FALSE(mismatch.needs_rehash) << "advice only after a match";
  });
}

TEST(PasswordHasherTest, HashThenVerifyRoundTrips) {
  PasswordHasher hasher(1, 4, kFastCost);
  testing::RunIo([&](asio::any_io_executor /*executor*/) -> asio::awaitable<void> {
    const auto hashed = co_await hasher.Hash("round trip");
    CO_ASSERT_TRUE(hashed.outcome == Outcome::kOk);
    EXPECT_FALSE(NeedsRehash(hashed.hash, kFastCost));
    const VerifyResult verified = co_await hasher.Verify(hashed.hash, "round trip");
    EXPECT_EQ(verified.check, PasswordCheck::kMatch);
    EXPECT_FALSE(verified.needs_rehash);
  });
}

TEST(PasswordHasherTest, VerifyDummyNeverMatches) {
  PasswordHasher hasher(1, 4, kFastCost);
  testing::RunIo([&](asio::any_io_executor /*executor*/) -> asio::awaitable<void> {
    const VerifyResult result = co_await hasher.VerifyDummy("pw");
    EXPECT_EQ(result.outcome, Outcome::kOk);
    EXPECT_EQ(result.check, PasswordCheck::kMismatch);
    EXPECT_FALSE(result.needs_rehash);
  });
  EXPECT_FALSE(NeedsRehash(DummyHash(kFastCost), hasher.cost()));
}

TEST(PasswordHasherTest, VerifyResumesOnTheCallersThread) {
  PasswordHasher hasher(2, 8, kFastCost);
  const std::string hash = Hash("pw");
  testing::RunIo([&](asio::any_io_executor /*executor*/) -> asio::awaitable<void> {
    const auto io_thread = std::this_thread::get_id();
    for (int i = 0; i < 4; ++i) {
      const VerifyResult result = co_await hasher.Verify(hash, "pw");
      EXPECT_EQ(result.check, PasswordCheck::kMatch);
      EXPECT_EQ(std::this_thread::get_id(), io_thread);
      const VerifyResult dummy = co_await hasher.VerifyDummy("pw");
      EXPECT_EQ(dummy.outcome, Outcome::kOk);
      EXPECT_EQ(std::this_thread::get_id(), io_thread);
    }
  });
}

// Deterministic, whatever the speed of hashing: a place in the queue is given back only
// once its result has been delivered on the caller's io thread, and this coroutine holds
// that (single) thread until it suspends in WaitFor.
TEST(PasswordHasherTest, AnswersBusyAtOnceWhenTheQueueIsFull) {
  PasswordHasher hasher(1, 1, kFastCost);
  const std::string hash = Hash("pw");
  EXPECT_EQ(hasher.stats().capacity, 1U);
  EXPECT_EQ(hasher.stats().threads, 1U);
  testing::RunIo([&](asio::any_io_executor executor) -> asio::awaitable<void> {
    std::optional<VerifyResult> first;
    bool first_done = false;
    // co_spawn onto the executor we run on starts the coroutine inline, up to its hand-off
    // to the pool.
    asio::co_spawn(executor, hasher.Verify(hash, "pw"),
                   [&](const std::exception_ptr&, VerifyResult result) {
                     first = result;
                     first_done = true;
                   });
    EXPECT_EQ(hasher.stats().queued, 1U);

    const VerifyResult second = co_await hasher.Verify(hash, "pw");
    EXPECT_EQ(second.outcome, Outcome::kBusy);
    EXPECT_FALSE(first_done);
    const VerifyResult dummy = co_await hasher.VerifyDummy("pw");
    EXPECT_EQ(dummy.outcome, Outcome::kBusy);
    const auto hashed = co_await hasher.Hash("pw");
    EXPECT_EQ(hashed.outcome, Outcome::kBusy);
    EXPECT_EQ(hasher.stats().queued, 1U);

    co_await WaitFor(executor, first_done);
    CO_ASSERT_TRUE(first.has_value());
    EXPECT_EQ(first->outcome, Outcome::kOk);
    EXPECT_EQ(first->check, PasswordCheck::kMatch);
    EXPECT_EQ(hasher.stats().queued, 0U);

    const VerifyResult after = co_await hasher.Verify(hash, "pw");
    EXPECT_EQ(after.outcome, Outcome::kOk);
    EXPECT_EQ(after.check, PasswordCheck::kMatch);
  });
}

TEST(PasswordHasherTest, ZeroThreadsMeansOne) {
  PasswordHasher hasher(0, 2, kFastCost);
  EXPECT_EQ(hasher.stats().threads, 1U);
  EXPECT_EQ(hasher.stats().queued, 0U);
  EXPECT_EQ(hasher.stats().capacity, 2U);
}

}  // namespace
}  // namespace myriad::auth

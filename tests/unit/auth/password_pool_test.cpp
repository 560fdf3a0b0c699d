// PasswordHasher's queue: the deadline on waiting for a thread, and what it reports to
// HasherMetrics. Outcomes only, never how long anything took.
#include <gtest/gtest.h>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <chrono>
#include <cstddef>
#include <exception>
#include <functional>
#include <memory>
#include <optional>
#include <stdexcept>
#include <string>

#include "auth/hasher_metrics.hpp"
#include "auth/password.hpp"
#include "support/coro_test.hpp"

namespace myriad::auth {
namespace {

namespace asio = boost::asio;
using Outcome = PasswordHasher::Outcome;
using VerifyResult = PasswordHasher::VerifyResult;
using Op = HasherMetrics::Op;
using Counted = HasherMetrics::Outcome;

constexpr HashCost kFastCost{.passes = 1, .memory_bytes = 64 * 1024};
// Filling 64 MiB twice takes far longer than the 1 ms deadline below, whatever the machine.
constexpr HashCost kSlowCost{.passes = 2, .memory_bytes = std::size_t{64} * 1024 * 1024};
// Below libsodium's minimum memory: crypto_pwhash_str refuses it, so Hash gives kFailed.
constexpr HashCost kRefusedCost{.passes = 1, .memory_bytes = 1};

PasswordHasherOptions Options(std::size_t threads, std::size_t queue,
                              std::chrono::milliseconds queue_timeout, HashCost cost,
                              const std::shared_ptr<HasherMetrics>& metrics) {
  PasswordHasherOptions o;
  o.threads = threads;
  o.queue = queue;
  o.queue_timeout = queue_timeout;
  o.cost = cost;
  o.metrics = metrics;
  return o;
}

std::string FastHash(const std::string& password) {
  auto hash = HashPassword(password, kFastCost);
  if (!hash) throw std::runtime_error("HashPassword failed");
  return std::move(*hash);
}

// Suspends the io thread's coroutine, without blocking it, until `ready()`.
asio::awaitable<void> WaitUntil(asio::any_io_executor executor,
                                const std::function<bool()>& ready) {
  asio::steady_timer timer(executor);
  while (!ready()) {
    timer.expires_after(std::chrono::milliseconds(1));
    co_await timer.async_wait(asio::use_awaitable);
  }
}

// Starts `task` on `executor` and stores its result in `out`.
template <class T>
void Start(asio::any_io_executor executor, asio::awaitable<T> task, std::optional<T>& out) {
  asio::co_spawn(executor, std::move(task), [&out](const std::exception_ptr& /*error*/, T result) {
    out = std::move(result);
  });
}

TEST(PasswordPoolTest, JobsWaitingPastTheDeadlineAreAnsweredBusyWithoutRunning) {
  // One thread: the verifications wait behind a slow hash (tens of milliseconds), long past
  // the 1 ms deadline. The thread runs SCHED_IDLE, so on a busy machine it may get no CPU
  // for a millisecond and the slow hash expire too; then the scenario says nothing about
  // the others, and it is tried again.
  for (int attempt = 0; attempt < 20; ++attempt) {
    auto metrics = std::make_shared<HasherMetrics>(1);
    PasswordHasher hasher(Options(1, 8, std::chrono::milliseconds(1), kSlowCost, metrics));
    const std::string phc = FastHash("pw");
    bool slow_ran = false;
    testing::RunIo([&](asio::any_io_executor executor) -> asio::awaitable<void> {
      std::optional<PasswordHasher::Result> slow;
      std::optional<VerifyResult> verify;
      std::optional<VerifyResult> dummy;
      Start(executor, hasher.Hash("slow"), slow);
      Start(executor, hasher.Verify(phc, "pw"), verify);
      Start(executor, hasher.VerifyDummy("pw"), dummy);
      co_await WaitUntil(executor, [&] { return slow && verify && dummy; });
      EXPECT_NE(slow->outcome, Outcome::kFailed);
      EXPECT_EQ(hasher.stats().queued, 0U) << "expired jobs give their places back";
      slow_ran = slow->outcome == Outcome::kOk;
      if (!slow_ran) co_return;
      EXPECT_EQ(verify->outcome, Outcome::kBusy);
      EXPECT_EQ(verify->check, PasswordCheck::kMismatch) << "nothing was checked";
      EXPECT_EQ(dummy->outcome, Outcome::kBusy);
    });
    EXPECT_EQ(metrics->QueueDepth(), 0U);
    EXPECT_EQ(metrics->InProgress(), 0U);
    if (!slow_ran) continue;
    // Expired jobs count in the wait histogram when a thread reached them; those whose
    // caller gave up first (the usual case here) never reached a thread. The slow hash did.
    EXPECT_GE(metrics->Waits(), 1U);
    EXPECT_LE(metrics->Waits(), 3U);
    EXPECT_EQ(metrics->Count(Op::kHash, Counted::kOk), 1U);
    EXPECT_EQ(metrics->Count(Op::kVerify, Counted::kBusyDeadline), 1U);
    EXPECT_EQ(metrics->Count(Op::kVerify, Counted::kOk), 0U);
    EXPECT_EQ(metrics->Count(Op::kVerifyDummy, Counted::kBusyDeadline), 1U);
    EXPECT_EQ(metrics->Count(Op::kVerifyDummy, Counted::kOk), 0U);
    return;
  }
  GTEST_SKIP() << "the hashing thread never got the CPU within 1 ms in 20 tries";
}

TEST(PasswordPoolTest, TheCallerGetsBusyAtTheDeadlineWhileTheThreadIsStillBusy) {
  // A hash far slower than the deadline holds the only thread: the verification behind it
  // must come back busy around its deadline, long before that hash ends, not after it (the
  // hashing threads run SCHED_IDLE and may get no CPU at all while requests are busy).
  constexpr HashCost kVerySlow{.passes = 3, .memory_bytes = std::size_t{256} * 1024 * 1024};
  for (int attempt = 0; attempt < 20; ++attempt) {
    auto metrics = std::make_shared<HasherMetrics>(1);
    PasswordHasher hasher(Options(1, 8, std::chrono::milliseconds(20), kVerySlow, metrics));
    const std::string phc = FastHash("pw");
    bool slow_started = false;
    testing::RunIo([&](asio::any_io_executor executor) -> asio::awaitable<void> {
      std::optional<PasswordHasher::Result> slow;
      std::optional<VerifyResult> verify;
      Start(executor, hasher.Hash("slow"), slow);
      co_await WaitUntil(executor, [&] { return slow.has_value() || metrics->InProgress() == 1; });
      slow_started = !slow.has_value();
      if (!slow_started) co_return;  // the thread got no CPU within 20 ms: try again
      Start(executor, hasher.Verify(phc, "pw"), verify);
      co_await WaitUntil(executor, [&] { return verify.has_value(); });
      EXPECT_EQ(verify->outcome, Outcome::kBusy);
      EXPECT_EQ(verify->check, PasswordCheck::kMismatch);
      EXPECT_FALSE(slow.has_value()) << "the answer waited for the hash ahead of it";
      EXPECT_EQ(hasher.stats().queued, 1U) << "only the running hash holds a place";
      co_await WaitUntil(executor, [&] { return slow.has_value(); });
      EXPECT_EQ(slow->outcome, Outcome::kOk);
    });
    if (!slow_started) continue;
    EXPECT_EQ(metrics->Count(Op::kVerify, Counted::kBusyDeadline), 1U);
    EXPECT_EQ(metrics->Count(Op::kVerify, Counted::kOk), 0U);
    EXPECT_EQ(metrics->QueueDepth(), 0U);
    return;
  }
  GTEST_SKIP() << "the hashing thread never got the CPU within 20 ms in 20 tries";
}

TEST(PasswordPoolTest, CountsEachOperationsOutcome) {
  auto metrics = std::make_shared<HasherMetrics>(2);
  PasswordHasher hasher(Options(2, 8, std::chrono::seconds(60), kFastCost, metrics));
  const std::string phc = FastHash("pw");
  testing::RunIo([&](asio::any_io_executor /*executor*/) -> asio::awaitable<void> {
    const auto hashed = co_await hasher.Hash("pw");
    EXPECT_EQ(hashed.outcome, Outcome::kOk);
    const VerifyResult match = co_await hasher.Verify(phc, "pw");
    EXPECT_EQ(match.check, PasswordCheck::kMatch);
    const VerifyResult mismatch = co_await hasher.Verify(phc, "other");
    EXPECT_EQ(mismatch.check, PasswordCheck::kMismatch);
    const VerifyResult dummy = co_await hasher.VerifyDummy("pw");
    EXPECT_EQ(dummy.outcome, Outcome::kOk);
  });
  EXPECT_EQ(metrics->Count(Op::kHash, Counted::kOk), 1U);
  EXPECT_EQ(metrics->Count(Op::kVerify, Counted::kOk), 2U) << "a mismatch is still ok";
  EXPECT_EQ(metrics->Count(Op::kVerifyDummy, Counted::kOk), 1U);
  for (const Op op : {Op::kHash, Op::kVerify, Op::kVerifyDummy}) {
    for (const Counted outcome :
         {Counted::kBusyQueueFull, Counted::kBusyDeadline, Counted::kError}) {
      EXPECT_EQ(metrics->Count(op, outcome), 0U);
    }
  }
  EXPECT_EQ(metrics->Waits(), 4U);
  EXPECT_EQ(metrics->QueueDepth(), 0U);
  EXPECT_EQ(metrics->InProgress(), 0U);
}

TEST(PasswordPoolTest, AFailedHashCountsAsAnError) {
  auto metrics = std::make_shared<HasherMetrics>(1);
  PasswordHasher hasher(Options(1, 4, std::chrono::seconds(60), kRefusedCost, metrics));
  testing::RunIo([&](asio::any_io_executor /*executor*/) -> asio::awaitable<void> {
    const auto hashed = co_await hasher.Hash("pw");
    EXPECT_EQ(hashed.outcome, Outcome::kFailed);
  });
  EXPECT_EQ(metrics->Count(Op::kHash, Counted::kError), 1U);
  EXPECT_EQ(metrics->Count(Op::kHash, Counted::kOk), 0U);
  EXPECT_EQ(metrics->InProgress(), 0U);
}

TEST(PasswordPoolTest, GaugesFollowAJobFromQueueToThread) {
  auto metrics = std::make_shared<HasherMetrics>(1);
  PasswordHasher hasher(Options(1, 8, std::chrono::seconds(60), kSlowCost, metrics));
  const std::string phc = FastHash("pw");
  testing::RunIo([&](asio::any_io_executor executor) -> asio::awaitable<void> {
    std::optional<PasswordHasher::Result> slow;
    Start(executor, hasher.Hash("slow"), slow);
    co_await WaitUntil(executor, [&] { return metrics->InProgress() == 1 || slow.has_value(); });
    CO_ASSERT_TRUE(!slow.has_value());
    EXPECT_EQ(metrics->QueueDepth(), 0U);

    // The only thread is busy with the slow hash, so this one waits in the queue.
    std::optional<VerifyResult> queued;
    Start(executor, hasher.Verify(phc, "pw"), queued);
    EXPECT_EQ(metrics->QueueDepth(), 1U);

    co_await WaitUntil(executor, [&] { return slow && queued; });
    EXPECT_EQ(slow->outcome, Outcome::kOk);
    EXPECT_EQ(queued->check, PasswordCheck::kMatch);
  });
  EXPECT_EQ(metrics->QueueDepth(), 0U);
  EXPECT_EQ(metrics->InProgress(), 0U);
  EXPECT_EQ(metrics->Waits(), 2U);
}

// Deterministic: the single place is given back only once the first result has been
// delivered on this (single) io thread, which the coroutine holds until it suspends.
TEST(PasswordPoolTest, AFullQueueStillAnswersBusyAndCountsIt) {
  auto metrics = std::make_shared<HasherMetrics>(1);
  PasswordHasher hasher(Options(1, 1, std::chrono::seconds(60), kFastCost, metrics));
  const std::string phc = FastHash("pw");
  testing::RunIo([&](asio::any_io_executor executor) -> asio::awaitable<void> {
    std::optional<VerifyResult> first;
    Start(executor, hasher.Verify(phc, "pw"), first);
    const VerifyResult verify = co_await hasher.Verify(phc, "pw");
    EXPECT_EQ(verify.outcome, Outcome::kBusy);
    const VerifyResult dummy = co_await hasher.VerifyDummy("pw");
    EXPECT_EQ(dummy.outcome, Outcome::kBusy);
    const auto hashed = co_await hasher.Hash("pw");
    EXPECT_EQ(hashed.outcome, Outcome::kBusy);
    co_await WaitUntil(executor, [&] { return first.has_value(); });
    EXPECT_EQ(first->outcome, Outcome::kOk);
  });
  EXPECT_EQ(metrics->Count(Op::kVerify, Counted::kBusyQueueFull), 1U);
  EXPECT_EQ(metrics->Count(Op::kVerifyDummy, Counted::kBusyQueueFull), 1U);
  EXPECT_EQ(metrics->Count(Op::kHash, Counted::kBusyQueueFull), 1U);
  EXPECT_EQ(metrics->Count(Op::kVerify, Counted::kOk), 1U);
  EXPECT_EQ(metrics->Waits(), 1U) << "refused jobs never reach the queue";
  EXPECT_EQ(metrics->QueueDepth(), 0U);
}

TEST(PasswordPoolTest, RefusesANonPositiveTimeoutAndTooFewShards) {
  EXPECT_THROW(PasswordHasher(Options(1, 1, std::chrono::milliseconds(0), kFastCost, nullptr)),
               std::invalid_argument);
  EXPECT_THROW(PasswordHasher(Options(3, 1, std::chrono::seconds(1), kFastCost,
                                      std::make_shared<HasherMetrics>(2))),
               std::invalid_argument);
  const PasswordHasher zero_threads(
      Options(0, 1, std::chrono::seconds(1), kFastCost, std::make_shared<HasherMetrics>(1)));
  EXPECT_EQ(zero_threads.stats().threads, 1U);
}

}  // namespace
}  // namespace myriad::auth

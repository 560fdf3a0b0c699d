#include "auth/password.hpp"

#include <pthread.h>
#include <sched.h>
#include <sodium.h>
#include <sys/resource.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <atomic>
#include <boost/asio/post.hpp>
#include <boost/asio/redirect_error.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/thread_pool.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <cassert>
#include <chrono>
#include <exception>
#include <map>
#include <memory>
#include <mutex>
#include <new>
#include <optional>
#include <stdexcept>
#include <type_traits>
#include <utility>

#include "auth/hasher_metrics.hpp"

namespace myriad::auth {
namespace asio = boost::asio;

namespace {

constexpr int kHashingNice = 10;

constexpr std::string_view kArgon2idPrefix = "$argon2id$";

// libsodium takes a PHC string as a NUL-terminated C string and reads it with strlen, so
// it must not hold a NUL itself and must fit its crypto_pwhash_STRBYTES buffer.
using PhcBuffer = std::array<char, crypto_pwhash_STRBYTES>;

std::optional<PhcBuffer> ToPhcBuffer(std::string_view phc) {
  if (phc.empty() || phc.size() >= crypto_pwhash_STRBYTES ||
      phc.find('\0') != std::string_view::npos) {
    return std::nullopt;
  }
  PhcBuffer buffer{};
  std::copy(phc.begin(), phc.end(), buffer.begin());
  return buffer;
}

// Wipes a string's whole buffer, not only size() bytes: a shorter assignment or a move out
// of a small string leaves old bytes behind.
void Wipe(std::string& secret) {
  secret.resize(secret.capacity());
  sodium_memzero(secret.data(), secret.size());
  secret.clear();
}

struct WipeAndDelete {
  void operator()(std::string* secret) const {
    Wipe(*secret);
    delete secret;
  }
};
// A password copy on the heap: coroutine frames and lambdas move the pointer, never the
// characters (a moved small string keeps its bytes), and the one copy is wiped when it dies.
using Secret = std::unique_ptr<std::string, WipeAndDelete>;

Secret CopySecret(std::string_view password) { return Secret(new std::string(password)); }

// One accepted place in the hasher's queue, given back when the result has reached the
// caller's executor rather than when the pool finishes: results waiting for a busy io
// thread still count against the limit.
class QueueSlot {
 public:
  static std::optional<QueueSlot> Take(std::atomic<std::size_t>& pending, std::size_t limit) {
    if (pending.fetch_add(1, std::memory_order_relaxed) >= limit) {
      pending.fetch_sub(1, std::memory_order_relaxed);
      return std::nullopt;
    }
    return QueueSlot(pending);
  }
  QueueSlot(QueueSlot&& other) noexcept : pending_(std::exchange(other.pending_, nullptr)) {}
  QueueSlot& operator=(QueueSlot&&) = delete;
  QueueSlot(const QueueSlot&) = delete;
  QueueSlot& operator=(const QueueSlot&) = delete;
  ~QueueSlot() {
    if (pending_ != nullptr) pending_->fetch_sub(1, std::memory_order_relaxed);
  }

 private:
  explicit QueueSlot(std::atomic<std::size_t>& pending) : pending_(&pending) {}
  std::atomic<std::size_t>* pending_;
};

// Hashing threads yield the CPU to everything else: a burst of logins then queues behind
// reads instead of slowing them, which is what the hashing bulkhead is for. Measured
// (bench/login.sh): at nice 10 reads' p99 under a login burst was 8.7x their p99 without
// it; with SCHED_IDLE 1.3x, at the same login throughput when nothing else runs. Once per
// thread; where both are refused (a restricted container) the default priority stays.
void LowerThisThreadsPriority() {
  thread_local bool lowered = false;
  if (lowered) return;
  lowered = true;
  // SCHED_IDLE: run only when a core has nothing else to do, so a login burst cannot take
  // CPU from the io threads at all; nice 10 where that policy is refused.
  sched_param param{};
  if (pthread_setschedparam(pthread_self(), SCHED_IDLE, &param) != 0) {
    (void)setpriority(PRIO_PROCESS, static_cast<id_t>(gettid()), kHashingNice);
  }
}

}  // namespace

std::optional<std::string> HashPassword(std::string_view password, const HashCost& cost) {
  if (sodium_init() < 0) return std::nullopt;
  std::array<char, crypto_pwhash_STRBYTES> hash{};
  if (crypto_pwhash_str(hash.data(), password.data(), password.size(), cost.passes,
                        cost.memory_bytes) != 0) {
    return std::nullopt;
  }
  return std::string(hash.data());
}

PasswordCheck VerifyPassword(std::string_view phc, std::string_view password) {
  const auto buffer = ToPhcBuffer(phc);
  if (!buffer) return PasswordCheck::kMalformed;
  if (sodium_init() < 0) return PasswordCheck::kMismatch;
  // crypto_pwhash_str_verify answers -1 both for a wrong password and for a string it
  // cannot parse. needs_rehash parses the string without hashing (whatever cost it is
  // compared with), which tells the two apart.
  if (crypto_pwhash_str_needs_rehash(buffer->data(), crypto_pwhash_OPSLIMIT_MIN,
                                     crypto_pwhash_MEMLIMIT_MIN) < 0) {
    return PasswordCheck::kMalformed;
  }
  return crypto_pwhash_str_verify(buffer->data(), password.data(), password.size()) == 0
             ? PasswordCheck::kMatch
             : PasswordCheck::kMismatch;
}

bool NeedsRehash(std::string_view phc, const HashCost& cost) {
  // needs_rehash compares passes and memory only, within the string's own algorithm; an
  // Argon2i hash with our cost still deserves an Argon2id one.
  if (!phc.starts_with(kArgon2idPrefix)) return true;
  const auto buffer = ToPhcBuffer(phc);
  if (!buffer) return true;
  if (sodium_init() < 0) return true;
  return crypto_pwhash_str_needs_rehash(buffer->data(), cost.passes, cost.memory_bytes) != 0;
}

const std::string& DummyHash(const HashCost& cost) {
  using Key = std::pair<unsigned long long, std::size_t>;
  struct Hashes {
    std::mutex mutex;
    std::map<Key, std::string> by_cost;  // map: references to values survive insertions
  };
  static Hashes hashes;
  const Key key{cost.passes, cost.memory_bytes};
  {
    const std::lock_guard lock(hashes.mutex);
    if (auto it = hashes.by_cost.find(key); it != hashes.by_cost.end()) return it->second;
  }
  // Hashed outside the lock so a first use of one cost does not stall users of another;
  // two threads racing on the same cost both hash, and the first stored wins.
  if (sodium_init() < 0) throw std::bad_alloc();
  std::array<char, 32> secret{};
  randombytes_buf(secret.data(), secret.size());
  auto hash = HashPassword(std::string_view(secret.data(), secret.size()), cost);
  sodium_memzero(secret.data(), secret.size());
  if (!hash) throw std::bad_alloc();
  const std::lock_guard lock(hashes.mutex);
  return hashes.by_cost.try_emplace(key, std::move(*hash)).first->second;
}

struct PasswordHasher::Impl {
  using Clock = std::chrono::steady_clock;
  using Op = HasherMetrics::Op;

  explicit Impl(PasswordHasherOptions o)
      : threads(std::max<std::size_t>(o.threads, 1)),
        pool(threads),
        limit(o.queue),
        queue_timeout(o.queue_timeout),
        cost(o.cost),
        metrics(std::move(o.metrics)) {}

  // One job between the caller (an io thread) and the hashing thread that may run it.
  template <class JobResult>
  struct Job {
    explicit Job(asio::any_io_executor e) : caller(std::move(e)) {}
    // 0: queued; 1: a hashing thread took it; 2: the caller gave up on it. Whoever moves
    // it from 0 decides: a thread runs it, or the caller answers busy and the thread skips.
    std::atomic<int> phase{0};
    asio::any_io_executor caller;
    // The caller's timer, on the caller's frame: touched only on the caller's thread, and
    // only in phase 1, when the caller waits for the answer however long it takes.
    asio::steady_timer* wake = nullptr;
    bool done = false;  // caller's thread
    std::optional<JobResult> result;
    std::exception_ptr error;
  };

  // Runs `work` on the pool when a place in the queue is free, else answers `busy` at
  // once. The caller waits at most --hash-queue-timeout for a thread to take the job: the
  // hashing threads run SCHED_IDLE, so while requests keep both cores busy they may not run
  // at all, and a login must then get its 503 in time rather than wait for its request
  // timeout. `work` owns its inputs and moves into the job, which outlives the caller if
  // the caller gives up. Holds `self`: the place is given back on the caller's executor,
  // which may be after the hasher is gone.
  template <class Work>
  static asio::awaitable<std::invoke_result_t<Work&>> Submit(std::shared_ptr<Impl> self, Op op,
                                                             Work work,
                                                             std::invoke_result_t<Work&> busy) {
    using JobResult = std::invoke_result_t<Work&>;
    const auto slot = QueueSlot::Take(self->pending, self->limit);
    if (!slot) {
      if (self->metrics) self->metrics->Refused(op);
      co_return busy;
    }
    if (self->metrics) self->metrics->Accepted();
    const auto accepted = Clock::now();
    auto job = std::make_shared<Job<JobResult>>(co_await asio::this_coro::executor);
    asio::steady_timer wake(job->caller, accepted + self->queue_timeout);
    job->wake = &wake;
    asio::post(self->pool, [self, job, op, work = std::move(work), busy, accepted]() mutable {
      int queued = 0;
      if (!job->phase.compare_exchange_strong(queued, 1)) return;  // the caller gave up
      LowerThisThreadsPriority();
      try {
        job->result.emplace(self->Run(op, work, busy, accepted));
      } catch (...) {
        job->error = std::current_exception();
      }
      asio::post(job->caller, [job] {
        job->done = true;
        job->wake->cancel();
      });
    });
    for (;;) {
      boost::system::error_code ignored;
      co_await wake.async_wait(asio::redirect_error(asio::use_awaitable, ignored));
      if (job->done) break;
      int queued = 0;
      if (job->phase.compare_exchange_strong(queued, 2)) {
        if (self->metrics) self->metrics->GaveUp(op);
        co_return busy;
      }
      // A thread has it: its answer comes within one hash.
      wake.expires_at(asio::steady_timer::time_point::max());
    }
    if (job->error) std::rethrow_exception(job->error);
    co_return std::move(*job->result);
  }

  // On a hashing thread. The deadline is checked here, when the job is picked up, rather
  // than by a timer per job: a job this late is answered busy at once and costs nothing.
  template <class Work, class JobResult>
  JobResult Run(Op op, Work& work, const JobResult& busy, Clock::time_point accepted) {
    const Clock::duration waited = Clock::now() - accepted;
    const double waited_seconds = std::chrono::duration<double>(waited).count();
    const std::size_t shard = ThisThreadsShard();
    if (waited > queue_timeout) {
      if (metrics) metrics->Expired(shard, op, waited_seconds);
      return busy;
    }
    if (!metrics) return work();
    metrics->Started(shard, waited_seconds);
    try {
      JobResult result = work();
      metrics->Finished(shard, op,
                        result.outcome == Outcome::kOk ? HasherMetrics::Outcome::kOk
                                                       : HasherMetrics::Outcome::kError);
      return result;
    } catch (...) {
      // DummyHash throws when libsodium cannot allocate; the caller gets the exception.
      metrics->Finished(shard, op, HasherMetrics::Outcome::kError);
      throw;
    }
  }

  // Each pool thread's own metrics shard, numbered in the order the threads first run a
  // job. A pool thread serves one hasher all its life, so a thread_local is enough.
  std::size_t ThisThreadsShard() {
    thread_local std::size_t shard = next_shard.fetch_add(1, std::memory_order_relaxed);
    assert(shard < threads);
    return shard;
  }

  std::size_t threads;
  asio::thread_pool pool;
  std::size_t limit;
  std::chrono::milliseconds queue_timeout;
  HashCost cost;
  std::shared_ptr<HasherMetrics> metrics;  // null: not reported
  std::atomic<std::size_t> pending{0};
  std::atomic<std::size_t> next_shard{0};
};

namespace {

PasswordHasherOptions Checked(PasswordHasherOptions options) {
  if (options.queue_timeout <= std::chrono::milliseconds::zero()) {
    throw std::invalid_argument("password hasher: the queue timeout must be greater than 0");
  }
  if (options.metrics && options.metrics->shards() < std::max<std::size_t>(options.threads, 1)) {
    throw std::invalid_argument("password hasher: fewer metrics shards than hashing threads");
  }
  return options;
}

PasswordHasherOptions WithDefaults(std::size_t threads, std::size_t queue, HashCost cost) {
  PasswordHasherOptions options;
  options.threads = threads;
  options.queue = queue;
  options.cost = cost;
  return options;
}

}  // namespace

PasswordHasher::PasswordHasher(PasswordHasherOptions options)
    : impl_(std::make_shared<Impl>(Checked(std::move(options)))) {}

PasswordHasher::PasswordHasher(std::size_t threads, std::size_t queue, HashCost cost)
    : PasswordHasher(WithDefaults(threads, queue, cost)) {}

PasswordHasher::~PasswordHasher() { Stop(); }

void PasswordHasher::Stop() { impl_->pool.join(); }

const HashCost& PasswordHasher::cost() const { return impl_->cost; }

PasswordHasher::Stats PasswordHasher::stats() const {
  return {impl_->pending.load(std::memory_order_relaxed), impl_->limit, impl_->threads};
}

asio::awaitable<PasswordHasher::Result> PasswordHasher::Hash(std::string_view password) {
  auto work = [password = CopySecret(password), cost = impl_->cost] {
    auto hash = HashPassword(*password, cost);
    if (!hash) return Result{Outcome::kFailed, {}};
    return Result{Outcome::kOk, std::move(*hash)};
  };
  return Impl::Submit(impl_, Impl::Op::kHash, std::move(work), Result{Outcome::kBusy, {}});
}

asio::awaitable<PasswordHasher::VerifyResult> PasswordHasher::Verify(std::string phc,
                                                                     std::string password) {
  // Not a coroutine, so this parameter can be wiped: a coroutine would move it into its
  // frame and leave the characters of a short password in it.
  auto work = [phc = std::move(phc), password = CopySecret(password), cost = impl_->cost] {
    VerifyResult result{.outcome = Outcome::kOk, .check = VerifyPassword(phc, *password)};
    result.needs_rehash = result.check == PasswordCheck::kMatch && NeedsRehash(phc, cost);
    return result;
  };
  Wipe(password);
  return Impl::Submit(impl_, Impl::Op::kVerify, std::move(work),
                      VerifyResult{.outcome = Outcome::kBusy});
}

// Not a coroutine, for the same reason as Verify.
asio::awaitable<PasswordHasher::VerifyResult> PasswordHasher::VerifyDummy(std::string password) {
  auto work = [password = CopySecret(password), cost = impl_->cost] {
    return VerifyResult{.outcome = Outcome::kOk,
                        .check = VerifyPassword(DummyHash(cost), *password)};
  };
  Wipe(password);
  return Impl::Submit(impl_, Impl::Op::kVerifyDummy, std::move(work),
                      VerifyResult{.outcome = Outcome::kBusy});
}

}  // namespace myriad::auth

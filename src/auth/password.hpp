#pragma once

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>
#include <chrono>
#include <cstddef>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

namespace myriad::auth {

/// Argon2id cost. The default is OWASP's minimum: 2 passes over 19 MiB, 1 lane.
struct HashCost {
  unsigned long long passes = 2;
  std::size_t memory_bytes = std::size_t{19} * 1024 * 1024;
};

/// The PHC string ("$argon2id$v=19$m=19456,t=2,p=1$...") for `password`, or nullopt when
/// libsodium fails (out of memory). Blocks for tens of milliseconds: never on an io thread.
std::optional<std::string> HashPassword(std::string_view password, const HashCost& cost = {});

/// What checking a password against a stored PHC string found.
enum class PasswordCheck {
  kMatch,
  kMismatch,
  /// Not a PHC string libsodium can read: empty, too long, holding a NUL, an unknown
  /// algorithm or bad parameters. Never a match.
  kMalformed,
};

/// Checks `password` against `phc` (an Argon2id or Argon2i PHC string), taking as long for
/// a mismatch as for a match. `phc` is checked for length and NULs before libsodium reads it, so
/// any bytes are safe to pass. kMismatch also when libsodium cannot allocate the memory the hash
/// asks for. Costs as much as hashing: never on an io thread. Any thread.
PasswordCheck VerifyPassword(std::string_view phc, std::string_view password);

/// True when `phc` was not made by Argon2id with `cost` (other passes or memory, or
/// Argon2i), so the password should be hashed again after a successful login; true also for
/// a malformed `phc`. Cheap (parses the string, hashes nothing). Any thread.
bool NeedsRehash(std::string_view phc, const HashCost& cost);

/// A process-wide PHC string of a random password that nobody knows, with `cost`: a login
/// for an unknown account verifies against it so that it takes as long as one for a known
/// account. Computed once per cost on first use (that call hashes: keep it off io threads,
/// or use PasswordHasher::VerifyDummy), then shared; the reference stays valid until exit.
/// Thread-safe. Throws std::bad_alloc if libsodium cannot start or hash (out of memory is
/// fatal).
const std::string& DummyHash(const HashCost& cost);

class HasherMetrics;

/// How a PasswordHasher runs.
struct PasswordHasherOptions {
  /// Hashing threads; 0 means 1.
  std::size_t threads = 1;
  /// Jobs accepted and unfinished at a time; beyond it kBusy at once.
  std::size_t queue = 64;
  /// A job that has waited longer than this for a hashing thread is not run: kBusy. Must be
  /// greater than 0.
  std::chrono::milliseconds queue_timeout{2'000};
  HashCost cost;
  /// Where the pool reports (optional): needs a shard per hashing thread.
  std::shared_ptr<HasherMetrics> metrics;
};

/// Hashes and verifies on its own threads so io threads never block on Argon2id. At most
/// `queue` hashes and verifications are accepted and unfinished at a time; beyond that
/// Hash() and Verify() answer kBusy at once (the caller answers 503), so a burst of
/// sign-ups or logins cannot queue unbounded work. A slot is held until the result is back
/// on the caller's executor. A job still waiting for a thread after `queue_timeout` is
/// answered kBusy without being run, so a client hears 503 soon rather than timing out
/// while the hashing threads get no CPU.
class PasswordHasher {
 public:
  /// Throws std::invalid_argument (start-up only) when `queue_timeout` is not positive or
  /// `metrics` has fewer shards than there are threads.
  explicit PasswordHasher(PasswordHasherOptions options);
  /// The default queue timeout and no metrics.
  PasswordHasher(std::size_t threads, std::size_t queue, HashCost cost = {});
  ~PasswordHasher();
  PasswordHasher(const PasswordHasher&) = delete;
  PasswordHasher& operator=(const PasswordHasher&) = delete;

  /// kBusy: nothing was run, the queue was full or the job waited past `queue_timeout`
  /// (the caller answers 503 + Retry-After). kFailed: libsodium failed (out of memory).
  enum class Outcome { kOk, kBusy, kFailed };
  struct Result {
    Outcome outcome = Outcome::kFailed;
    std::string hash;
  };
  /// Runs HashPassword on the hasher's threads and resumes on the caller's executor.
  /// `password` is copied before Hash returns, into memory wiped when the work is done.
  boost::asio::awaitable<Result> Hash(std::string_view password);

  struct VerifyResult {
    /// kOk: `check` holds the answer. kBusy: the queue was full or the job waited past
    /// the queue timeout; nothing was checked. Never kFailed.
    Outcome outcome = Outcome::kBusy;
    PasswordCheck check = PasswordCheck::kMismatch;
    /// On kMatch only: NeedsRehash(phc, cost()), so the caller stores a new hash.
    bool needs_rehash = false;
  };
  /// Runs VerifyPassword on the hasher's threads and resumes on the caller's executor.
  /// Before it returns the awaitable, Verify copies `password` into memory wiped when the
  /// work is done and wipes the argument; the caller wipes any copy it keeps (a std::string
  /// moved from still holds a short password's characters).
  boost::asio::awaitable<VerifyResult> Verify(std::string phc, std::string password);

  /// Verify against DummyHash(cost()), for a login whose account does not exist: as slow as
  /// a real Verify, through the same queue, wiping `password` the same way, and never kMatch
  /// (the dummy's password is random). The dummy is made on the hasher's threads the first
  /// time.
  boost::asio::awaitable<VerifyResult> VerifyDummy(std::string password);

  /// The cost new hashes get and Verify's rehash advice compares against.
  const HashCost& cost() const;

  struct Stats {
    std::size_t queued = 0;    ///< accepted, result not yet back with its caller
    std::size_t capacity = 0;  ///< the `queue` limit on `queued`
    std::size_t threads = 0;
  };
  /// A snapshot for metrics; any thread.
  Stats stats() const;

  /// Waits for queued work and joins the threads. Idempotent.
  void Stop();

 private:
  struct Impl;
  std::shared_ptr<Impl> impl_;
};

}  // namespace myriad::auth

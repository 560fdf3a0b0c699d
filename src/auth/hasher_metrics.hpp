#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>

namespace prometheus {
class Collectable;
}

namespace myriad::auth {

/// Metrics of the password hashing pool (PasswordHasher), one shard per hashing thread
/// (each thread writes only its own, without locks; the scraper merges shards):
///   myriad_password_hash_queue_depth        gauge: jobs accepted, not yet picked up by a
///                                           hashing thread
///   myriad_password_hash_in_progress        gauge: jobs running on a hashing thread
///   myriad_password_hash_operations_total{op,outcome}  counter: op hash, verify,
///       verify_dummy; outcome ok, busy_queue_full (refused at once), busy_deadline
///       (waited past --hash-queue-timeout, not run), error (hashing failed)
///   myriad_password_hash_queue_wait_seconds  histogram: acceptance to pick-up, expired
///                                           jobs included (not those the caller gave up
///                                           on before any thread reached them)
class HasherMetrics {
 public:
  enum class Op : std::uint8_t { kHash, kVerify, kVerifyDummy };
  static constexpr std::size_t kOps = 3;
  enum class Outcome : std::uint8_t { kOk, kBusyQueueFull, kBusyDeadline, kError };
  static constexpr std::size_t kOutcomes = 4;

  /// `hashing_threads` shards (at least 1): one per thread of the pool it describes.
  explicit HasherMetrics(std::size_t hashing_threads);
  ~HasherMetrics();
  HasherMetrics(const HasherMetrics&) = delete;
  HasherMetrics& operator=(const HasherMetrics&) = delete;

  std::size_t shards() const;

  // Any thread (the io threads): one atomic increment each, on a line of its own.
  /// A job was given a place in the queue.
  void Accepted();
  /// A job was refused because the queue was full (busy_queue_full).
  void Refused(Op op);
  /// The caller stopped waiting for a job no thread had picked up by its deadline
  /// (busy_deadline; the job is dropped when a thread reaches it, uncounted).
  void GaveUp(Op op);

  // Only from the hashing thread that owns `shard`.
  /// A job waited `waited_seconds` and was dropped for its deadline (busy_deadline).
  void Expired(std::size_t shard, Op op, double waited_seconds);
  /// A job waited `waited_seconds` and now runs.
  void Started(std::size_t shard, double waited_seconds);
  /// The job Started on this shard finished; `outcome` is kOk or kError.
  void Finished(std::size_t shard, Op op, Outcome outcome);

  // Readers, any thread (tests; the exposition reads the same values).
  std::uint64_t Count(Op op, Outcome outcome) const;
  std::uint64_t QueueDepth() const;
  std::uint64_t InProgress() const;
  /// Jobs picked up (run or expired): the wait histogram's sample count.
  std::uint64_t Waits() const;

  /// For metrics::Registry::Add. Shares ownership of the cells.
  std::shared_ptr<prometheus::Collectable> Collectable() const;

 private:
  class Impl;
  std::shared_ptr<Impl> impl_;
};

}  // namespace myriad::auth

#pragma once

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>
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

/// Hashes on its own threads so io threads never block on Argon2id. At most `queue` hashes
/// wait; beyond that Hash() fails at once (the caller answers 503), so a burst of sign-ups
/// cannot queue unbounded work.
class PasswordHasher {
 public:
  PasswordHasher(std::size_t threads, std::size_t queue, HashCost cost = {});
  ~PasswordHasher();
  PasswordHasher(const PasswordHasher&) = delete;
  PasswordHasher& operator=(const PasswordHasher&) = delete;

  enum class Outcome { kOk, kBusy, kFailed };
  struct Result {
    Outcome outcome = Outcome::kFailed;
    std::string hash;
  };
  /// Runs HashPassword on the hasher's threads and resumes on the caller's executor.
  /// `password` is copied before the first suspension.
  boost::asio::awaitable<Result> Hash(std::string_view password);

  /// Waits for queued hashes and joins the threads. Idempotent.
  void Stop();

 private:
  struct Impl;
  std::shared_ptr<Impl> impl_;
};

}  // namespace myriad::auth

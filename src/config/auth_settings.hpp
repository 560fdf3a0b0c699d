#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

namespace CLI {
class App;
}

namespace myriad::config {

/// Accounts and tokens (issue 5): signing keys, token lifetimes, the password hashing pool.
struct AuthSettings {
  /// "production" refuses to start without --jwt-key-files; "development" signs with a
  /// key made at start (tokens die with the process) and says so.
  bool production = false;
  /// Ed25519 key files (auth/signing_keys.hpp): the first signs, all verify (rotation).
  std::vector<std::string> key_files;
  std::string issuer = "myriad";
  std::string audience = "myriad-api";
  std::chrono::milliseconds access_ttl{15 * 60 * 1000};
  std::chrono::milliseconds refresh_ttl{30LL * 24 * 3600 * 1000};
  /// Argon2id threads and queued hashes beyond which auth answers 503; 0 threads = 1.
  std::size_t hash_threads = 1;
  std::size_t hash_queue = 64;
  /// A hash still waiting for a thread after this is answered 503 without being run.
  std::chrono::milliseconds hash_queue_timeout{2'000};
  /// Argon2id cost (OWASP's minimum by default: 19 MiB, 2 passes, 1 lane).
  std::size_t hash_memory_kib = 19 * 1024;
  std::size_t hash_passes = 2;
  /// Per-account lockout after failed logins: this many are free, then first_lockout,
  /// doubling with each further failure up to max_lockout.
  std::size_t login_free_failures = 5;
  std::chrono::milliseconds login_lockout{30'000};
  std::chrono::milliseconds login_lockout_max{15 * 60 * 1000};
  /// Development only: requests without Authorization act as this user (0: never). For
  /// measuring what authentication costs (bench/users_me.sh); production refuses it.
  std::int64_t insecure_anonymous_user = 0;
};

/// --environment, --jwt-key-files, --jwt-issuer, --jwt-audience, --access-token-ttl,
/// --refresh-token-ttl, --hash-threads, --hash-queue, --hash-queue-timeout, --hash-memory,
/// --hash-passes, --login-free-failures, --login-lockout, --login-lockout-max,
/// --insecure-anonymous-user.
void AddAuthOptions(CLI::App& app, AuthSettings& settings);

}  // namespace myriad::config

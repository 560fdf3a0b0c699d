#pragma once

#include <cstddef>
#include <cstdint>

#include "config/database_settings.hpp"

namespace CLI {
class App;
}

namespace myriad::app {

/// What `myriad seed` can be told, on top of DatabaseSettings.
struct SeedSettings {
  config::DatabaseSettings database;
  /// Users to insert (required, >= 1).
  std::int64_t users = 0;
  /// PRNG seed for names: the same seed gives the same rows.
  std::uint64_t seed = 1;
  /// Size of one COPY data chunk, in KiB.
  std::size_t batch_kib = 64;
  /// Parallel COPY streams (connections), 1..8. Two measured faster here (1M users: 16.7 s
  /// against 21.4 s on 2 cores), at the price of created_at growing with id per stream only.
  int connections = 2;
  /// Argon2id cost of the one hash every seeded user shares; the defaults are the server's
  /// (OWASP's minimum). bench/scale lowers both, on the seed and on `myriad serve`, so that
  /// 10,000 users can log in within its ramp-up on 2 cores (bench/login.sh measures logins
  /// at the real cost).
  std::size_t hash_memory_kib = 19 * 1024;
  unsigned long long hash_passes = 2;
};

/// Registers --users, --seed, --batch, --connections, --hash-memory, --hash-passes and the
/// database options on `app`.
void AddSeedOptions(CLI::App& app, SeedSettings& settings);

/// `myriad seed`: streams settings.users synthetic users into the migrated `users` table with
/// COPY, every one with the password db::kSeedPassword (Argon2id hash computed once), then
/// runs ANALYZE. Refuses (returns 1 with a message on stderr) when the table is missing (run
/// `myriad migrate` first) or already holds users. Prints a progress bar on a terminal,
/// plain lines otherwise, and a final "seeded N users in S s (R rows/s)" line. Runs its own
/// io_context on the calling thread.
int RunSeed(const SeedSettings& settings);

}  // namespace myriad::app

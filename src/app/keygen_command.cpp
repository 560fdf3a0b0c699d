#include "app/keygen_command.hpp"

#include <fmt/chrono.h>
#include <fmt/core.h>
#include <sodium.h>

#include <CLI/CLI.hpp>
#include <chrono>

#include "auth/signing_keys.hpp"
#include "core/clock.hpp"

namespace myriad::app {

void AddKeygenOptions(CLI::App& app, KeygenSettings& settings) {
  app.add_option("--out", settings.out, "Key file to create (mode 0600; never overwritten)")
      ->required();
  app.add_option("--kid", settings.kid,
                 "Key id published in the JWKS (1..64 of A-Z a-z 0-9 . _ -); default: "
                 "key-<date>-<random>");
}

int RunKeygen(const KeygenSettings& settings) {
  std::string kid = settings.kid;
  if (kid.empty()) {
    if (sodium_init() < 0) {
      fmt::print(stderr, "myriad keygen: libsodium did not initialise\n");
      return 1;
    }
    const auto today = std::chrono::floor<std::chrono::days>(core::WallNow());
    kid = fmt::format("key-{:%Y%m%d}-{:08x}", today, randombytes_random());
  }
  auto key = auth::GenerateKeyFile(settings.out, kid);
  if (!key) {
    fmt::print(stderr, "myriad keygen: {}\n", key.error());
    return 1;
  }
  fmt::print("{}\n", key->kid());
  return 0;
}

}  // namespace myriad::app

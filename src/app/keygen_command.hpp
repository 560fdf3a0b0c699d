#pragma once

#include <string>

namespace CLI {
class App;
}

namespace myriad::app {

struct KeygenSettings {
  std::string out;  // the key file to create (required)
  std::string kid;  // empty: "key-<UTC date>-<random>"
};

/// Registers --out and --kid on `app`.
void AddKeygenOptions(CLI::App& app, KeygenSettings& settings);

/// `myriad keygen`: writes a new Ed25519 signing key (auth/signing_keys.hpp's format, mode
/// 0600) and prints its kid. Refuses to overwrite. Returns the exit code.
int RunKeygen(const KeygenSettings& settings);

}  // namespace myriad::app

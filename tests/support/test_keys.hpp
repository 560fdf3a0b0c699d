#pragma once

#include <gtest/gtest.h>

#include <cstdint>
#include <string>
#include <utility>

#include "auth/signing_keys.hpp"

namespace myriad::testing {

/// A deterministic Ed25519 key: its seed is 32 bytes of `fill`.
inline auth::SigningKey MakeTestKey(const std::string& kid, std::uint8_t fill = 7) {
  auth::SigningKey::Seed seed{};
  seed.fill(fill);
  auto key = auth::SigningKey::FromSeed(kid, seed);
  EXPECT_TRUE(key.has_value());
  return std::move(key).value();
}

}  // namespace myriad::testing

// The cost of access tokens per request: issuing one (at login), verifying one (Ed25519),
// and a TokenCache hit, which is what a client repeating its token pays instead of Verify.
// Run: build/release/bench/jwt_bench (CTest runs one iteration only).
#include <benchmark/benchmark.h>

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "auth/jwt.hpp"
#include "auth/signing_keys.hpp"
#include "auth/token_cache.hpp"

namespace myriad::auth {
namespace {

// Google Benchmark's BM_ names, as in the other micro-benchmarks.
// NOLINTBEGIN(readability-identifier-naming)

constexpr std::int64_t kNow = 1'800'000'000;
constexpr std::string_view kIssuer = "https://myriad.example";
constexpr std::string_view kAudience = "myriad-api";

KeySet BenchKeys() {
  SigningKey::Seed seed{};
  seed.fill(0x42);
  std::vector<SigningKey> keys;
  keys.push_back(SigningKey::FromSeed("bench-2026-11", seed).value());
  return KeySet::Create(std::move(keys)).value();
}

TokenClaims BenchClaims() {
  return TokenClaims{"123456789", "user",    std::string(kIssuer), std::string(kAudience),
                     kNow,        kNow + 900};
}

void BM_Issue(benchmark::State& state) {
  const KeySet keys = BenchKeys();
  const TokenClaims claims = BenchClaims();
  for (auto _ : state) {
    std::string token = Issue(claims, keys);
    benchmark::DoNotOptimize(token.data());
  }
}
BENCHMARK(BM_Issue);

void BM_Verify(benchmark::State& state) {
  const KeySet keys = BenchKeys();
  const std::string token = Issue(BenchClaims(), keys);
  for (auto _ : state) {
    auto verified = Verify(token, kNow, kIssuer, kAudience, keys);
    if (!verified) {
      state.SkipWithError("the benchmark token did not verify");
      break;
    }
    benchmark::DoNotOptimize(verified->subject.data());
  }
  state.SetLabel(std::to_string(token.size()) + "-byte token");
}
BENCHMARK(BM_Verify);

// A full cache (the default 10,000 entries) so the lookup pays realistic bucket misses; the
// other entries are token-sized strings, since the cache keys on bytes alone.
void BM_TokenCacheHit(benchmark::State& state) {
  const KeySet keys = BenchKeys();
  const std::string token = Issue(BenchClaims(), keys);
  auto verified = Verify(token, kNow, kIssuer, kAudience, keys);
  if (!verified) {
    state.SkipWithError("the benchmark token did not verify");
    return;
  }
  TokenCache cache;
  for (std::size_t i = 1; i < cache.capacity(); ++i) {
    std::string filler = token;
    filler.replace(filler.size() - 8, 8, std::to_string(10'000'000 + i));
    cache.Put(filler, *verified, kNow);
  }
  cache.Put(token, *verified, kNow);
  for (auto _ : state) {
    const VerifiedClaims* hit = cache.Find(token, kNow);
    if (hit == nullptr) {
      state.SkipWithError("the cached token was not found");
      break;
    }
    benchmark::DoNotOptimize(hit->subject.data());
  }
}
BENCHMARK(BM_TokenCacheHit);

void BM_TokenCacheMiss(benchmark::State& state) {
  const KeySet keys = BenchKeys();
  TokenCache cache;
  const std::string cached = Issue(BenchClaims(), keys);
  cache.Put(cached, Verify(cached, kNow, kIssuer, kAudience, keys).value(), kNow);
  const std::string token = Issue(BenchClaims(), keys);
  for (auto _ : state) {
    benchmark::DoNotOptimize(cache.Find(token, kNow));
  }
}
BENCHMARK(BM_TokenCacheMiss);

// NOLINTEND(readability-identifier-naming)

}  // namespace
}  // namespace myriad::auth

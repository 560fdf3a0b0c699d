// What a login costs in Argon2id at the default cost (m=19 MiB, t=2, p=1), so the login
// benchmark of issue 5 can be compared with the most the hardware allows.
//
//   BM_SodiumVerify   crypto_pwhash_str_verify called directly: the raw rate, per thread
//                     and with two threads (the hasher's default pool on two cores)
//   BM_HasherVerify   PasswordHasher::Verify driven from an io_context on the benchmark
//                     thread with 2 * threads verifications in flight, through a pool of
//                     1 or 2 hasher threads: the raw rate minus the pool's overhead
//
// Each iteration is one verification: read items_per_second, on real time.
#include <benchmark/benchmark.h>
#include <sodium.h>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <cstddef>
#include <exception>
#include <stdexcept>
#include <string>
#include <string_view>
#include <utility>

#include "auth/password.hpp"

namespace {

using myriad::auth::HashCost;
using myriad::auth::PasswordCheck;
using myriad::auth::PasswordHasher;

constexpr std::string_view kPassword = "correct horse battery staple";

const std::string& DefaultCostHash() {
  static const std::string kHash = [] {
    auto hash = myriad::auth::HashPassword(kPassword, HashCost{});
    if (!hash) throw std::runtime_error("HashPassword failed");
    return std::move(*hash);
  }();
  return kHash;
}

void BM_SodiumVerify(benchmark::State& state) {
  const std::string& hash = DefaultCostHash();
  for (auto _ : state) {
    if (crypto_pwhash_str_verify(hash.c_str(), kPassword.data(), kPassword.size()) != 0) {
      state.SkipWithError("crypto_pwhash_str_verify did not match");
      break;
    }
  }
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_SodiumVerify)->Threads(1)->Threads(2)->UseRealTime()->Unit(benchmark::kMillisecond);

void BM_HasherVerify(benchmark::State& state) {
  const std::string& hash = DefaultCostHash();
  const auto threads = static_cast<std::size_t>(state.range(0));
  const std::size_t in_flight = 2 * threads;
  // Declared before the hasher, so the hasher's threads have finished when it goes.
  boost::asio::io_context io(1);
  PasswordHasher hasher(threads, in_flight, HashCost{});
  std::size_t completed = 0;
  std::size_t failed = 0;
  const auto launch = [&] {
    boost::asio::co_spawn(
        io, hasher.Verify(hash, std::string(kPassword)),
        [&](const std::exception_ptr& e, PasswordHasher::VerifyResult r) {
          ++completed;
          if (e || r.outcome != PasswordHasher::Outcome::kOk || r.check != PasswordCheck::kMatch) {
            ++failed;
          }
        });
  };
  for (std::size_t i = 0; i < in_flight; ++i) launch();
  // run_one() returns 0 only once nothing is in flight, which the loop never allows.
  const auto run_until = [&](std::size_t target) {
    while (completed < target) {
      if (io.run_one() == 0) {
        return false;
      }
    }
    return true;
  };
  // One iteration waits for one verification and starts the next, so the pool never runs
  // dry; the io_context runs on this thread only while it waits.
  for (auto _ : state) {
    if (!run_until(completed + 1)) {
      state.SkipWithError("the io_context ran out of work");
      return;
    }
    launch();
  }
  if (!run_until(static_cast<std::size_t>(state.iterations()) + in_flight)) {
    state.SkipWithError("the io_context ran out of work");
    return;
  }
  if (failed != 0) state.SkipWithError("a verification was busy, failed or did not match");
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_HasherVerify)
    ->ArgName("hasher_threads")
    ->Arg(1)
    ->Arg(2)
    ->UseRealTime()
    ->Unit(benchmark::kMillisecond);

}  // namespace

#include "auth/password.hpp"

#include <sodium.h>

#include <array>
#include <atomic>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/thread_pool.hpp>
#include <boost/asio/use_awaitable.hpp>

namespace myriad::auth {
namespace asio = boost::asio;

std::optional<std::string> HashPassword(std::string_view password, const HashCost& cost) {
  if (sodium_init() < 0) return std::nullopt;
  std::array<char, crypto_pwhash_STRBYTES> hash{};
  if (crypto_pwhash_str(hash.data(), password.data(), password.size(), cost.passes,
                        cost.memory_bytes) != 0) {
    return std::nullopt;
  }
  return std::string(hash.data());
}

struct PasswordHasher::Impl {
  Impl(std::size_t threads, std::size_t queue_limit, HashCost c)
      : pool(threads == 0 ? 1 : threads), limit(queue_limit), cost(c) {}
  asio::thread_pool pool;
  std::size_t limit;
  HashCost cost;
  std::atomic<std::size_t> pending{0};
};

PasswordHasher::PasswordHasher(std::size_t threads, std::size_t queue, HashCost cost)
    : impl_(std::make_shared<Impl>(threads, queue, cost)) {}

PasswordHasher::~PasswordHasher() { Stop(); }

void PasswordHasher::Stop() { impl_->pool.join(); }

asio::awaitable<PasswordHasher::Result> PasswordHasher::Hash(std::string_view password) {
  auto impl = impl_;
  std::string copy(password);
  if (impl->pending.fetch_add(1, std::memory_order_relaxed) >= impl->limit) {
    impl->pending.fetch_sub(1, std::memory_order_relaxed);
    co_return Result{Outcome::kBusy, {}};
  }
  // co_spawn onto the pool runs the work there; the completion comes back to this
  // coroutine's executor (the io thread).
  auto work = [impl, copy = std::move(copy)]() -> asio::awaitable<std::optional<std::string>> {
    auto hash = HashPassword(copy, impl->cost);
    impl->pending.fetch_sub(1, std::memory_order_relaxed);
    co_return hash;
  };
  auto hash =
      co_await asio::co_spawn(impl->pool.get_executor(), std::move(work), asio::use_awaitable);
  if (!hash) co_return Result{Outcome::kFailed, {}};
  co_return Result{Outcome::kOk, std::move(*hash)};
}

}  // namespace myriad::auth

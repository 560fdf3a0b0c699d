#pragma once

#include <boost/asio/associated_executor.hpp>
#include <boost/asio/async_result.hpp>
#include <boost/asio/awaitable.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <unordered_map>
#include <utility>
#include <vector>

namespace myriad::cache {

/// Collapses concurrent loads of one key into one, across io threads: the first caller
/// (the leader) runs the load on its own thread; callers that arrive while it runs wait
/// and get a copy of its result, resumed on their own thread. Forget() makes later
/// callers start a new load (a write happened: results begun before it must not be
/// handed to readers who arrive after it).
template <class T>
class SingleFlight {
 public:
  using Load = std::function<boost::asio::awaitable<T>()>;

  /// `joined` is set to whether this call waited for another caller's load; `on_join` runs
  /// as such a wait begins. Waiters get `abandoned` if the leader's load throws or its
  /// coroutine is destroyed unfinished (shutdown), so nobody waits forever.
  boost::asio::awaitable<T> Run(std::int64_t key, const Load& load, T abandoned,
                                bool* joined = nullptr, const std::function<void()>& on_join = {}) {
    std::shared_ptr<Flight> flight;
    bool leader = false;
    {
      std::lock_guard lock(mutex_);
      auto& slot = flights_[key];
      if (!slot) {
        slot = std::make_shared<Flight>();
        leader = true;
      }
      flight = slot;
    }
    if (joined != nullptr) *joined = !leader;
    if (!leader) {
      if (on_join) on_join();
      co_return co_await Join(flight);
    }

    Landing landing(this, key, flight, std::move(abandoned));
    T result = co_await load();
    landing.Land(result);
    co_return result;
  }

  void Forget(std::int64_t key) {
    std::lock_guard lock(mutex_);
    flights_.erase(key);
  }

  /// Loads in progress; for tests.
  std::size_t in_flight() const {
    std::lock_guard lock(mutex_);
    return flights_.size();
  }

 private:
  using Waiter = std::function<void(const T&)>;
  struct Flight {
    std::optional<T> result;  // set once the leader is done
    std::vector<Waiter> waiters;
  };

  // Completes the flight exactly once: with the leader's result, or with the fallback
  // when the leader never got one.
  struct Landing {
    Landing(SingleFlight* o, std::int64_t k, std::shared_ptr<Flight> f, T fb)
        : owner(o), key(k), flight(std::move(f)), fallback(std::move(fb)) {}
    SingleFlight* owner;
    std::int64_t key;
    std::shared_ptr<Flight> flight;
    T fallback;
    bool landed = false;
    Landing(const Landing&) = delete;
    Landing& operator=(const Landing&) = delete;
    ~Landing() {
      if (!landed) Land(fallback);
    }
    void Land(const T& result) {
      landed = true;
      std::vector<Waiter> waiters;
      {
        std::lock_guard lock(owner->mutex_);
        const auto it = owner->flights_.find(key);
        if (it != owner->flights_.end() && it->second == flight) owner->flights_.erase(it);
        flight->result = result;
        waiters = std::move(flight->waiters);
      }
      for (auto& wake : waiters) wake(result);
    }
  };

  boost::asio::awaitable<T> Join(std::shared_ptr<Flight> flight) {
    auto initiate = [this, flight](auto handler) {
      using Handler = decltype(handler);
      // Shared so the waiter stays copyable (std::function) while the handler is move-only.
      auto shared = std::make_shared<Handler>(std::move(handler));
      auto resume = [shared](const T& value) {
        auto executor = boost::asio::get_associated_executor(*shared);
        boost::asio::post(executor, [shared, value]() mutable { std::move (*shared)(value); });
      };
      std::lock_guard lock(mutex_);
      if (flight->result) {
        resume(*flight->result);
      } else {
        flight->waiters.push_back(std::move(resume));
      }
    };
    co_return co_await boost::asio::async_initiate<decltype(boost::asio::use_awaitable), void(T)>(
        initiate, boost::asio::use_awaitable);
  }

  mutable std::mutex mutex_;
  std::unordered_map<std::int64_t, std::shared_ptr<Flight>> flights_;
};

}  // namespace myriad::cache

#pragma once

#include <boost/asio/any_io_executor.hpp>
#include <cstddef>
#include <functional>
#include <memory>

namespace myriad::http {

/// What the application keeps per io thread (its database pool, caches): created for each
/// worker before the io threads start, used only on that worker's thread (handlers find
/// theirs through Request::worker()), and destroyed on that thread once the worker has
/// drained its connections, or after the thread stopped. Destroying it must end every
/// wait it started (timers, idle connections), or the thread cannot finish draining.
class WorkerServices {
 public:
  virtual ~WorkerServices() = default;
};

/// Builds worker `index`'s services on `executor` (the worker's io_context, not yet
/// running). May return null.
using WorkerInit = std::function<std::unique_ptr<WorkerServices>(
    std::size_t index, boost::asio::any_io_executor executor)>;

}  // namespace myriad::http

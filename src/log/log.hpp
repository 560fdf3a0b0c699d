#pragma once

#include <memory>
#include <string>

namespace spdlog {
class logger;
}

namespace myriad::log {

enum class Format { kJson, kText };

/// Sets up the process logger (stderr): level ("trace".."off") and format. JSON lines
/// carry time (UTC), level and msg, with msg escaped. Throws std::invalid_argument on an
/// unknown level: a start-up error.
void Init(const std::string& level, Format format);

/// An asynchronous logger writing raw lines to `destination` ("stdout", "stderr" or a
/// file path, appended). The io threads only enqueue: when the queue is full the oldest
/// line is dropped rather than blocking a request. Returns nullptr for "off". Throws
/// spdlog::spdlog_ex when a file cannot be opened (start-up).
std::shared_ptr<spdlog::logger> MakeAsyncLineLogger(const std::string& name,
                                                    const std::string& destination, Format format);

/// Flushes and stops every logger; call once before exit.
void Shutdown();

}  // namespace myriad::log

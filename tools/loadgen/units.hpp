#pragma once

#include <chrono>
#include <string>
#include <string_view>

#include "core/result.hpp"

namespace myriad::load {

/// "250us", "500ms", "10s", "2m", "1h", or a bare number of seconds ("30", "0.5").
/// Negative, empty, non-finite or trailing garbage: an error naming the text.
core::Result<std::chrono::microseconds, std::string> ParseDuration(std::string_view text);

/// "10s" for 10,000,000 us, "1.5s", "250ms", "2m30s": the shortest exact-enough form.
std::string FormatDuration(std::chrono::microseconds d);

}  // namespace myriad::load

#pragma once

#include "config/settings.hpp"

namespace myriad::app {

/// `myriad serve`: runs the HTTP server until SIGTERM/SIGINT, then drains gracefully
/// (up to --shutdown-timeout) and returns 0; a second signal exits at once. Returns
/// non-zero when it cannot start (bad address, port in use, unwritable log file).
int RunServe(const config::ServeSettings& settings);

/// Raises RLIMIT_NOFILE to its hard limit and returns the resulting soft limit.
unsigned long RaiseOpenFilesLimit();

}  // namespace myriad::app

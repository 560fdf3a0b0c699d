#pragma once

namespace myriad::load {

/// Exit codes of myriad-load.
inline constexpr int kExitOk = 0;
inline constexpr int kExitSloFailed = 1;  // the run finished and an --slo objective failed
inline constexpr int kExitUsage = 2;      // bad arguments or scenario file
inline constexpr int kExitRunFailed = 3;  // could not run (unresolvable host, unwritable report)

/// The whole program: parses the command line, runs, prints and writes the reports.
int Main(int argc, char** argv);

}  // namespace myriad::load

#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string_view>

namespace prometheus {
class Collectable;
}

namespace myriad::metrics {

/// The fields of /proc/<pid>/stat that process metrics use, in the kernel's units.
struct ProcStat {
  std::uint64_t user_ticks = 0;      // utime, clock ticks
  std::uint64_t system_ticks = 0;    // stime, clock ticks
  std::uint64_t start_ticks = 0;     // starttime, clock ticks after boot
  std::uint64_t virtual_bytes = 0;   // vsize
  std::uint64_t resident_pages = 0;  // rss
};

/// Parses the text of /proc/<pid>/stat (the command name may hold spaces and parentheses).
/// Returns nullopt if the text is malformed; never throws.
std::optional<ProcStat> ParseProcStat(std::string_view text);

/// The boot time in Unix seconds from the text of /proc/stat ("btime" line).
/// Returns nullopt if the line is missing or malformed; never throws.
std::optional<std::uint64_t> ParseBootTime(std::string_view text);

/// A collectable that reads /proc/self and getrlimit at every scrape and reports
/// process_cpu_seconds_total, process_resident_memory_bytes, process_virtual_memory_bytes,
/// process_open_fds, process_max_fds, process_start_time_seconds and
/// myriad_build_info{version,commit} (always 1). A source that cannot be read is skipped
/// for that scrape (its metrics are absent); Collect() never throws for I/O failures and
/// may run on any thread.
std::shared_ptr<prometheus::Collectable> MakeProcessMetrics();

}  // namespace myriad::metrics

#include "metrics/process_metrics.hpp"

#include <dirent.h>
#include <fcntl.h>
#include <prometheus/client_metric.h>
#include <prometheus/collectable.h>
#include <prometheus/metric_family.h>
#include <prometheus/metric_type.h>
#include <sys/resource.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <charconv>
#include <cstring>
#include <limits>
#include <string>
#include <utility>
#include <vector>

#include "core/build_info.hpp"

namespace myriad::metrics {
namespace {

std::optional<std::uint64_t> ParseUnsigned(std::string_view text) {
  std::uint64_t value = 0;
  const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (ec != std::errc() || end != text.data() + text.size()) return std::nullopt;
  return value;
}

// Plain read(2): /proc files report size 0, and iostreams would hide errno.
std::optional<std::string> ReadFile(const char* path) {
  const int fd = ::open(path, O_RDONLY | O_CLOEXEC);
  if (fd < 0) return std::nullopt;
  std::string content;
  std::array<char, 4096> buffer{};
  for (;;) {
    const ssize_t n = ::read(fd, buffer.data(), buffer.size());
    if (n > 0) {
      content.append(buffer.data(), static_cast<std::size_t>(n));
    } else if (n == 0) {
      break;
    } else if (errno != EINTR) {
      ::close(fd);
      return std::nullopt;
    }
  }
  ::close(fd);
  return content;
}

std::optional<std::uint64_t> CountOpenFds() {
  DIR* dir = ::opendir("/proc/self/fd");
  if (dir == nullptr) return std::nullopt;
  const int own_fd = ::dirfd(dir);
  std::uint64_t count = 0;
  while (const dirent* entry = ::readdir(dir)) {
    const std::string_view name = entry->d_name;
    if (name == "." || name == "..") continue;
    // The directory stream's own descriptor is listed too, but is not the process's.
    if (ParseUnsigned(name) == static_cast<std::uint64_t>(own_fd)) continue;
    ++count;
  }
  ::closedir(dir);
  return count;
}

prometheus::MetricFamily Family(std::string name, std::string help, prometheus::MetricType type,
                                double value) {
  prometheus::MetricFamily family;
  family.name = std::move(name);
  family.help = std::move(help);
  family.type = type;
  prometheus::ClientMetric metric;
  if (type == prometheus::MetricType::Counter) {
    metric.counter.value = value;
  } else {
    metric.gauge.value = value;
  }
  family.metric.push_back(std::move(metric));
  return family;
}

class ProcessMetrics final : public prometheus::Collectable {
 public:
  ProcessMetrics()
      : ticks_per_second_(::sysconf(_SC_CLK_TCK)), page_size_(::sysconf(_SC_PAGESIZE)) {
    // The start time never changes; /proc/stat can be long on big machines, so read it once.
    const auto stat = ReadFile("/proc/self/stat");
    const auto proc_stat = stat ? ParseProcStat(*stat) : std::nullopt;
    const auto boot = ReadFile("/proc/stat");
    const auto boot_time = boot ? ParseBootTime(*boot) : std::nullopt;
    if (proc_stat && boot_time && ticks_per_second_ > 0) {
      start_time_seconds_ =
          static_cast<double>(*boot_time) +
          static_cast<double>(proc_stat->start_ticks) / static_cast<double>(ticks_per_second_);
    }
  }

  std::vector<prometheus::MetricFamily> Collect() const override {
    using prometheus::MetricType;
    std::vector<prometheus::MetricFamily> families;
    const auto stat = ReadFile("/proc/self/stat");
    if (const auto parsed = stat ? ParseProcStat(*stat) : std::nullopt) {
      if (ticks_per_second_ > 0) {
        families.push_back(Family("process_cpu_seconds_total",
                                  "Total user and system CPU time spent in seconds.",
                                  MetricType::Counter,
                                  static_cast<double>(parsed->user_ticks + parsed->system_ticks) /
                                      static_cast<double>(ticks_per_second_)));
      }
      if (page_size_ > 0) {
        families.push_back(Family(
            "process_resident_memory_bytes", "Resident memory size in bytes.", MetricType::Gauge,
            static_cast<double>(parsed->resident_pages) * static_cast<double>(page_size_)));
      }
      families.push_back(Family("process_virtual_memory_bytes", "Virtual memory size in bytes.",
                                MetricType::Gauge, static_cast<double>(parsed->virtual_bytes)));
    }
    if (const auto open_fds = CountOpenFds()) {
      families.push_back(Family("process_open_fds", "Number of open file descriptors.",
                                MetricType::Gauge, static_cast<double>(*open_fds)));
    }
    if (rlimit limit{}; ::getrlimit(RLIMIT_NOFILE, &limit) == 0) {
      const double max_fds = limit.rlim_cur == RLIM_INFINITY
                                 ? std::numeric_limits<double>::infinity()
                                 : static_cast<double>(limit.rlim_cur);
      families.push_back(Family("process_max_fds", "Maximum number of open file descriptors.",
                                MetricType::Gauge, max_fds));
    }
    if (start_time_seconds_) {
      families.push_back(Family("process_start_time_seconds",
                                "Start time of the process since unix epoch in seconds.",
                                MetricType::Gauge, *start_time_seconds_));
    }
    families.push_back(BuildInfo());
    return families;
  }

 private:
  static prometheus::MetricFamily BuildInfo() {
    const auto& info = core::GetBuildInfo();
    auto family = Family("myriad_build_info", "Myriad build; the value is always 1.",
                         prometheus::MetricType::Gauge, 1);
    family.metric.front().label = {{"version", std::string(info.version)},
                                   {"commit", std::string(info.commit)}};
    return family;
  }

  const long ticks_per_second_;
  const long page_size_;
  std::optional<double> start_time_seconds_;
};

}  // namespace

std::optional<ProcStat> ParseProcStat(std::string_view text) {
  // The command name (field 2) is in parentheses and may itself hold ") ", so the fixed
  // fields start after the last ')'.
  const auto close = text.rfind(')');
  if (close == std::string_view::npos) return std::nullopt;
  text.remove_prefix(close + 1);

  // Fields 3 (state) onwards, 1-based as in proc(5): fields[i] is field i + 3.
  constexpr std::size_t kFieldsNeeded = 22;  // up to field 24, rss
  std::array<std::string_view, kFieldsNeeded> fields;
  std::size_t found = 0;
  while (found < kFieldsNeeded) {
    const auto begin = text.find_first_not_of(" \n");
    if (begin == std::string_view::npos) break;
    text.remove_prefix(begin);
    const auto end = std::min(text.find_first_of(" \n"), text.size());
    fields[found++] = text.substr(0, end);
    text.remove_prefix(end);
  }
  if (found < kFieldsNeeded) return std::nullopt;

  const auto field = [&](std::size_t number) { return ParseUnsigned(fields[number - 3]); };
  const auto user = field(14);
  const auto system = field(15);
  const auto start = field(22);
  const auto vsize = field(23);
  const auto rss = field(24);
  if (!user || !system || !start || !vsize || !rss) return std::nullopt;
  return ProcStat{*user, *system, *start, *vsize, *rss};
}

std::optional<std::uint64_t> ParseBootTime(std::string_view text) {
  constexpr std::string_view kKey = "btime ";
  std::size_t pos = 0;
  while (pos < text.size()) {
    const auto end = std::min(text.find('\n', pos), text.size());
    const std::string_view line = text.substr(pos, end - pos);
    if (line.starts_with(kKey)) return ParseUnsigned(line.substr(kKey.size()));
    pos = end + 1;
  }
  return std::nullopt;
}

std::shared_ptr<prometheus::Collectable> MakeProcessMetrics() {
  return std::make_shared<ProcessMetrics>();
}

}  // namespace myriad::metrics

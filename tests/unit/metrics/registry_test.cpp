#include "metrics/registry.hpp"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <prometheus/counter.h>
#include <prometheus/family.h>
#include <prometheus/registry.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <array>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <optional>
#include <sstream>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include "core/build_info.hpp"
#include "metrics/http_metrics.hpp"

namespace myriad::metrics {
namespace {

// The value of the sample line that starts with `series` (name plus labels exactly as
// serialized), or nullopt if there is none.
std::optional<double> Sample(const std::string& text, const std::string& series) {
  std::istringstream lines(text);
  std::string line;
  while (std::getline(lines, line)) {
    if (line.size() > series.size() && line.compare(0, series.size(), series) == 0 &&
        line[series.size()] == ' ') {
      return std::stod(line.substr(series.size() + 1));
    }
  }
  return std::nullopt;
}

struct CommandResult {
  int exit_code = -1;
  std::string output;
};

CommandResult Run(const std::string& command) {
  CommandResult result;
  FILE* pipe = ::popen((command + " 2>&1").c_str(), "r");
  if (pipe == nullptr) return result;
  std::array<char, 4096> buffer{};
  while (const std::size_t n = std::fread(buffer.data(), 1, buffer.size(), pipe)) {
    result.output.append(buffer.data(), n);
  }
  const int status = ::pclose(pipe);
  result.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  return result;
}

class TempFile {
 public:
  explicit TempFile(const std::string& content) {
    std::string pattern = (std::filesystem::temp_directory_path() / "myriad-metrics-XXXXXX");
    const int fd = ::mkstemp(pattern.data());
    if (fd < 0) throw std::runtime_error("mkstemp failed");
    ::close(fd);
    path_ = pattern;
    std::ofstream(path_) << content;
  }
  ~TempFile() { std::filesystem::remove(path_); }
  TempFile(const TempFile&) = delete;
  TempFile& operator=(const TempFile&) = delete;
  const std::string& path() const { return path_; }

 private:
  std::string path_;
};

CommandResult PromtoolCheck(const std::string& exposition) {
  const TempFile file(exposition);
  return Run("promtool check metrics < " + file.path());
}

bool HavePromtool() { return Run("command -v promtool").exit_code == 0; }

TEST(RegistryTest, SerializesPrometheusCppFamilies) {
  Registry registry;
  auto& family = prometheus::BuildCounter()
                     .Name("myriad_jobs_done_total")
                     .Help("Jobs done.")
                     .Register(registry.Prometheus());
  family.Add({{"queue", "email"}}).Increment(3);
  const std::string text = registry.Serialize();
  EXPECT_EQ(Sample(text, R"(myriad_jobs_done_total{queue="email"})"), 3) << text;
  EXPECT_NE(text.find("# TYPE myriad_jobs_done_total counter"), std::string::npos) << text;
}

TEST(RegistryTest, CallbackGaugeIsReadAtScrapeTime) {
  Registry registry;
  std::atomic<int> open_connections{7};
  registry.AddCallbackGauge("myriad_open_connections", "Open client connections.",
                            [&] { return static_cast<double>(open_connections.load()); });
  registry.AddCallbackGauge("myriad_ratio", "A fraction.", [] { return 0.25; });
  EXPECT_EQ(Sample(registry.Serialize(), "myriad_open_connections"), 7);
  open_connections = 42;
  const std::string text = registry.Serialize();
  EXPECT_EQ(Sample(text, "myriad_open_connections"), 42) << text;
  EXPECT_EQ(Sample(text, "myriad_ratio"), 0.25) << text;
  EXPECT_NE(text.find("# TYPE myriad_open_connections gauge"), std::string::npos) << text;
}

TEST(RegistryTest, CallbackGaugeRejectsBadOrDuplicateNames) {
  Registry registry;
  registry.AddCallbackGauge("myriad_a", "A.", [] { return 1.0; });
  EXPECT_THROW(registry.AddCallbackGauge("myriad_a", "Again.", [] { return 1.0; }),
               std::invalid_argument);
  EXPECT_THROW(registry.AddCallbackGauge("1bad", "Bad.", [] { return 1.0; }),
               std::invalid_argument);
  EXPECT_THROW(registry.AddCallbackGauge("has space", "Bad.", [] { return 1.0; }),
               std::invalid_argument);
  EXPECT_THROW(registry.AddCallbackGauge("myriad_b", "No callback.", {}), std::invalid_argument);
}

TEST(RegistryTest, ThrowingCallbackIsLeftOutOfTheScrape) {
  Registry registry;
  registry.AddCallbackGauge("myriad_broken", "Throws.",
                            []() -> double { throw std::runtime_error("boom"); });
  registry.AddCallbackGauge("myriad_fine", "Works.", [] { return 3.0; });
  const std::string text = registry.Serialize();
  EXPECT_EQ(Sample(text, "myriad_broken"), std::nullopt) << text;
  EXPECT_EQ(Sample(text, "myriad_fine"), 3) << text;
}

TEST(RegistryTest, IncludesAddedCollectables) {
  Registry registry;
  HttpMetrics http(1, {"/api/health"});
  registry.Add(http.Collectable());
  http.ObserveRequest(0, 0, http::Method::kGet, 200, 0.0004);
  http.Reject(0, Rejection::kConnections);
  const std::string text = registry.Serialize();
  EXPECT_EQ(Sample(text, R"(http_requests_total{method="GET",route="/api/health",status="200"})"),
            1)
      << text;
  EXPECT_EQ(Sample(text, R"(http_request_duration_seconds_bucket{route="/api/health",le="+Inf"})"),
            1)
      << text;
  EXPECT_EQ(Sample(text, R"(http_request_duration_seconds_count{route="/api/health"})"), 1) << text;
  EXPECT_EQ(Sample(text, R"(http_rejections_total{reason="connections"})"), 1) << text;
  EXPECT_EQ(Sample(text, R"(http_rejections_total{reason="too_large"})"), 0) << text;
}

TEST(RegistryTest, ProcessMetricsArePresentAndPlausible) {
  Registry registry;
  registry.AddProcessMetrics();
  registry.AddProcessMetrics();  // no effect: families must not appear twice

  const std::string before = registry.Serialize();
  const int extra_fd = ::open("/dev/null", O_RDONLY | O_CLOEXEC);
  ASSERT_GE(extra_fd, 0);
  const std::string text = registry.Serialize();
  ::close(extra_fd);

  const auto open_before = Sample(before, "process_open_fds");
  const auto open_after = Sample(text, "process_open_fds");
  ASSERT_TRUE(open_before && open_after) << text;
  EXPECT_EQ(*open_after, *open_before + 1) << "one more descriptor is open";

  const auto cpu = Sample(text, "process_cpu_seconds_total");
  ASSERT_TRUE(cpu) << text;
  EXPECT_GE(*cpu, 0);
  EXPECT_LT(*cpu, 3600);

  const auto resident = Sample(text, "process_resident_memory_bytes");
  const auto virtual_bytes = Sample(text, "process_virtual_memory_bytes");
  ASSERT_TRUE(resident && virtual_bytes) << text;
  EXPECT_GT(*resident, 1 << 20);
  EXPECT_GE(*virtual_bytes, *resident);

  rlimit limit{};
  ASSERT_EQ(::getrlimit(RLIMIT_NOFILE, &limit), 0);
  EXPECT_EQ(Sample(text, "process_max_fds"), static_cast<double>(limit.rlim_cur)) << text;

  const auto start = Sample(text, "process_start_time_seconds");
  ASSERT_TRUE(start) << text;
  const double now =
      std::chrono::duration<double>(std::chrono::system_clock::now().time_since_epoch()).count();
  EXPECT_LE(*start, now + 1);
  EXPECT_GT(*start, now - 3600) << "the test process started within the hour";

  const auto& info = core::GetBuildInfo();
  const std::string build_info = "myriad_build_info{version=\"" + std::string(info.version) +
                                 "\",commit=\"" + std::string(info.commit) + "\"}";
  EXPECT_EQ(Sample(text, build_info), 1) << text;
  EXPECT_FALSE(info.version.empty());

  EXPECT_EQ(text.find("# TYPE process_open_fds gauge"), text.rfind("# TYPE process_open_fds gauge"))
      << "process metrics added twice";
}

TEST(RegistryTest, SerializeIsSafeWhileIoThreadsWrite) {
  Registry registry;
  HttpMetrics http(2, {"/a", "/b"});
  registry.Add(http.Collectable());
  registry.AddProcessMetrics();
  std::vector<std::thread> writers;
  for (std::size_t t = 0; t < 2; ++t) {
    writers.emplace_back([&http, t] {
      for (int i = 0; i < 50000; ++i) {
        http.ObserveRequest(t, static_cast<std::size_t>(i % 3), http::Method::kGet, 200, 0.01);
      }
    });
  }
  std::size_t scrapes = 0;
  for (; scrapes < 20; ++scrapes) {
    ASSERT_FALSE(registry.Serialize().empty());
  }
  for (auto& writer : writers) writer.join();
  const std::string text = registry.Serialize();
  double total = 0;
  for (const char* route : {"/a", "/b", "unmatched"}) {
    const auto count = Sample(text, std::string(R"(http_requests_total{method="GET",route=")") +
                                        route + R"(",status="200"})");
    ASSERT_TRUE(count) << route << "\n" << text;
    total += *count;
  }
  EXPECT_EQ(total, 100000);
}

TEST(RegistryPromtoolTest, PromtoolRejectsABrokenExposition) {
  // Proves the check below can fail: a counter without the _total suffix is a lint error,
  // and a malformed line is a parse error.
  if (!HavePromtool()) GTEST_SKIP() << "promtool not installed";
  EXPECT_NE(PromtoolCheck("# HELP jobs Jobs.\n# TYPE jobs counter\njobs 1\n").exit_code, 0);
  EXPECT_NE(PromtoolCheck("# TYPE x gauge\nx{ 1\n").exit_code, 0);
}

TEST(RegistryPromtoolTest, SerializeOutputPassesPromtoolCheckMetrics) {
  if (!HavePromtool()) GTEST_SKIP() << "promtool not installed";
  Registry registry;
  HttpMetrics http(2, {"/api/users/{id}", "/api/health", R"(/odd/"quoted"\path)"});
  registry.Add(http.Collectable());
  registry.AddProcessMetrics();
  registry.AddCallbackGauge("myriad_requests_in_flight", "Requests being handled.",
                            [] { return 3.0; });
  prometheus::BuildCounter()
      .Name("myriad_jobs_done_total")
      .Help("Jobs done.")
      .Register(registry.Prometheus())
      .Add({{"queue", "email"}})
      .Increment();
  for (std::size_t route = 0; route <= http.UnmatchedRoute(); ++route) {
    for (const int status : {200, 201, 299, 404, 418, 503, 700}) {
      http.ObserveRequest(route % 2, route, http::Method::kPost, status,
                          0.004 * static_cast<double>(route));
    }
  }
  http.Reject(0, Rejection::kTimeout);

  const std::string text = registry.Serialize();
  const CommandResult result = PromtoolCheck(text);
  EXPECT_EQ(result.exit_code, 0) << "promtool output:\n" << result.output << "\ninput:\n" << text;
}

}  // namespace
}  // namespace myriad::metrics

#include "loadgen/stats.hpp"

#include <cstddef>
#include <cstdint>

namespace myriad::load {

const char* ErrorKindName(ErrorKind kind) {
  switch (kind) {
    case ErrorKind::kConnect:
      return "connect";
    case ErrorKind::kTimeout:
      return "timeout";
    case ErrorKind::kReset:
      return "reset";
    case ErrorKind::kProtocol:
      return "protocol";
    case ErrorKind::kStatus:
      return "status";
  }
  return "unknown";
}

std::int64_t Counters::Errors() const {
  std::int64_t sum = 0;
  for (const std::int64_t n : errors) sum += n;
  return sum;
}

void Counters::Merge(const Counters& other) {
  latency.Merge(other.latency);
  requests += other.requests;
  ok += other.ok;
  for (std::size_t i = 0; i < kErrorKinds; ++i) errors[i] += other.errors[i];
  for (const auto& [status, count] : other.statuses) statuses[status] += count;
  bytes_received += other.bytes_received;
}

double RunResult::RequestsPerSecond() const {
  if (duration_s <= 0) return 0;
  return static_cast<double>(total.requests) / duration_s;
}

}  // namespace myriad::load

#include "http/request_id.hpp"

#include <algorithm>
#include <array>
#include <random>

namespace myriad::http {

bool IsAcceptableRequestId(std::string_view id) {
  if (id.empty() || id.size() > kMaxRequestIdLength) return false;
  return std::all_of(id.begin(), id.end(), [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '.' ||
           c == '_' || c == ':' || c == '/' || c == '+' || c == '=' || c == '@' || c == '-';
  });
}

RequestIdGenerator::RequestIdGenerator() {
  std::random_device device;
  prefix_ = (static_cast<std::uint64_t>(device()) << 32) ^ device();
}

void RequestIdGenerator::Next(std::string& out) {
  static constexpr std::string_view kHex = "0123456789abcdef";
  out.resize(32);
  const std::array<std::uint64_t, 2> parts = {prefix_, ++counter_};
  for (std::size_t p = 0; p < parts.size(); ++p) {
    for (std::size_t i = 0; i < 16; ++i) {
      out[p * 16 + i] = kHex[(parts[p] >> (60 - 4 * i)) & 0xFU];
    }
  }
}

}  // namespace myriad::http

#include "http/request_id.hpp"

#include <random>

namespace myriad::http {

bool IsAcceptableRequestId(std::string_view id) {
  if (id.empty() || id.size() > kMaxRequestIdLength) return false;
  for (char c : id) {
    bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              c == '.' || c == '_' || c == ':' || c == '/' || c == '+' || c == '=' || c == '@' ||
              c == '-';
    if (!ok) return false;
  }
  return true;
}

RequestIdGenerator::RequestIdGenerator() {
  std::random_device device;
  prefix_ = (static_cast<std::uint64_t>(device()) << 32) ^ device();
}

void RequestIdGenerator::Next(std::string& out) {
  static constexpr char kHex[] = "0123456789abcdef";
  out.resize(32);
  std::uint64_t parts[2] = {prefix_, ++counter_};
  for (int p = 0; p < 2; ++p) {
    for (int i = 0; i < 16; ++i) {
      out[p * 16 + i] = kHex[(parts[p] >> (60 - 4 * i)) & 0xF];
    }
  }
}

}  // namespace myriad::http

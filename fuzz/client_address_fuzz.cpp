// Fuzzes the client-address rules behind rate limits: --trusted-proxies parsing and
// ClientAddress over an attacker's X-Forwarded-For. Input: "trusted\npeer\nheader". Nothing
// may crash; an untrusted peer is always the answer for itself, whatever the header says;
// and a trusted peer's answer is the peer or an address that appears in the header.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <stdexcept>
#include <string>
#include <string_view>

#include "net/trusted_proxies.hpp"

namespace {

#define FUZZ_CHECK(cond)       \
  do {                         \
    if (!(cond)) std::abort(); \
  } while (false)

namespace net = myriad::net;

std::string_view NextLine(std::string_view& rest) {
  const auto nl = rest.find('\n');
  const std::string_view line = rest.substr(0, nl);
  rest = nl == std::string_view::npos ? std::string_view{} : rest.substr(nl + 1);
  return line;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  std::string_view rest(reinterpret_cast<const char*>(data), size);
  const std::string_view trusted_text = NextLine(rest);
  const std::string_view peer = NextLine(rest);
  const std::string_view header = rest;

  net::TrustedProxies trusted;
  try {
    trusted = net::TrustedProxies::Parse(trusted_text);
    // What it prints, it reads back the same.
    FUZZ_CHECK(net::TrustedProxies::Parse(trusted.ToString()).ToString() == trusted.ToString());
  } catch (const std::invalid_argument&) {
    trusted = net::TrustedProxies::Parse("127.0.0.0/8,10.0.0.0/8,::1");
  }

  const std::string client = net::ClientAddress(peer, header, trusted);
  if (!trusted.Contains(peer)) {
    FUZZ_CHECK(client == peer);
    return 0;
  }
  if (client == peer) return 0;
  net::Ipv6Bytes address{};
  FUZZ_CHECK(net::ParseAddress(client, address));
  FUZZ_CHECK(net::FormatAddress(address) == client);
  return 0;
}

#include "net/trusted_proxies.hpp"

#include <arpa/inet.h>
#include <netinet/in.h>

#include <algorithm>
#include <charconv>
#include <cstring>
#include <stdexcept>
#include <utility>

namespace myriad::net {
namespace {

constexpr unsigned kIpv4MappedPrefix = 96;  // ::ffff:0:0/96
constexpr unsigned kIpv6Bits = 128;
constexpr std::size_t kIpv4Offset = 12;  // where the IPv4 address sits in a mapped one

// inet_pton wants a NUL-terminated string; the longest textual IPv6 address
// ("ffff:ffff:ffff:ffff:ffff:ffff:255.255.255.255") is 45 characters.
constexpr std::size_t kMaxAddressText = INET6_ADDRSTRLEN;

std::string Quote(std::string_view text) { return "\"" + std::string(text) + "\""; }

bool IsIpv4Mapped(const Ipv6Bytes& a) {
  return std::all_of(a.begin(), a.begin() + 10, [](std::uint8_t b) { return b == 0; }) &&
         a[10] == 0xff && a[11] == 0xff;
}

// Parses into `out`; `is_ipv4` tells which family the text was written in (prefix lengths
// are read in that family's terms).
bool ParseAddress(std::string_view text, Ipv6Bytes& out, bool& is_ipv4) {
  if (text.empty() || text.size() >= kMaxAddressText) return false;
  std::array<char, kMaxAddressText> buffer{};
  std::memcpy(buffer.data(), text.data(), text.size());
  in_addr v4{};
  if (inet_pton(AF_INET, buffer.data(), &v4) == 1) {
    out.fill(0);
    out[10] = 0xff;
    out[11] = 0xff;
    std::memcpy(out.data() + kIpv4Offset, &v4.s_addr, sizeof(v4.s_addr));
    is_ipv4 = true;
    return true;
  }
  in6_addr v6{};
  if (inet_pton(AF_INET6, buffer.data(), &v6) == 1) {
    std::memcpy(out.data(), &v6, out.size());
    is_ipv4 = false;
    return true;
  }
  return false;
}

bool Matches(const Cidr& network, const Ipv6Bytes& address) {
  const unsigned whole = network.prefix / 8;
  if (std::memcmp(network.bytes.data(), address.data(), whole) != 0) return false;
  const unsigned rest = network.prefix % 8;
  if (rest == 0) return true;
  const auto mask = static_cast<std::uint8_t>(0xff << (8 - rest));
  return (address[whole] & mask) == network.bytes[whole];
}

Ipv6Bytes Masked(const Ipv6Bytes& address, unsigned prefix) {
  Ipv6Bytes masked{};
  const unsigned whole = prefix / 8;
  std::copy_n(address.begin(), whole, masked.begin());
  if (prefix % 8 != 0) {
    masked[whole] = static_cast<std::uint8_t>(address[whole] & (0xff << (8 - prefix % 8)));
  }
  return masked;
}

// A network in the family it is most naturally read in: "10.0.0.0/8" rather than
// "::ffff:10.0.0.0/104".
std::string FormatCidr(const Cidr& network) {
  if (IsIpv4Mapped(network.bytes) && network.prefix >= kIpv4MappedPrefix) {
    return FormatAddress(network.bytes) + "/" + std::to_string(network.prefix - kIpv4MappedPrefix);
  }
  std::array<char, INET6_ADDRSTRLEN> text{};
  inet_ntop(AF_INET6, network.bytes.data(), text.data(), text.size());
  return std::string(text.data()) + "/" + std::to_string(network.prefix);
}

constexpr bool IsListSeparator(char c) { return c == ',' || c == ' ' || c == '\t'; }

std::string_view Trim(std::string_view text) {
  const auto first = text.find_first_not_of(" \t");
  if (first == std::string_view::npos) return {};
  const auto last = text.find_last_not_of(" \t");
  return text.substr(first, last - first + 1);
}

}  // namespace

bool ParseAddress(std::string_view text, Ipv6Bytes& out) {
  // asio prints link-local IPv6 peers with their scope ("fe80::1%eth0"); the scope does not
  // change which network the address is in.
  text = text.substr(0, text.find('%'));
  bool is_ipv4 = false;
  return ParseAddress(text, out, is_ipv4);
}

std::string FormatAddress(const Ipv6Bytes& address) {
  std::array<char, INET6_ADDRSTRLEN> text{};
  if (IsIpv4Mapped(address)) {
    inet_ntop(AF_INET, address.data() + kIpv4Offset, text.data(), text.size());
  } else {
    inet_ntop(AF_INET6, address.data(), text.data(), text.size());
  }
  return text.data();
}

Cidr ParseCidr(std::string_view text) {
  const auto slash = text.find('/');
  const std::string_view address_text = text.substr(0, slash);
  Cidr network;
  bool is_ipv4 = false;
  if (!ParseAddress(address_text, network.bytes, is_ipv4)) {
    throw std::invalid_argument("not an IP address or CIDR: " + Quote(text));
  }
  const unsigned family_bits = is_ipv4 ? 32 : kIpv6Bits;
  unsigned prefix = family_bits;
  if (slash != std::string_view::npos) {
    const std::string_view prefix_text = text.substr(slash + 1);
    // Digits only: from_chars would stop at the first non-digit and leave "8x" half-read.
    const bool digits = !prefix_text.empty() && prefix_text.size() <= 3 &&
                        std::all_of(prefix_text.begin(), prefix_text.end(),
                                    [](char c) { return c >= '0' && c <= '9'; });
    if (digits) {
      std::from_chars(prefix_text.data(), prefix_text.data() + prefix_text.size(), prefix);
    }
    if (!digits || prefix > family_bits) {
      throw std::invalid_argument(Quote(text) + ": prefix length must be 0.." +
                                  std::to_string(family_bits) + " for " +
                                  (is_ipv4 ? "IPv4" : "IPv6"));
    }
  }
  network.prefix = is_ipv4 ? prefix + kIpv4MappedPrefix : prefix;
  const Ipv6Bytes masked = Masked(network.bytes, network.prefix);
  if (masked != network.bytes) {
    // Usually a host address written with a network's prefix: guessing which one was meant
    // could trust far more, or far less, than intended.
    const std::string suggested = FormatCidr({masked, network.prefix});
    throw std::invalid_argument(std::string(text) +
                                " has bits set beyond the prefix; did you mean " + suggested + "?");
  }
  return network;
}

TrustedProxies::TrustedProxies(std::vector<Cidr> networks) : networks_(std::move(networks)) {}

TrustedProxies TrustedProxies::Parse(std::string_view text) {
  if (Trim(text) == "none") return {};
  std::vector<Cidr> networks;
  std::size_t pos = 0;
  while (pos < text.size()) {
    while (pos < text.size() && IsListSeparator(text[pos])) ++pos;
    std::size_t end = pos;
    while (end < text.size() && !IsListSeparator(text[end])) ++end;
    if (end > pos) networks.push_back(ParseCidr(text.substr(pos, end - pos)));
    pos = end;
  }
  return TrustedProxies(std::move(networks));
}

bool TrustedProxies::Contains(std::string_view ip) const {
  if (networks_.empty()) return false;
  Ipv6Bytes address{};
  return ParseAddress(ip, address) && Contains(address);
}

bool TrustedProxies::Contains(const Ipv6Bytes& address) const {
  return std::any_of(networks_.begin(), networks_.end(),
                     [&address](const Cidr& network) { return Matches(network, address); });
}

std::string TrustedProxies::ToString() const {
  if (networks_.empty()) return "none";
  std::string text;
  for (const Cidr& network : networks_) {
    if (!text.empty()) text += ',';
    text += FormatCidr(network);
  }
  return text;
}

std::string ClientAddress(std::string_view peer, std::string_view x_forwarded_for,
                          const TrustedProxies& trusted) {
  Ipv6Bytes hop{};
  if (Trim(x_forwarded_for).empty() || !ParseAddress(peer, hop) || !trusted.Contains(hop)) {
    return std::string(peer);
  }
  // Each proxy appends the address it received the request from, so the list is only as
  // trustworthy as the hop that wrote each entry: read from the right while the writer is
  // one of ours.
  Ipv6Bytes last_trusted = hop;
  std::string_view rest = x_forwarded_for;
  for (;;) {
    const auto comma = rest.rfind(',');
    const std::string_view entry =
        Trim(comma == std::string_view::npos ? rest : rest.substr(comma + 1));
    if (!ParseAddress(entry, hop)) break;
    if (!trusted.Contains(hop)) return FormatAddress(hop);
    last_trusted = hop;
    if (comma == std::string_view::npos) break;
    rest = rest.substr(0, comma);
  }
  return FormatAddress(last_trusted);
}

}  // namespace myriad::net

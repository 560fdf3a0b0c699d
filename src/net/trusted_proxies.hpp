#pragma once

#include <array>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace myriad::net {

/// An IPv6 address in network byte order; IPv4 is held as IPv4-mapped IPv6 (::ffff:a.b.c.d)
/// so that one comparison serves both families.
using Ipv6Bytes = std::array<std::uint8_t, 16>;

/// A network: address and prefix length, both in IPv6 terms (IPv4 10.0.0.0/8 is
/// ::ffff:10.0.0.0/104). Bits beyond the prefix are zero.
struct Cidr {
  Ipv6Bytes bytes{};
  unsigned prefix = 0;
};

/// Parses one "10.0.0.0/8", "127.0.0.1" (= /32), "::1" (= /128), "fd00::/8" or
/// "::ffff:10.0.0.0/104". Throws std::invalid_argument naming the text on anything else:
/// not an address, a prefix out of range, or host bits set beyond the prefix.
Cidr ParseCidr(std::string_view text);

/// Parses a textual IPv4 or IPv6 address (a "%scope" suffix is ignored) into `out`, IPv4
/// as IPv4-mapped. False, with `out` unspecified, when it is not one. No allocation.
bool ParseAddress(std::string_view text, Ipv6Bytes& out);

/// Canonical text of an address: dotted IPv4 for IPv4-mapped ones, RFC 5952 IPv6 otherwise.
std::string FormatAddress(const Ipv6Bytes& address);

/// The networks whose peers (load balancers) may set X-Forwarded-For. Empty: trust nobody.
/// Immutable after construction, so any thread may query it concurrently.
class TrustedProxies {
 public:
  TrustedProxies() = default;
  explicit TrustedProxies(std::vector<Cidr> networks);

  /// A comma- and/or space-separated list, e.g. "10.0.0.0/8, 127.0.0.1,::1"; "" or "none"
  /// gives an empty list. Throws std::invalid_argument naming the bad entry.
  static TrustedProxies Parse(std::string_view text);

  bool empty() const { return networks_.empty(); }
  /// `ip`: a textual IPv4 or IPv6 address, as asio's address::to_string() prints it; an
  /// IPv4-mapped IPv6 address ("::ffff:127.0.0.1") matches IPv4 networks. Unparsable text
  /// is not trusted. No allocation.
  bool Contains(std::string_view ip) const;
  bool Contains(const Ipv6Bytes& address) const;
  /// Canonical text of the list, e.g. "10.0.0.0/8,127.0.0.1/32"; "none" when empty.
  std::string ToString() const;

 private:
  std::vector<Cidr> networks_;
};

/// The client address a request should be attributed to (rate limits, logs). `peer` is the
/// socket's remote address text (http::Request::peer()).
///
/// When `peer` is not trusted or the header is empty, returns `peer` unchanged: an untrusted
/// peer's X-Forwarded-For is ignored, never believed. When it is trusted, walks the
/// X-Forwarded-For list (comma-separated, spaces allowed; several header values joined with
/// ", ") from the right, skipping trusted proxies; the first untrusted entry is the client.
/// An entry that is not an IP address (garbage, "unknown", "1.2.3.4:5678") stops the walk
/// and the last trusted hop is returned: the last address we can still vouch for. When
/// every entry is trusted, the leftmost one is returned. A returned header entry is in
/// canonical text (IPv4-mapped IPv6 as dotted IPv4).
std::string ClientAddress(std::string_view peer, std::string_view x_forwarded_for,
                          const TrustedProxies& trusted);

}  // namespace myriad::net

#include "net/trusted_proxies.hpp"

#include <gtest/gtest.h>

#include <stdexcept>
#include <string>
#include <string_view>

namespace myriad::net {
namespace {

// The message of the std::invalid_argument `parse` throws; a test failure if none.
template <typename Parse>
std::string ErrorOf(Parse parse) {
  try {
    parse();
  } catch (const std::invalid_argument& e) {
    return e.what();
  }
  ADD_FAILURE() << "no std::invalid_argument";
  return {};
}

std::string CidrError(std::string_view text) {
  return ErrorOf([text] { ParseCidr(text); });
}

std::string ListError(std::string_view text) {
  return ErrorOf([text] { TrustedProxies::Parse(text); });
}

std::string Canonical(std::string_view text) { return TrustedProxies::Parse(text).ToString(); }

TEST(ParseCidrTest, Ipv4IsStoredAsIpv4MappedWithAdjustedPrefix) {
  const Cidr net = ParseCidr("10.0.0.0/8");
  EXPECT_EQ(net.prefix, 104U);
  const Ipv6Bytes expected = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, 10, 0, 0, 0};
  EXPECT_EQ(net.bytes, expected);
  EXPECT_EQ(ParseCidr("127.0.0.1").prefix, 128U);
  EXPECT_EQ(ParseCidr("0.0.0.0/0").prefix, 96U);
}

TEST(ParseCidrTest, Ipv6AndIpv4MappedForms) {
  EXPECT_EQ(ParseCidr("::1").prefix, 128U);
  EXPECT_EQ(ParseCidr("fd00::/8").prefix, 8U);
  EXPECT_EQ(ParseCidr("::/0").prefix, 0U);
  const Cidr mapped = ParseCidr("::ffff:10.0.0.0/104");
  EXPECT_EQ(mapped.prefix, 104U);
  EXPECT_EQ(mapped.bytes, ParseCidr("10.0.0.0/8").bytes);
}

TEST(ParseCidrTest, RejectsWhatIsNotAnAddressNamingIt) {
  for (const char* bad : {"", "x", "example.com", "10.0.0", "10.0.0.256", "1.2.3.4:80", "[::1]",
                          "10.0.0.0/", "/8", " 10.0.0.0/8", "fe80::1%eth0"}) {
    SCOPED_TRACE(bad);
    const std::string message = CidrError(bad);
    EXPECT_NE(message.find('"' + std::string(bad) + '"'), std::string::npos) << message;
  }
  EXPECT_EQ(CidrError("x"), "not an IP address or CIDR: \"x\"");
}

TEST(ParseCidrTest, RejectsPrefixesOutOfRange) {
  EXPECT_EQ(CidrError("10.0.0.0/33"), "\"10.0.0.0/33\": prefix length must be 0..32 for IPv4");
  EXPECT_EQ(CidrError("::/129"), "\"::/129\": prefix length must be 0..128 for IPv6");
  for (const char* bad :
       {"10.0.0.0/-1", "10.0.0.0/+8", "10.0.0.0/8x", "10.0.0.0/0008", "10.0.0.0/ 8", "::1/1280"}) {
    SCOPED_TRACE(bad);
    EXPECT_NE(CidrError(bad).find("prefix length must be"), std::string::npos);
  }
}

TEST(ParseCidrTest, HostBitsBeyondThePrefixAreAnErrorWithASuggestion) {
  EXPECT_EQ(CidrError("10.0.0.1/8"),
            "10.0.0.1/8 has bits set beyond the prefix; did you mean 10.0.0.0/8?");
  EXPECT_EQ(CidrError("192.168.1.130/25"),
            "192.168.1.130/25 has bits set beyond the prefix; did you mean 192.168.1.128/25?");
  EXPECT_EQ(CidrError("fd12::1/8"),
            "fd12::1/8 has bits set beyond the prefix; did you mean fd00::/8?");
  EXPECT_NO_THROW(ParseCidr("192.168.1.128/25"));
}

TEST(TrustedProxiesTest, ParsesCommaAndSpaceSeparatedLists) {
  EXPECT_EQ(Canonical("10.0.0.0/8, 127.0.0.1,::1"), "10.0.0.0/8,127.0.0.1/32,::1/128");
  EXPECT_EQ(Canonical("  10.0.0.0/8   192.168.0.0/16\t,, "), "10.0.0.0/8,192.168.0.0/16");
  EXPECT_EQ(Canonical("::ffff:10.0.0.0/104"), "10.0.0.0/8");
  EXPECT_EQ(Canonical("fd00::/8"), "fd00::/8");
  EXPECT_EQ(Canonical(""), "none");
  EXPECT_EQ(Canonical("none"), "none");
  EXPECT_EQ(Canonical(" none "), "none");
  EXPECT_TRUE(TrustedProxies::Parse("").empty());
  EXPECT_TRUE(TrustedProxies().empty());
  EXPECT_EQ(TrustedProxies().ToString(), "none");
  EXPECT_FALSE(TrustedProxies::Parse("::1").empty());
}

TEST(TrustedProxiesTest, ToStringParsesBackToTheSameList) {
  const std::string text = Canonical("10.0.0.0/8 172.16.0.0/12 ::1 fd00::/8 0.0.0.0/0 ::/0");
  EXPECT_EQ(Canonical(text), text);
}

TEST(TrustedProxiesTest, ListErrorsNameTheBadEntry) {
  EXPECT_EQ(ListError("10.0.0.0/8, bogus, ::1"), "not an IP address or CIDR: \"bogus\"");
  EXPECT_EQ(ListError("127.0.0.1,10.0.0.1/8"),
            "10.0.0.1/8 has bits set beyond the prefix; did you mean 10.0.0.0/8?");
  EXPECT_EQ(ListError("none, 10.0.0.0/8"), "not an IP address or CIDR: \"none\"");
  // A semicolon is not a separator: the whole text is one (bad) entry.
  EXPECT_EQ(ListError("10.0.0.0/8;192.168.0.0/16"),
            "\"10.0.0.0/8;192.168.0.0/16\": prefix length must be 0..32 for IPv4");
}

TEST(TrustedProxiesTest, ContainsIpv4) {
  const auto trusted = TrustedProxies::Parse("10.0.0.0/8, 192.168.1.128/25, 127.0.0.1");
  EXPECT_TRUE(trusted.Contains("10.0.0.0"));
  EXPECT_TRUE(trusted.Contains("10.255.255.255"));
  EXPECT_FALSE(trusted.Contains("11.0.0.0"));
  EXPECT_FALSE(trusted.Contains("9.255.255.255"));
  EXPECT_TRUE(trusted.Contains("192.168.1.128"));
  EXPECT_TRUE(trusted.Contains("192.168.1.255"));
  EXPECT_FALSE(trusted.Contains("192.168.1.127"));
  EXPECT_TRUE(trusted.Contains("127.0.0.1"));  // a /32
  EXPECT_FALSE(trusted.Contains("127.0.0.2"));
  EXPECT_FALSE(trusted.Contains("::1"));
  EXPECT_FALSE(trusted.Contains("::a00:1"));  // IPv4-compatible, not IPv4-mapped
}

TEST(TrustedProxiesTest, ContainsIpv6AndScopedAddresses) {
  const auto trusted = TrustedProxies::Parse("fd00::/8, ::1, fe80::/10");
  EXPECT_TRUE(trusted.Contains("fd12:3456::1"));
  EXPECT_FALSE(trusted.Contains("fe00::1"));
  EXPECT_TRUE(trusted.Contains("::1"));  // a /128
  EXPECT_FALSE(trusted.Contains("::2"));
  EXPECT_TRUE(trusted.Contains("fe80::1%eth0"));
  EXPECT_FALSE(trusted.Contains("127.0.0.1"));
}

TEST(TrustedProxiesTest, Ipv4MappedAddressesMatchIpv4Networks) {
  const auto trusted = TrustedProxies::Parse("10.0.0.0/8");
  EXPECT_TRUE(trusted.Contains("::ffff:10.1.2.3"));
  EXPECT_TRUE(trusted.Contains("::FFFF:10.1.2.3"));
  EXPECT_FALSE(trusted.Contains("::ffff:11.1.2.3"));
  EXPECT_TRUE(TrustedProxies::Parse("::ffff:10.0.0.0/104").Contains("10.9.9.9"));
}

TEST(TrustedProxiesTest, EdgePrefixes) {
  const auto all_v4 = TrustedProxies::Parse("0.0.0.0/0");
  EXPECT_TRUE(all_v4.Contains("1.2.3.4"));
  EXPECT_TRUE(all_v4.Contains("255.255.255.255"));
  EXPECT_FALSE(all_v4.Contains("::1"));  // IPv4's /0 is all of IPv4, not all of IPv6
  const auto all = TrustedProxies::Parse("::/0");
  EXPECT_TRUE(all.Contains("::1"));
  EXPECT_TRUE(all.Contains("1.2.3.4"));
  const auto one_v6 = TrustedProxies::Parse("2001:db8::7/128");
  EXPECT_TRUE(one_v6.Contains("2001:db8::7"));
  EXPECT_TRUE(one_v6.Contains("2001:0db8:0000::0007"));
  EXPECT_FALSE(one_v6.Contains("2001:db8::6"));
  EXPECT_TRUE(TrustedProxies::Parse("255.255.255.255/32").Contains("255.255.255.255"));
}

TEST(TrustedProxiesTest, UnparsableOrEmptyIsNotTrusted) {
  const auto everyone = TrustedProxies::Parse("::/0, 0.0.0.0/0");
  for (const char* bad :
       {"", "unknown", "1.2.3.4:5678", "[::1]", " 1.2.3.4", "1.2.3.4.5", "999.1.1.1",
        "a-very-long-text-that-cannot-possibly-be-an-address-at-all"}) {
    SCOPED_TRACE(bad);
    EXPECT_FALSE(everyone.Contains(bad));
  }
  EXPECT_FALSE(TrustedProxies().Contains("127.0.0.1"));
}

class ClientAddressTest : public ::testing::Test {
 protected:
  const TrustedProxies trusted_ = TrustedProxies::Parse("10.0.0.0/8, 127.0.0.1, fd00::/8");
};

TEST_F(ClientAddressTest, UntrustedPeersHeaderIsIgnored) {
  EXPECT_EQ(ClientAddress("203.0.113.9", "1.2.3.4", trusted_), "203.0.113.9");
  EXPECT_EQ(ClientAddress("203.0.113.9", "10.0.0.1, 1.2.3.4", trusted_), "203.0.113.9");
  EXPECT_EQ(ClientAddress("2001:db8::1", "1.2.3.4", trusted_), "2001:db8::1");
  EXPECT_EQ(ClientAddress("unknown", "1.2.3.4", trusted_), "unknown");
  // Nobody is trusted by default.
  EXPECT_EQ(ClientAddress("127.0.0.1", "1.2.3.4", TrustedProxies()), "127.0.0.1");
}

TEST_F(ClientAddressTest, TrustedPeerWithoutHeaderIsTheClient) {
  EXPECT_EQ(ClientAddress("10.0.0.5", "", trusted_), "10.0.0.5");
  EXPECT_EQ(ClientAddress("10.0.0.5", "  ", trusted_), "10.0.0.5");
}

TEST_F(ClientAddressTest, TrustedPeerGivesTheRightmostUntrustedEntry) {
  EXPECT_EQ(ClientAddress("10.0.0.5", "198.51.100.7", trusted_), "198.51.100.7");
  // The leftmost entries were written by the client itself: never believed past an
  // untrusted hop.
  EXPECT_EQ(ClientAddress("10.0.0.5", "6.6.6.6, 198.51.100.7", trusted_), "198.51.100.7");
  EXPECT_EQ(ClientAddress("10.0.0.5", "6.6.6.6,198.51.100.7", trusted_), "198.51.100.7");
}

TEST_F(ClientAddressTest, ChainsOfTrustedHopsAreSkipped) {
  EXPECT_EQ(ClientAddress("127.0.0.1", "6.6.6.6, 198.51.100.7, 10.1.1.1, 10.2.2.2", trusted_),
            "198.51.100.7");
  EXPECT_EQ(ClientAddress("fd00::1", "2001:db8::9, fd00::2", trusted_), "2001:db8::9");
}

TEST_F(ClientAddressTest, GarbageStopsTheWalkAtTheLastTrustedHop) {
  EXPECT_EQ(ClientAddress("10.0.0.5", "unknown", trusted_), "10.0.0.5");
  EXPECT_EQ(ClientAddress("10.0.0.5", "1.2.3.4, unknown, 10.0.0.9", trusted_), "10.0.0.9");
  EXPECT_EQ(ClientAddress("10.0.0.5", "1.2.3.4:5678", trusted_), "10.0.0.5");
  EXPECT_EQ(ClientAddress("10.0.0.5", "1.2.3.4,, 10.0.0.9", trusted_), "10.0.0.9");
  EXPECT_EQ(ClientAddress("10.0.0.5", "1.2.3.4, <script>", trusted_), "10.0.0.5");
}

TEST_F(ClientAddressTest, AllTrustedGivesTheLeftmostEntry) {
  EXPECT_EQ(ClientAddress("10.0.0.5", "10.9.9.9, 127.0.0.1, 10.0.0.7", trusted_), "10.9.9.9");
  EXPECT_EQ(ClientAddress("10.0.0.5", "10.9.9.9", trusted_), "10.9.9.9");
}

TEST_F(ClientAddressTest, WhitespaceAndJoinedHeaderValues) {
  EXPECT_EQ(ClientAddress("10.0.0.5", "  198.51.100.7  ", trusted_), "198.51.100.7");
  EXPECT_EQ(ClientAddress("10.0.0.5", "\t6.6.6.6 ,\t198.51.100.7 , 10.0.0.9\t", trusted_),
            "198.51.100.7");
  // Two X-Forwarded-For headers joined with ", ".
  EXPECT_EQ(ClientAddress("10.0.0.5", "6.6.6.6, 198.51.100.7, 10.0.0.9, 10.0.0.8", trusted_),
            "198.51.100.7");
}

TEST_F(ClientAddressTest, ResultIsCanonicalText) {
  EXPECT_EQ(ClientAddress("10.0.0.5", "::ffff:198.51.100.7", trusted_), "198.51.100.7");
  EXPECT_EQ(ClientAddress("10.0.0.5", "2001:DB8:0:0::1", trusted_), "2001:db8::1");
  EXPECT_EQ(ClientAddress("::ffff:10.0.0.5", "198.51.100.7", trusted_), "198.51.100.7");
  EXPECT_EQ(ClientAddress("::ffff:10.0.0.5", "garbage", trusted_), "10.0.0.5");
}

}  // namespace
}  // namespace myriad::net

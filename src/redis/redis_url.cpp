#include "redis/redis_url.hpp"

#include <boost/url/parse.hpp>
#include <charconv>
#include <stdexcept>

namespace myriad::redis {
namespace {

constexpr unsigned kMaxDatabase = 15'999;  // Redis' `databases` setting tops out far below

std::string Quoted(std::string_view text) { return "\"" + std::string(text) + "\""; }

}  // namespace

// Error messages never quote the URL: it may carry a password, and start-up errors are
// logged.
RedisEndpoint ParseRedisUrl(std::string_view text) {
  const auto parsed = boost::urls::parse_uri(text);
  if (!parsed) {
    throw std::invalid_argument("not a URL (expected redis://[:password@]host:port/db)");
  }
  const auto& url = *parsed;
  if (url.scheme() == "rediss") {
    throw std::invalid_argument(
        "rediss:// (TLS) is not supported; use redis:// on a trusted network");
  }
  if (url.scheme() != "redis") {
    throw std::invalid_argument("the scheme must be redis://, got " + Quoted(url.scheme()));
  }
  if (url.has_query() || url.has_fragment()) {
    throw std::invalid_argument("a query string or fragment is not understood");
  }
  RedisEndpoint endpoint;
  switch (url.host_type()) {
    case boost::urls::host_type::name:
    case boost::urls::host_type::ipv4:
      endpoint.host = url.host();
      break;
    case boost::urls::host_type::ipv6:
      endpoint.host = url.host_address();
      break;
    default:
      throw std::invalid_argument("the URL names no host");
  }
  if (endpoint.host.empty()) throw std::invalid_argument("the URL names no host");
  if (url.has_port()) {
    // Parsed here: Boost.URL 1.81's port_number() wraps some values above 65535.
    const std::string_view digits = url.port();
    unsigned long port = 0;
    const auto* end = digits.data() + digits.size();
    const auto [ptr, ec] = std::from_chars(digits.data(), end, port);
    if (ec != std::errc{} || ptr != end || port == 0 || port > 65535) {
      throw std::invalid_argument("the port must be 1..65535, got " + Quoted(digits));
    }
    endpoint.port = static_cast<std::uint16_t>(port);
  }
  if (url.has_userinfo()) {
    endpoint.username = url.user();
    endpoint.password = url.password();
    if (!url.has_password()) {
      throw std::invalid_argument(
          "a user name without a password logs in as nobody; write redis://user:password@host "
          "or redis://:password@host");
    }
  }
  std::string_view path = url.encoded_path();
  if (!path.empty() && path != "/") {
    path.remove_prefix(1);
    unsigned db = 0;
    const auto* end = path.data() + path.size();
    const auto [ptr, ec] = std::from_chars(path.data(), end, db);
    if (ec != std::errc{} || ptr != end || db > kMaxDatabase) {
      throw std::invalid_argument("the database must be a number after the host (/0), got " +
                                  Quoted(path));
    }
    endpoint.database = db;
  }
  return endpoint;
}

std::string Describe(const RedisEndpoint& endpoint) {
  std::string out = "redis://";
  if (!endpoint.username.empty() || !endpoint.password.empty()) {
    out += endpoint.username;
    if (!endpoint.password.empty()) out += ":***";
    out += '@';
  }
  const bool v6 = endpoint.host.find(':') != std::string::npos;
  out += v6 ? "[" + endpoint.host + "]" : endpoint.host;
  out += ':' + std::to_string(endpoint.port) + '/' + std::to_string(endpoint.database);
  return out;
}

}  // namespace myriad::redis

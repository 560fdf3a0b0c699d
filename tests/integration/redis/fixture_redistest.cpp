// The CTest Redis fixture (scripts/redis.sh via redis_start) gives *_redistest tests a
// running server. This test speaks RESP over a plain blocking POSIX socket, so that the
// fixture is checked before (and apart from) any Redis client of ours.
#include <gtest/gtest.h>
#include <netdb.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include <array>
#include <cerrno>
#include <cstdlib>
#include <optional>
#include <random>
#include <string>
#include <string_view>
#include <system_error>
#include <vector>

#include "support/redis_support.hpp"

namespace {

struct Endpoint {
  std::string host;
  std::string port = "6379";
  std::string password;
  std::string db;
};

// redis://[[user]:password@]host[:port][/db]; the user part is ignored (default user).
std::optional<Endpoint> ParseUrl(std::string_view url) {
  constexpr std::string_view kScheme = "redis://";
  if (!url.starts_with(kScheme)) return std::nullopt;
  url.remove_prefix(kScheme.size());
  Endpoint endpoint;
  if (const auto slash = url.find('/'); slash != std::string_view::npos) {
    endpoint.db = std::string(url.substr(slash + 1));
    url = url.substr(0, slash);
  }
  if (const auto at = url.rfind('@'); at != std::string_view::npos) {
    const auto userinfo = url.substr(0, at);
    if (const auto colon = userinfo.find(':'); colon != std::string_view::npos) {
      endpoint.password = std::string(userinfo.substr(colon + 1));
    }
    url = url.substr(at + 1);
  }
  if (const auto colon = url.rfind(':'); colon != std::string_view::npos) {
    endpoint.port = std::string(url.substr(colon + 1));
    url = url.substr(0, colon);
  }
  endpoint.host = std::string(url);
  if (endpoint.host.empty() || endpoint.port.empty()) return std::nullopt;
  return endpoint;
}

// One RESP reply: `type` is its first byte (+ - : $ *); `text` the line or bulk string;
// `items` the elements of an array; `null` for $-1 and *-1.
struct Reply {
  char type = 0;
  std::string text;
  std::vector<Reply> items;
  bool null = false;
};

// A blocking connection with a receive timeout, so that a silent server fails the test
// instead of hanging it.
class RedisSocket {
 public:
  RedisSocket() = default;
  ~RedisSocket() {
    if (fd_ >= 0) ::close(fd_);
  }
  RedisSocket(const RedisSocket&) = delete;
  RedisSocket& operator=(const RedisSocket&) = delete;

  // "" or what went wrong.
  std::string Connect(const Endpoint& endpoint) {
    addrinfo hints{};
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_STREAM;
    addrinfo* found = nullptr;
    if (int rc = ::getaddrinfo(endpoint.host.c_str(), endpoint.port.c_str(), &hints, &found);
        rc != 0) {
      return "getaddrinfo: " + std::string(::gai_strerror(rc));
    }
    std::string error = "no address";
    for (addrinfo* ai = found; ai != nullptr && fd_ < 0; ai = ai->ai_next) {
      const int fd = ::socket(ai->ai_family, ai->ai_socktype, ai->ai_protocol);
      if (fd < 0) continue;
      timeval timeout{.tv_sec = 5, .tv_usec = 0};
      ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, sizeof timeout);
      ::setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &timeout, sizeof timeout);
      if (::connect(fd, ai->ai_addr, ai->ai_addrlen) == 0) {
        fd_ = fd;
      } else {
        error = "connect: " + std::system_category().message(errno);
        ::close(fd);
      }
    }
    ::freeaddrinfo(found);
    return fd_ >= 0 ? std::string() : error;
  }

  bool Send(std::string_view bytes) const {
    while (!bytes.empty()) {
      const ssize_t sent = ::send(fd_, bytes.data(), bytes.size(), MSG_NOSIGNAL);
      if (sent <= 0) return false;
      bytes.remove_prefix(static_cast<std::size_t>(sent));
    }
    return true;
  }

  // Sends a command as a RESP array of bulk strings.
  bool Command(const std::vector<std::string>& args) const {
    std::string out = "*" + std::to_string(args.size()) + "\r\n";
    for (const auto& arg : args) {
      out += "$" + std::to_string(arg.size()) + "\r\n" + arg + "\r\n";
    }
    return Send(out);
  }

  // The next reply; nullopt when the connection fails, times out or sends garbage.
  std::optional<Reply> Read() {
    auto line = ReadLine();
    if (!line || line->empty()) return std::nullopt;
    Reply reply;
    reply.type = line->front();
    const std::string rest = line->substr(1);
    switch (reply.type) {
      case '+':
      case '-':
      case ':':
        reply.text = rest;
        return reply;
      case '$': {
        const long size = std::strtol(rest.c_str(), nullptr, 10);
        if (size < 0) {
          reply.null = true;
          return reply;
        }
        auto body = ReadExactly(static_cast<std::size_t>(size) + 2);
        if (!body || !body->ends_with("\r\n")) return std::nullopt;
        reply.text = body->substr(0, body->size() - 2);
        return reply;
      }
      case '*': {
        const long count = std::strtol(rest.c_str(), nullptr, 10);
        if (count < 0) {
          reply.null = true;
          return reply;
        }
        for (long i = 0; i < count; ++i) {
          auto item = Read();
          if (!item) return std::nullopt;
          reply.items.push_back(std::move(*item));
        }
        return reply;
      }
      default:
        return std::nullopt;
    }
  }

  // Sends a command and returns its reply.
  std::optional<Reply> Call(const std::vector<std::string>& args) {
    if (!Command(args)) return std::nullopt;
    return Read();
  }

 private:
  bool Fill() {
    std::array<char, 4096> chunk{};
    const ssize_t got = ::recv(fd_, chunk.data(), chunk.size(), 0);
    if (got <= 0) return false;
    buffer_.append(chunk.data(), static_cast<std::size_t>(got));
    return true;
  }

  std::optional<std::string> ReadLine() {
    std::size_t end;
    while ((end = buffer_.find("\r\n")) == std::string::npos) {
      if (!Fill()) return std::nullopt;
    }
    std::string line = buffer_.substr(0, end);
    buffer_.erase(0, end + 2);
    return line;
  }

  std::optional<std::string> ReadExactly(std::size_t size) {
    while (buffer_.size() < size) {
      if (!Fill()) return std::nullopt;
    }
    std::string bytes = buffer_.substr(0, size);
    buffer_.erase(0, size);
    return bytes;
  }

  int fd_ = -1;
  std::string buffer_;
};

bool OwnServer() { return std::getenv("MYRIAD_REDIS_URL") != nullptr; }

class RedisFixtureTest : public ::testing::Test {
 protected:
  void SetUp() override {
    url_ = myriad::testing::TestRedisUrl();
    const auto endpoint = ParseUrl(url_);
    ASSERT_TRUE(endpoint.has_value()) << "not a redis:// URL: " << url_;
    ASSERT_EQ(socket_.Connect(*endpoint), "") << url_;
    if (!endpoint->password.empty()) {
      const auto reply = socket_.Call({"AUTH", endpoint->password});
      ASSERT_TRUE(reply && reply->type == '+') << "AUTH failed on " << url_;
    }
    if (!endpoint->db.empty()) {
      const auto reply = socket_.Call({"SELECT", endpoint->db});
      ASSERT_TRUE(reply.has_value());
      ASSERT_EQ(reply->type, '+') << "SELECT " << endpoint->db << ": " << reply->text;
    }
  }

  std::string url_;
  RedisSocket socket_;
};

TEST_F(RedisFixtureTest, UrlIsLoopbackDatabaseZero) {
  if (OwnServer()) GTEST_SKIP() << "MYRIAD_REDIS_URL: a server of your own";
  EXPECT_TRUE(url_.starts_with("redis://127.0.0.1:")) << url_;
  EXPECT_TRUE(url_.ends_with("/0")) << url_;
}

TEST_F(RedisFixtureTest, InlinePingAnswersPong) {
  ASSERT_TRUE(socket_.Send("PING\r\n"));
  const auto reply = socket_.Read();
  ASSERT_TRUE(reply.has_value());
  EXPECT_EQ(reply->type, '+');
  EXPECT_EQ(reply->text, "PONG");
}

TEST_F(RedisFixtureTest, SetThenGetThroughRespArrays) {
  std::random_device device;
  const std::string key = "myriad:fixture_redistest:" + std::to_string(device());
  // Binary-safe: the value holds CR LF and a NUL, which only bulk strings can carry.
  const std::string value = std::string("line one\r\nline two ") + '\0' + "end";

  auto reply = socket_.Call({"SET", key, value, "PX", "60000"});
  ASSERT_TRUE(reply.has_value());
  EXPECT_EQ(reply->type, '+') << reply->text;
  EXPECT_EQ(reply->text, "OK");

  reply = socket_.Call({"GET", key});
  ASSERT_TRUE(reply.has_value());
  EXPECT_EQ(reply->type, '$');
  EXPECT_FALSE(reply->null);
  EXPECT_EQ(reply->text, value);

  reply = socket_.Call({"DEL", key});
  ASSERT_TRUE(reply.has_value());
  EXPECT_EQ(reply->type, ':');
  EXPECT_EQ(reply->text, "1");

  reply = socket_.Call({"GET", key});
  ASSERT_TRUE(reply.has_value());
  EXPECT_EQ(reply->type, '$');
  EXPECT_TRUE(reply->null);
}

TEST_F(RedisFixtureTest, UnknownCommandIsAnError) {
  const auto reply = socket_.Call({"NO_SUCH_COMMAND_MYRIAD"});
  ASSERT_TRUE(reply.has_value());
  EXPECT_EQ(reply->type, '-');
  EXPECT_TRUE(reply->text.starts_with("ERR")) << reply->text;
}

TEST_F(RedisFixtureTest, ServerIsRedis7WithoutPersistence) {
  if (OwnServer()) GTEST_SKIP() << "MYRIAD_REDIS_URL: a server of your own has its own settings";
  auto reply = socket_.Call({"INFO", "server"});
  ASSERT_TRUE(reply.has_value());
  ASSERT_EQ(reply->type, '$');
  const auto at = reply->text.find("redis_version:");
  ASSERT_NE(at, std::string::npos) << reply->text;
  EXPECT_GE(std::atoi(reply->text.c_str() + at + 14), 7) << reply->text.substr(at, 30);

  reply = socket_.Call({"CONFIG", "GET", "save"});
  ASSERT_TRUE(reply.has_value());
  ASSERT_EQ(reply->type, '*');
  ASSERT_EQ(reply->items.size(), 2U);
  EXPECT_EQ(reply->items[1].text, "");

  reply = socket_.Call({"CONFIG", "GET", "appendonly"});
  ASSERT_TRUE(reply.has_value());
  ASSERT_EQ(reply->items.size(), 2U);
  EXPECT_EQ(reply->items[1].text, "no");

  reply = socket_.Call({"CONFIG", "GET", "protected-mode"});
  ASSERT_TRUE(reply.has_value());
  ASSERT_EQ(reply->items.size(), 2U);
  EXPECT_EQ(reply->items[1].text, "yes");
}

}  // namespace

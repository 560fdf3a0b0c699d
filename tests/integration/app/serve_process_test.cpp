// `myriad serve` as a real process: start-up messages, signals and exit codes.
#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <csignal>
#include <memory>
#include <vector>

#include "support/http_client.hpp"
#include "support/process.hpp"
#include "support/server_fixture.hpp"

namespace myriad::testing {
namespace {

using namespace std::chrono_literals;

std::vector<std::string> ServeArgs(std::vector<std::string> extra = {}) {
  std::vector<std::string> args = {MYRIAD_BINARY, "serve", "--listen",     "127.0.0.1:0",
                                   "--threads",   "1",     "--access-log", "off"};
  args.insert(args.end(), extra.begin(), extra.end());
  return args;
}

TEST(ServeProcess, SigtermDrainsAndExitsZero) {
  ChildProcess child(ServeArgs());
  ASSERT_TRUE(child.WaitForOutput("listening on")) << child.output();
  auto port = ListeningPort(child.output());
  ASSERT_NE(port, 0) << child.output();

  HttpClient client(port);
  ASSERT_TRUE(client.Connect());
  auto ready = client.Request("GET", "/api/ready");
  ASSERT_TRUE(ready);
  EXPECT_EQ(ready->status, 200);

  child.Signal(SIGTERM);
  EXPECT_TRUE(client.WaitClosed()) << "the idle keep-alive connection is closed";
  auto status = child.Wait();
  ASSERT_TRUE(status) << child.output();
  EXPECT_EQ(*status, 0) << child.output();
  EXPECT_NE(child.output().find("drained"), std::string::npos) << child.output();
}

TEST(ServeProcess, SecondSignalExitsAtOnce) {
  ChildProcess child(ServeArgs({"--shutdown-timeout", "60s", "--header-timeout", "60s"}));
  ASSERT_TRUE(child.WaitForOutput("listening on")) << child.output();
  auto port = ListeningPort(child.output());
  // A half-sent request keeps the drain waiting.
  HttpClient slow(port);
  ASSERT_TRUE(slow.Connect());
  ASSERT_TRUE(slow.Send("GET /api/health HTTP/1.1\r\n"));
  ASSERT_TRUE(Eventually([&] {
    auto m = Get(port, "/metrics");
    return m && MetricValue(m->body, "http_connections_open") >= 2;
  }));

  child.Signal(SIGTERM);
  ASSERT_TRUE(child.WaitForOutput("draining")) << child.output();
  EXPECT_FALSE(child.Wait(300ms)) << "still draining the half-sent request";
  child.Signal(SIGTERM);
  auto status = child.Wait(10s);
  ASSERT_TRUE(status) << child.output();
  EXPECT_EQ(*status, 128 + SIGTERM);
}

TEST(ServeProcess, PortInUseIsAClearStartError) {
  // Another program (no SO_REUSEPORT) holds the port.
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  ASSERT_GE(fd, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  addr.sin_port = 0;
  ASSERT_EQ(bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)), 0);
  ASSERT_EQ(listen(fd, 16), 0);
  socklen_t len = sizeof(addr);
  getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len);
  const auto port = std::to_string(ntohs(addr.sin_port));

  ChildProcess child(
      {MYRIAD_BINARY, "serve", "--listen", "127.0.0.1:" + port, "--access-log", "off"});
  auto status = child.Wait();
  close(fd);
  ASSERT_TRUE(status);
  EXPECT_NE(*status, 0);
  EXPECT_NE(child.output().find("127.0.0.1:" + port), std::string::npos) << child.output();
}

TEST(ServeProcess, WarnsWhenOpenFilesLimitIsTooLow) {
  ChildProcess child(ServeArgs({"--max-connections", "5000"}), 1024);
  ASSERT_TRUE(child.WaitForOutput("listening on")) << child.output();
  EXPECT_NE(child.output().find("open-files limit is 1024"), std::string::npos) << child.output();
  child.Signal(SIGINT);
  auto status = child.Wait();
  ASSERT_TRUE(status);
  EXPECT_EQ(*status, 0);
}

// Opens `count` connections to `port` from 127.0.0.1, one request answered on each, so the
// server has admitted them; they stay open in `open`.
bool OpenServed(std::uint16_t port, int count, std::vector<std::unique_ptr<HttpClient>>& open) {
  for (int i = 0; i < count; ++i) {
    open.push_back(std::make_unique<HttpClient>(port));
    if (!open.back()->Connect()) return false;
    auto r = open.back()->Request("GET", "/api/health");
    if (!r || r->status != 200) return false;
  }
  return true;
}

TEST(ServeProcess, CapsConnectionsPerAddressByDefault) {
  ChildProcess child(ServeArgs());
  ASSERT_TRUE(child.WaitForOutput("listening on")) << child.output();
  const auto port = ListeningPort(child.output());
  std::vector<std::unique_ptr<HttpClient>> open;
  ASSERT_TRUE(OpenServed(port, 20, open)) << child.output();
  HttpClient extra(port);
  ASSERT_TRUE(extra.Connect());
  // Refused before any request is read: the answer comes without one.
  auto refused = extra.ReadResponse();
  ASSERT_TRUE(refused) << child.output();
  EXPECT_EQ(refused->status, 429);
  EXPECT_NE(refused->body.find("urn:myriad:problem:too-many-connections"), std::string::npos);
  open.clear();
  child.Signal(SIGTERM);
  auto status = child.Wait();
  ASSERT_TRUE(status);
  EXPECT_EQ(*status, 0) << child.output();
}

TEST(ServeProcess, TrustedProxiesAreNotCapped) {
  ChildProcess child(
      ServeArgs({"--max-connections-per-ip", "2", "--trusted-proxies", "127.0.0.0/8"}));
  ASSERT_TRUE(child.WaitForOutput("listening on")) << child.output();
  const auto port = ListeningPort(child.output());
  std::vector<std::unique_ptr<HttpClient>> open;
  EXPECT_TRUE(OpenServed(port, 5, open)) << child.output();
  open.clear();
  child.Signal(SIGTERM);
  auto status = child.Wait();
  ASSERT_TRUE(status);
  EXPECT_EQ(*status, 0) << child.output();
}

TEST(ServeProcess, UnwritableAccessLogStopsStart) {
  ChildProcess child({MYRIAD_BINARY, "serve", "--listen", "127.0.0.1:0", "--access-log",
                      "/proc/myriad-test/access.log"});
  auto status = child.Wait();
  ASSERT_TRUE(status);
  EXPECT_NE(*status, 0);
  EXPECT_NE(child.output().find("--access-log"), std::string::npos) << child.output();
}

}  // namespace
}  // namespace myriad::testing

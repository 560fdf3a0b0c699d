// The user cache and the rate limits end to end: the real `myriad serve` binary against a
// real PostgreSQL and a real Redis (the CTest fixtures' servers, or a private Redis for the
// tests that stop it). Each test has a schema of its own and a Redis key prefix of its own,
// so tests running side by side never see each other's keys.
#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <boost/json.hpp>
#include <chrono>
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "support/accounts_support.hpp"
#include "support/http_client.hpp"
#include "support/myriad_server.hpp"
#include "support/pg_support.hpp"
#include "support/redis_support.hpp"
#include "support/server_fixture.hpp"

namespace myriad::testing {
namespace {

namespace json = boost::json;
using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;
using Headers = std::vector<std::pair<std::string, std::string>>;

std::string Field(const std::string& body, std::string_view key) {
  boost::system::error_code ec;
  const json::value value = json::parse(body, ec);
  const auto* object = value.if_object();
  const auto* field = object != nullptr ? object->if_contains(key) : nullptr;
  if (field == nullptr) return "<absent>";
  return field->is_string() ? std::string(field->as_string()) : json::serialize(*field);
}

std::string RandomTag() {
  std::random_device rd;
  return std::to_string(rd() % 1'000'000'000);
}

class UserCacheTest : public ::testing::Test {
 protected:
  // A server with this test's key prefix; `redis_url` "" means the fixture's Redis.
  std::unique_ptr<MyriadServer> Start(std::vector<std::string> extra,
                                      const std::string& redis_url = "") {
    std::vector<std::string> args = {"--redis-url", redis_url.empty() ? TestRedisUrl() : redis_url,
                                     "--redis-key-prefix", prefix_};
    const auto signing = signer_.Flags();
    args.insert(args.end(), signing.begin(), signing.end());
    args.insert(args.end(), extra.begin(), extra.end());
    auto server = std::make_unique<MyriadServer>(schema_.url(), args);
    EXPECT_NE(server->port(), 0) << server->output();
    const auto port = server->port();
    EXPECT_TRUE(Eventually(
        [port] {
          auto ready = Call(port, "GET", "/api/ready");
          return ready && ready->status == 200;
        },
        20s))
        << "/api/ready never turned 200";
    return server;
  }

  // Users inserted through SQL (no invalidation tombstones in the cache); returns the ids.
  std::vector<std::int64_t> InsertUsers(int count) {
    const std::string first = schema_.Value(
        "WITH added AS (INSERT INTO users (email, name, password_hash) SELECT 'u' || g || '-" +
        RandomTag() + "@example.com', 'User ' || g, '!' FROM generate_series(1, " +
        std::to_string(count) + ") g RETURNING id) SELECT min(id) FROM added");
    std::vector<std::int64_t> ids;
    for (int i = 0; i < count; ++i) ids.push_back(std::stoll(first) + i);
    return ids;
  }

  std::string Key(std::int64_t id) const { return prefix_ + "user:v2:" + std::to_string(id); }
  redis::Reply Redis(const std::vector<std::string>& args) const {
    return RedisCall(TestRedisUrl(), args);
  }
  // A miss's fill of Redis is not awaited by the request it serves (LoadThrough), so it may
  // land just after the response: true once the key holds a value (5 s at most).
  bool Filled(std::int64_t id, const std::string& url = TestRedisUrl()) const {
    return Eventually([&] { return RedisCall(url, {"GET", Key(id)}).IsString(); }, 5s);
  }

  static double Metric(std::uint16_t port, const std::string& series) {
    auto response = Call(port, "GET", "/metrics");
    if (!response) return -2;
    return MetricValue(response->body, series);
  }
  static double Cache(std::uint16_t port, const std::string& layer, const std::string& outcome) {
    return Metric(port, "myriad_cache_requests_total{cache=\"user\",layer=\"" + layer +
                            "\",outcome=\"" + outcome + "\"}");
  }
  static double Loads(std::uint16_t port) {
    return Metric(port, "myriad_cache_loads_total{cache=\"user\"}");
  }
  // Database point selects; a histogram without samples is left out of /metrics.
  static double DbGets(std::uint16_t port) {
    return std::max(
        0.0, Metric(port, "myriad_db_query_duration_seconds_count{statement=\"users_get\"}"));
  }

  // How long the server on `port` still answers `path` with another name than `name`,
  // polling from now; a failure (and 5 s) when it never changes.
  Clock::duration StaleFor(std::uint16_t port, const std::string& path, std::int64_t id,
                           const std::string& name) const {
    const auto written = Clock::now();
    for (;;) {
      auto read = Call(port, "GET", path, {}, As(id));
      if (read && Field(read->body, "name") == name) return Clock::now() - written;
      if (Clock::now() - written >= 5s) {
        ADD_FAILURE() << "still not " << name << " after 5 s: the announcement never arrived";
        return 5s;
      }
      std::this_thread::sleep_for(10ms);
    }
  }

  // Reads as the user read (a user's own record is one cache lookup, as before access
  // control): the headers for reading `id`.
  Headers As(std::int64_t id) const { return {signer_.Bearer(id)}; }
  // An administrator (for writes), inserted with SQL.
  Headers AsAdmin() {
    if (admin_id_ == 0) {
      admin_id_ = std::stoll(
          schema_.Value("INSERT INTO users (email, name, password_hash, role) VALUES ('admin-" +
                        RandomTag() + "@example.com', 'Admin', '!', 1) RETURNING id"));
    }
    return {{"Content-Type", "application/json"}, signer_.Bearer(admin_id_, true)};
  }

  TestSchema schema_{"cache"};
  std::string prefix_ = "test" + RandomTag() + ":";
  TestSigner signer_;
  std::int64_t admin_id_ = 0;
};

TEST_F(UserCacheTest, MissThenRedisHitAndNegativeCaching) {
  auto server = Start({"--cache-local-entries", "0", "--threads", "1"});
  const auto port = server->port();
  const auto id = InsertUsers(1).at(0);
  const std::string path = "/api/users/" + std::to_string(id);

  auto first = Call(port, "GET", path, {}, As(id));
  ASSERT_TRUE(first);
  ASSERT_EQ(first->status, 200) << first->body;
  EXPECT_EQ(Cache(port, "redis", "miss"), 1);
  EXPECT_EQ(Loads(port), 1);
  ASSERT_TRUE(Filled(id));
  const auto stored = Redis({"GET", Key(id)});
  ASSERT_TRUE(stored.IsString());
  EXPECT_EQ(stored.str, "u2|" + first->body);
  const auto ttl = Redis({"PTTL", Key(id)});
  EXPECT_GE(ttl.integer, 265'000) << "the 5 min TTL, minus 10% jitter";
  EXPECT_LE(ttl.integer, 330'000);

  auto second = Call(port, "GET", path, {}, As(id));
  ASSERT_TRUE(second);
  EXPECT_EQ(second->status, 200);
  EXPECT_EQ(second->body, first->body);
  EXPECT_EQ(second->Header("ETag"), first->Header("ETag"));
  EXPECT_EQ(Cache(port, "redis", "hit"), 1);
  EXPECT_EQ(Loads(port), 1) << "the second read came from Redis";
  EXPECT_EQ(DbGets(port), 1);

  // A 304 is served from the cache too.
  auto not_modified =
      Call(port, "GET", path, {}, {As(id).front(), {"If-None-Match", *first->Header("ETag")}});
  ASSERT_TRUE(not_modified);
  EXPECT_EQ(not_modified->status, 304);

  const std::string missing = "/api/users/" + std::to_string(id + 1000);
  for (int i = 0; i < 2; ++i) {
    auto response = Call(port, "GET", missing, {}, As(id));
    ASSERT_TRUE(response);
    EXPECT_EQ(response->status, 404);
    ASSERT_TRUE(Filled(id + 1000));
  }
  EXPECT_EQ(Cache(port, "redis", "negative_hit"), 1);
  EXPECT_EQ(Loads(port), 2);
  EXPECT_EQ(Redis({"GET", Key(id + 1000)}).str, "u2|-");
  EXPECT_LE(Redis({"PTTL", Key(id + 1000)}).integer, 5'000) << "404s are cached briefly";
}

TEST_F(UserCacheTest, AWriterReadsItsOwnWritesWhileOthersRead) {
  auto server = Start({});
  const auto port = server->port();
  const auto id = InsertUsers(1).at(0);
  const std::string path = "/api/users/" + std::to_string(id);

  // Readers keep the cache busy (fills racing the writes) the whole time.
  std::atomic<bool> stop{false};
  std::atomic<int> reader_errors{0};
  std::vector<std::jthread> readers;
  for (int r = 0; r < 4; ++r) {
    readers.emplace_back([&] {
      HttpClient client(port);
      if (!client.Connect()) {
        ++reader_errors;
        return;
      }
      while (!stop) {
        auto response = client.Request("GET", path, {}, As(id));
        if (!response || response->status != 200) {
          ++reader_errors;
          ADD_FAILURE() << "reader got " << (response ? response->body : "no answer");
          if (!response) return;
        }
      }
    });
  }
  // The readers stop however the test ends (an ASSERT below returns early).
  struct StopOnExit {
    std::atomic<bool>& flag;
    ~StopOnExit() { flag = true; }
  } stop_on_exit{stop};
  const Headers as_admin = AsAdmin();
  HttpClient writer(port);
  ASSERT_TRUE(writer.Connect());
  for (int i = 1; i <= 40; ++i) {
    const std::string name = "Name " + std::to_string(i);
    auto patched = writer.Request("PATCH", path, R"({"name":")" + name + R"("})", as_admin);
    ASSERT_TRUE(patched);
    ASSERT_EQ(patched->status, 200) << patched->body;
    auto read = writer.Request("GET", path, {}, as_admin);
    ASSERT_TRUE(read);
    EXPECT_EQ(Field(read->body, "name"), name) << "round " << i;
    EXPECT_EQ(read->Header("ETag"), patched->Header("ETag")) << "round " << i;
  }
  stop = true;
  readers.clear();
  auto deleted = writer.Request("DELETE", path, {}, as_admin);
  ASSERT_TRUE(deleted);
  EXPECT_EQ(deleted->status, 204);
  auto gone = writer.Request("GET", path, {}, as_admin);
  ASSERT_TRUE(gone);
  EXPECT_EQ(gone->status, 404);
  EXPECT_EQ(reader_errors.load(), 0);
  EXPECT_GE(Metric(port, "myriad_cache_invalidations_total{cache=\"user\",outcome=\"ok\"}"), 41);
  EXPECT_EQ(Redis({"GET", Key(id)}).str, "u2|~") << "a tombstone holds off stale fills";
}

TEST_F(UserCacheTest, AnotherInstanceDropsItsCopyWhenItHearsOfTheWrite) {
  // In-process entries would live ten minutes: only the invalidation feed can refresh B.
  auto a = Start({"--cache-local-ttl", "10m"});
  auto b = Start({"--cache-local-ttl", "10m"});
  ASSERT_TRUE(Eventually(
      [&] { return Metric(b->port(), "myriad_cache_invalidation_feed_up{cache=\"user\"}") == 1; },
      10s));
  const auto id = InsertUsers(1).at(0);
  const std::string path = "/api/users/" + std::to_string(id);
  auto before = Call(b->port(), "GET", path, {}, As(id));  // B caches it (in process and in Redis)
  ASSERT_TRUE(before);
  ASSERT_EQ(before->status, 200);
  const double local_hits = Cache(b->port(), "local", "hit");
  ASSERT_EQ(Field(Call(b->port(), "GET", path, {}, As(id))->body, "name"),
            Field(before->body, "name"));
  ASSERT_EQ(Cache(b->port(), "local", "hit"), local_hits + 1) << "B serves it from its process";

  auto patched = Call(a->port(), "PATCH", path, R"({"name":"Changed By A"})", AsAdmin());
  ASSERT_TRUE(patched);
  ASSERT_EQ(patched->status, 200);
  const auto stale_for = StaleFor(b->port(), path, id, "Changed By A");
  // Delivery is a Redis round trip; the bound is slack for a busy machine, far below the TTL.
  EXPECT_LT(stale_for, 2s);
  EXPECT_GE(Metric(b->port(),
                   "myriad_cache_invalidations_received_total{cache=\"user\",outcome=\"applied\"}"),
            1);
}

// A profile update writes the new version through instead of leaving a tombstone: the
// writer's next reads, and another instance's, need no database query.
TEST_F(UserCacheTest, AnUpdateIsWrittenThroughToBothLayersAndOtherInstances) {
  auto a = Start({"--cache-local-ttl", "10m"});
  auto b = Start({"--cache-local-ttl", "10m"});
  for (const auto* server : {a.get(), b.get()}) {
    ASSERT_TRUE(Eventually(
        [&] {
          return Metric(server->port(), "myriad_cache_invalidation_feed_up{cache=\"user\"}") == 1;
        },
        10s));
  }
  const auto id = InsertUsers(1).at(0);
  const std::string path = "/api/users/" + std::to_string(id);
  auto before = Call(b->port(), "GET", path, {}, As(id));  // B holds version 1
  ASSERT_TRUE(before);
  ASSERT_EQ(before->status, 200);
  ASSERT_TRUE(Filled(id));  // and so does Redis, so the write-through replaces a value
  const double b_gets = DbGets(b->port());

  auto patched = Call(a->port(), "PATCH", path, R"({"name":"Written Through"})", AsAdmin());
  ASSERT_TRUE(patched);
  ASSERT_EQ(patched->status, 200) << patched->body;
  const double a_gets = DbGets(a->port());  // the administrator's own lookup counts in it
  EXPECT_EQ(Field(patched->body, "version"), "2");
  const auto stored = Redis({"GET", Key(id)});
  ASSERT_TRUE(stored.IsString());
  EXPECT_EQ(stored.str, "u2|" + patched->body) << "Redis holds the new version, not a tombstone";
  EXPECT_GE(Redis({"PTTL", Key(id)}).integer, 265'000);

  auto mine = Call(a->port(), "GET", path, {}, As(id));
  ASSERT_TRUE(mine);
  EXPECT_EQ(mine->body, patched->body);
  EXPECT_EQ(mine->Header("ETag"), patched->Header("ETag"));
  EXPECT_LT(StaleFor(b->port(), path, id, "Written Through"), 2s);
  EXPECT_EQ(DbGets(a->port()), a_gets) << "the writer read its write from its own process";
  EXPECT_EQ(DbGets(b->port()), b_gets) << "the other instance read the new version from Redis";
}

// An announced version that Redis does not hold yet (the writer's write-through was lost):
// the reader must not take Redis's older copy, so it asks the database.
TEST_F(UserCacheTest, AnAnnouncedVersionRedisLacksIsReadFromTheDatabase) {
  auto server = Start({"--cache-local-ttl", "10m"});
  const auto port = server->port();
  ASSERT_TRUE(Eventually(
      [&] { return Metric(port, "myriad_cache_invalidation_feed_up{cache=\"user\"}") == 1; }, 10s));
  const auto id = InsertUsers(1).at(0);
  const std::string path = "/api/users/" + std::to_string(id);
  auto before = Call(port, "GET", path, {}, As(id));  // version 1, in process and in Redis
  ASSERT_TRUE(before);
  ASSERT_EQ(before->status, 200);
  ASSERT_TRUE(Filled(id));
  schema_.Value("UPDATE users SET name = 'Changed Elsewhere', version = 2 WHERE id = " +
                std::to_string(id) + " RETURNING id");
  const double gets = DbGets(port);
  const auto heard =
      Redis({"PUBLISH", prefix_ + "user:v1:invalidations", std::to_string(id) + ":2"});
  ASSERT_EQ(heard.integer, 1) << "one subscriber: this server";
  ASSERT_TRUE(Eventually(
      [&] {
        return Field(Call(port, "GET", path, {}, As(id))->body, "name") == "Changed Elsewhere";
      },
      5s))
      << "Redis's version 1 was served after version 2 was announced";
  EXPECT_EQ(DbGets(port), gets + 1);
  // Once read, version 2 is cached again: no more queries.
  EXPECT_EQ(Field(Call(port, "GET", path, {}, As(id))->body, "version"), "2");
  EXPECT_EQ(DbGets(port), gets + 1);
  // A stale announcement (version 1) after that changes nothing.
  Redis({"PUBLISH", prefix_ + "user:v1:invalidations", std::to_string(id) + ":1"});
  std::this_thread::sleep_for(200ms);
  EXPECT_EQ(Field(Call(port, "GET", path, {}, As(id))->body, "name"), "Changed Elsewhere");
  EXPECT_EQ(DbGets(port), gets + 1);
}

TEST_F(UserCacheTest, LosingTheFeedCutsInProcessEntriesToTheDegradedTtl) {
  PrivateRedis redis;
  ASSERT_FALSE(redis.url().empty()) << "could not start a private Redis";
  auto server =
      Start({"--cache-local-ttl", "10m", "--cache-local-ttl-degraded", "1s"}, redis.url());
  const auto port = server->port();
  ASSERT_TRUE(Eventually(
      [&] { return Metric(port, "myriad_cache_invalidation_feed_up{cache=\"user\"}") == 1; }, 10s));
  const auto id = InsertUsers(1).at(0);
  const std::string path = "/api/users/" + std::to_string(id);
  auto before = Call(port, "GET", path, {}, As(id));
  ASSERT_TRUE(before);
  ASSERT_EQ(before->status, 200);
  ASSERT_TRUE(Filled(id, redis.url()));  // before the DEL below, which must win

  // A change nobody announces (straight into the database, and out of Redis): while the
  // feed is live the in-process copy is trusted for its full TTL...
  schema_.Value("UPDATE users SET name = 'Changed Unannounced', version = version + 1 WHERE id = " +
                std::to_string(id) + " RETURNING id");
  RedisCall(redis.url(), {"DEL", Key(id)});
  std::this_thread::sleep_for(1500ms);
  EXPECT_EQ(Field(Call(port, "GET", path, {}, As(id))->body, "name"), Field(before->body, "name"));

  // ...but once the subscription is lost (messages may have been missed), only for the
  // degraded TTL, even though it comes back at once.
  const auto killed = RedisCall(redis.url(), {"CLIENT", "KILL", "TYPE", "pubsub"});
  ASSERT_EQ(killed.integer, 1) << "one subscriber: this server's";
  const auto lost = Clock::now();
  Clock::duration stale_for{};
  for (;;) {
    auto read = Call(port, "GET", path, {}, As(id));
    ASSERT_TRUE(read);
    if (Field(read->body, "name") == "Changed Unannounced") break;
    stale_for = Clock::now() - lost;
    ASSERT_LT(stale_for, 5s) << "the in-process copy outlived the degraded TTL";
    std::this_thread::sleep_for(20ms);
  }
  EXPECT_GE(stale_for, 500ms) << "entries are cut to the degraded TTL, not dropped";
  EXPECT_TRUE(Eventually(
      [&] { return Metric(port, "myriad_cache_invalidation_feed_up{cache=\"user\"}") == 1; }, 10s))
      << "the subscription is back";
}

TEST_F(UserCacheTest, ABurstOfMissesMakesOneDatabaseQuery) {
  auto server = Start({"--threads", "2"});
  const auto port = server->port();
  const auto id = InsertUsers(1).at(0);
  const std::string path = "/api/users/" + std::to_string(id);
  const double gets_before = DbGets(port);

  // The table locked: the first miss's query waits, and every other request joins it.
  PgSession locker(schema_.url());
  ASSERT_TRUE(locker.connected());
  ASSERT_EQ(locker.Exec("BEGIN"), "");
  ASSERT_EQ(locker.Exec("LOCK TABLE users IN ACCESS EXCLUSIVE MODE"), "");
  constexpr int kClients = 40;
  std::vector<std::optional<HttpResponse>> responses(kClients);
  std::vector<std::jthread> clients;
  for (int i = 0; i < kClients; ++i) {
    clients.emplace_back([&, i] { responses[i] = Call(port, "GET", path, {}, As(id)); });
  }
  EXPECT_TRUE(Eventually(
      [&] { return Metric(port, "myriad_cache_load_waits_total{cache=\"user\"}") == kClients - 1; },
      10s))
      << "every request but the first waits for the first one's load";
  ASSERT_EQ(locker.Exec("ROLLBACK"), "");
  clients.clear();
  for (int i = 0; i < kClients; ++i) {
    ASSERT_TRUE(responses[i]) << i;
    EXPECT_EQ(responses[i]->status, 200) << responses[i]->body;
  }
  EXPECT_EQ(DbGets(port) - gets_before, 1) << "one database query for " << kClients << " misses";
  EXPECT_EQ(Loads(port), 1);
}

TEST_F(UserCacheTest, CorruptOrForeignValuesAreIgnoredNotServed) {
  auto server = Start({"--cache-local-entries", "0", "--threads", "1"});
  const auto port = server->port();
  const auto id = InsertUsers(1).at(0);
  const std::string path = "/api/users/" + std::to_string(id);
  auto truth = Call(port, "GET", path, {}, As(id));
  ASSERT_TRUE(truth);
  ASSERT_EQ(truth->status, 200);
  ASSERT_TRUE(Filled(id));
  const std::string good = truth->body;
  std::string other_id = good;
  other_id.replace(other_id.find(std::to_string(id)), std::to_string(id).size(),
                   std::to_string(id + 1));
  const std::vector<std::string> bad = {
      "garbage",
      "\x80\x04\x95pickled",
      "u1|" + good,                                                     // another schema version
      "u2|" + other_id,                                                 // someone else's user
      "u2|" + good.substr(0, good.size() / 2),                          // truncated
      "u2|" + good.substr(0, good.size() - 1) + ",\"is_admin\":true}",  // a field too many
  };
  double corrupt = Cache(port, "redis", "corrupt");
  for (const auto& value : bad) {
    ASSERT_TRUE(Redis({"SET", Key(id), value}).IsOk());
    auto read = Call(port, "GET", path, {}, As(id));
    ASSERT_TRUE(read);
    EXPECT_EQ(read->status, 200);
    EXPECT_EQ(read->body, good) << "served a bad cached value: " << value;
    EXPECT_EQ(Cache(port, "redis", "corrupt"), corrupt + 1) << value;
    corrupt += 1;
    EXPECT_NE(Redis({"GET", Key(id)}).str, value) << "the bad value was left in place";
  }
  // A well-formed value is trusted: the key read above is the one the cache uses.
  std::string forged = good;
  forged.replace(forged.find(Field(good, "name")), Field(good, "name").size(), "Forged Name");
  ASSERT_TRUE(Redis({"SET", Key(id), "u2|" + forged}).IsOk());
  auto read = Call(port, "GET", path, {}, As(id));
  ASSERT_TRUE(read);
  EXPECT_EQ(Field(read->body, "name"), "Forged Name");
}

TEST_F(UserCacheTest, RedisKilledAndRestartedUnderTrafficCostsNoErrors) {
  PrivateRedis redis;
  ASSERT_FALSE(redis.url().empty()) << "could not start a private Redis";
  auto server = Start({"--redis-timeout", "100ms", "--cache-local-ttl", "200ms",
                       "--cache-local-ttl-degraded", "200ms"},
                      redis.url());
  const auto port = server->port();
  const auto ids = InsertUsers(50);

  std::atomic<bool> stop{false};
  std::mutex mutex;
  std::map<int, int> statuses;  // -1: no answer
  auto reader = [&](unsigned seed) {
    std::mt19937 rng(seed);
    HttpClient client(port);
    bool connected = client.Connect();
    while (!stop) {
      const auto id = ids[rng() % ids.size()];
      std::optional<HttpResponse> response;
      if (connected) {
        response = client.Request("GET", "/api/users/" + std::to_string(id), {}, As(id));
      }
      std::lock_guard lock(mutex);
      ++statuses[response ? response->status : -1];
      if (!response) connected = client.Connect();
    }
  };
  // The writer checks its own writes through the outage (invalidations are deferred).
  std::atomic<int> stale_reads{0};
  const Headers as_admin = AsAdmin();
  auto writer = [&] {
    HttpClient client(port);
    if (!client.Connect()) return;
    for (int i = 0; !stop; ++i) {
      const std::string name = "Writer " + std::to_string(i);
      // The first ten users only: the others keep being cached after Redis is back.
      const std::string path = "/api/users/" + std::to_string(ids[i % 10]);
      auto patched = client.Request("PATCH", path, R"({"name":")" + name + R"("})", as_admin);
      auto read = client.Request("GET", path, {}, as_admin);
      std::lock_guard lock(mutex);
      ++statuses[patched ? patched->status : -1];
      ++statuses[read ? read->status : -1];
      if (read && Field(read->body, "name") != name) ++stale_reads;
      std::this_thread::sleep_for(20ms);
    }
  };
  std::vector<std::jthread> traffic;
  for (unsigned r = 0; r < 3; ++r) traffic.emplace_back(reader, r);
  traffic.emplace_back(writer);

  auto ready_says = [port](std::string_view state) {
    auto ready = Call(port, "GET", "/api/ready");
    return ready && ready->status == 200 &&
           ready->body.find(std::string("\"cache\":\"") + std::string(state) + "\"") !=
               std::string::npos;
  };
  std::this_thread::sleep_for(1s);
  const double hits_before = Cache(port, "redis", "hit");
  EXPECT_GT(hits_before, 0);
  ASSERT_TRUE(redis.Stop());
  EXPECT_TRUE(Eventually([&] { return ready_says("degraded"); }, 10s))
      << "/api/ready reports the cache as degraded (and stays 200)";
  std::this_thread::sleep_for(1500ms);
  ASSERT_TRUE(redis.Start());
  EXPECT_TRUE(Eventually([&] { return ready_says("up"); }, 10s)) << "Redis picked up again";
  const double hits_at_restart = Cache(port, "redis", "hit");
  std::this_thread::sleep_for(1500ms);
  stop = true;
  traffic.clear();

  int total = 0;
  for (const auto& [status, count] : statuses) {
    total += count;
    EXPECT_EQ(status, 200) << count << " answer(s) with status " << status << " (-1: none)";
  }
  EXPECT_GT(total, 200);
  EXPECT_EQ(stale_reads.load(), 0) << "a writer read an old value back";
  EXPECT_GT(Cache(port, "redis", "hit"), hits_at_restart) << "the cache works again";
  EXPECT_GT(Metric(port, "myriad_cache_invalidations_total{cache=\"user\",outcome=\"deferred\"}"),
            0);
  EXPECT_GT(Metric(port, "myriad_redis_connects_total"), 2);
}

// --- rate limits -------------------------------------------------------------------------

struct Tally {
  int allowed = 0;
  int limited = 0;
  int other = 0;
  std::optional<HttpResponse> a_429;
  std::optional<HttpResponse> a_200;
};

// `per_thread` GETs from each of `threads` clients, spread over `ports`, as fast as they go.
// Without credentials in `headers` the answers are 401s: those are limited per client address,
// which is what the tests below are about.
Tally Hammer(const std::vector<std::uint16_t>& ports, const std::string& path, int threads,
             int per_thread, const std::function<Headers(int)>& headers = {}) {
  Tally tally;
  std::mutex mutex;
  std::vector<std::jthread> clients;
  for (int t = 0; t < threads; ++t) {
    clients.emplace_back([&, t] {
      HttpClient client(ports[t % ports.size()]);
      if (!client.Connect()) return;
      for (int i = 0; i < per_thread; ++i) {
        auto response =
            client.Request("GET", path, {}, headers ? headers(t * per_thread + i) : Headers{});
        std::lock_guard lock(mutex);
        if (!response) {
          ++tally.other;
        } else if (response->status == 200 || response->status == 401) {
          // Anonymous requests (401) are limited per address like any other.
          ++tally.allowed;
          if (!tally.a_200) tally.a_200 = response;
        } else if (response->status == 429) {
          ++tally.limited;
          if (!tally.a_429) tally.a_429 = response;
        } else {
          ++tally.other;
        }
      }
    });
  }
  return tally;
}

TEST_F(UserCacheTest, RateLimitHoldsAcrossTwoInstancesSharingRedis) {
  const std::vector<std::string> limits = {"--rate-limit",       "on", "--rate-limit-rate", "1",
                                           "--rate-limit-burst", "20"};
  auto a = Start(limits);
  auto b = Start(limits);
  const auto id = InsertUsers(1).at(0);
  const auto started = Clock::now();
  const Tally tally = Hammer({a->port(), b->port()}, "/api/users/" + std::to_string(id), 8, 15);
  const double seconds = std::chrono::duration<double>(Clock::now() - started).count();
  EXPECT_EQ(tally.other, 0);
  EXPECT_EQ(tally.allowed + tally.limited, 120);
  // One bucket of 20 for both instances, refilled at 1/s while the burst lasted.
  EXPECT_GE(tally.allowed, 20);
  EXPECT_LE(tally.allowed, 20 + static_cast<int>(seconds) + 1) << "over " << seconds << " s";

  ASSERT_TRUE(tally.a_429);
  const HttpResponse& denied = *tally.a_429;
  EXPECT_EQ(denied.Header("Content-Type"), "application/problem+json");
  EXPECT_EQ(Field(denied.body, "type"), "urn:myriad:problem:too-many-requests");
  ASSERT_TRUE(denied.Header("Retry-After"));
  EXPECT_GE(std::stoi(*denied.Header("Retry-After")), 1);
  EXPECT_EQ(denied.Header("RateLimit-Limit"), "20");
  EXPECT_EQ(denied.Header("RateLimit-Remaining"), "0");
  ASSERT_TRUE(denied.Header("RateLimit-Reset"));
  EXPECT_GE(std::stoi(*denied.Header("RateLimit-Reset")), 1);
  ASSERT_TRUE(tally.a_200);
  EXPECT_EQ(tally.a_200->Header("RateLimit-Limit"), "20");
  for (auto port : {a->port(), b->port()}) {
    EXPECT_GT(Metric(port,
                     "myriad_rate_limit_decisions_total{group=\"users-read\",outcome="
                     "\"limited\",store=\"redis\"}"),
              0);
  }
  // Another route group has a bucket of its own.
  auto write = Call(a->port(), "PATCH", "/api/users/" + std::to_string(id),
                    R"({"name":"Still Allowed"})", AsAdmin());
  ASSERT_TRUE(write);
  EXPECT_EQ(write->status, 200) << write->body;
}

TEST_F(UserCacheTest, AuthenticatedCallersAreLimitedPerUserNotPerAddress) {
  auto server = Start({"--rate-limit", "on", "--rate-limit-rate", "1", "--rate-limit-burst", "5"});
  const auto ids = InsertUsers(3);
  const std::string path = "/api/users/" + std::to_string(ids[0]);
  // Three users behind one address, 10 requests each, each with its token: one bucket per
  // user (a token's first request is counted by address: it is verified after the limit).
  const std::vector<Headers> tokens = {As(ids[0]), As(ids[1]), As(ids[2])};
  const Tally tally = Hammer({server->port()}, path, 3, 10, [&](int i) { return tokens[i / 10]; });
  EXPECT_EQ(tally.other, 0);
  EXPECT_GE(tally.allowed, 15) << "each user has a burst of 5 of their own";
  EXPECT_LE(tally.allowed, 24);
  EXPECT_GE(tally.limited, 6);
}

TEST_F(UserCacheTest, ForwardedForCountsOnlyFromTrustedProxies) {
  const std::vector<std::string> limits = {"--rate-limit",       "on", "--rate-limit-rate", "1",
                                           "--rate-limit-burst", "5"};
  std::string path;
  auto spoofed = [](int i) {
    return Headers{{"X-Forwarded-For", "198.51.100." + std::to_string(i)}};
  };
  {
    auto untrusting = Start(limits);
    path = "/api/users/" + std::to_string(InsertUsers(1).at(0));
    const Tally tally = Hammer({untrusting->port()}, path, 2, 15, spoofed);
    EXPECT_LE(tally.allowed, 7) << "a spoofed X-Forwarded-For bought a fresh bucket";
    EXPECT_GE(tally.limited, 23);
  }
  std::vector<std::string> trusting = limits;
  trusting.insert(trusting.end(), {"--trusted-proxies", "127.0.0.1"});
  auto proxied = Start(trusting);
  const Tally tally = Hammer({proxied->port()}, path, 2, 15, spoofed);
  EXPECT_EQ(tally.allowed, 30) << "behind a trusted proxy each forwarded client has its bucket";
}

TEST_F(UserCacheTest, RateLimitsFallBackToLocalBucketsWhenRedisIsDown) {
  PrivateRedis redis;
  ASSERT_FALSE(redis.url().empty());
  const std::string url = redis.url();
  ASSERT_TRUE(redis.Stop());
  auto server =
      Start({"--rate-limit", "on", "--rate-limit-rate", "1", "--rate-limit-burst", "5"}, url);
  const auto port = server->port();
  const auto id = InsertUsers(1).at(0);
  auto ready = Call(port, "GET", "/api/ready");
  ASSERT_TRUE(ready);
  EXPECT_EQ(ready->status, 200);
  EXPECT_NE(ready->body.find("\"cache\":\"degraded\""), std::string::npos) << ready->body;
  const Tally tally = Hammer({port}, "/api/users/" + std::to_string(id), 2, 10);
  EXPECT_EQ(tally.other, 0);
  EXPECT_GE(tally.allowed, 5);
  EXPECT_LE(tally.allowed, 7);
  EXPECT_GT(Metric(port,
                   "myriad_rate_limit_decisions_total{group=\"users-read\",outcome="
                   "\"limited\",store=\"local\"}"),
            0);
}

}  // namespace
}  // namespace myriad::testing

// `myriad admin create` and `myriad outbox list` as real processes against a real
// PostgreSQL: each test migrates a schema of its own with `myriad migrate` and points the
// commands at it through --database-url.
#include <gtest/gtest.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "support/pg_support.hpp"
#include "support/process.hpp"

namespace myriad::testing {
namespace {

using namespace std::chrono_literals;

constexpr std::string_view kPassword = "correct horse battery staple";

struct Outcome {
  std::optional<int> status;
  std::string output;  // stdout and stderr together
};

Outcome RunProcess(std::vector<std::string> argv) {
  ChildProcess child(std::move(argv));
  // Wait() also reads what is left in the pipe once the process has exited.
  auto status = child.Wait(60s);
  return {status, child.output()};
}

class AdminCommandTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = std::filesystem::temp_directory_path() /
           ("myriad_admin_" + std::to_string(getpid()) + "_" + schema_.name());
    std::filesystem::create_directories(dir_);
  }
  void TearDown() override {
    std::error_code ignored;
    std::filesystem::remove_all(dir_, ignored);
  }

  void Migrate() {
    auto outcome = RunProcess({MYRIAD_BINARY, "migrate", "--database-url", schema_.url(),
                               "--migrations-dir", std::string(MYRIAD_SOURCE_DIR) + "/migrations"});
    ASSERT_EQ(outcome.status, 0) << outcome.output;
  }

  // A file holding `content`, for --password-file or stdin.
  std::string File(const std::string& name, std::string_view content) const {
    const auto path = dir_ / name;
    std::ofstream(path) << content;
    return path.string();
  }

  std::vector<std::string> Command(std::vector<std::string> args) const {
    std::vector<std::string> argv = {MYRIAD_BINARY};
    argv.insert(argv.end(), args.begin(), args.end());
    argv.insert(argv.end(), {"--database-url", schema_.url()});
    return argv;
  }

  Outcome CreateFromFile(const std::string& email, std::string_view password) const {
    return RunProcess(Command({"admin", "create", "--email", email, "--password-file",
                               File("password.txt", std::string(password) + "\n")}));
  }

  std::string Value(const std::string& sql) const { return schema_.Value(sql); }

  TestSchema schema_{"test_admin_cmd"};
  std::filesystem::path dir_;
};

TEST_F(AdminCommandTest, CreatesAnAdminFromAPasswordFile) {
  Migrate();
  auto outcome = CreateFromFile("Root@Example.COM", kPassword);
  ASSERT_EQ(outcome.status, 0) << outcome.output;
  const std::string id = Value("SELECT id FROM users WHERE email = 'root@example.com'");
  ASSERT_FALSE(id.empty());
  EXPECT_NE(outcome.output.find("created admin " + id + " root@example.com"), std::string::npos)
      << outcome.output;
  EXPECT_EQ(outcome.output.find(kPassword), std::string::npos) << "the password is never printed";
  EXPECT_EQ(Value("SELECT role FROM users WHERE id = " + id), "1");
  EXPECT_EQ(Value("SELECT name FROM users WHERE id = " + id), "root");
  EXPECT_EQ(Value("SELECT password_hash LIKE '$argon2id$%' FROM users WHERE id = " + id), "t");
  EXPECT_EQ(Value("SELECT count(*) FROM audit_events WHERE action = 'admin.created' AND "
                  "actor_id IS NULL AND target_id = " +
                  id),
            "1");
}

TEST_F(AdminCommandTest, ReadsThePasswordFromStdinAndTakesAName) {
  Migrate();
  const std::string stdin_file = File("stdin.txt", std::string(kPassword) + "\nignored\n");
  std::vector<std::string> argv = {"/bin/sh", "-c", R"(exec "$@" < "$0")", stdin_file};
  for (auto& arg : Command({"admin", "create", "--email", "ops@example.com", "--name", "Ops"})) {
    argv.push_back(std::move(arg));
  }
  auto outcome = RunProcess(std::move(argv));
  ASSERT_EQ(outcome.status, 0) << outcome.output;
  EXPECT_EQ(outcome.output.find(kPassword), std::string::npos) << outcome.output;
  EXPECT_EQ(Value("SELECT name || ' ' || role FROM users WHERE email = 'ops@example.com'"),
            "Ops 1");
  EXPECT_EQ(Value("SELECT password_hash LIKE '$argon2id$%' FROM users"), "t");
}

TEST_F(AdminCommandTest, ADuplicateEmailExitsOneWithAMessage) {
  Migrate();
  ASSERT_EQ(CreateFromFile("root@example.com", kPassword).status, 0);
  auto outcome = CreateFromFile("ROOT@example.com", kPassword);
  EXPECT_EQ(outcome.status, 1) << outcome.output;
  EXPECT_NE(outcome.output.find("a user with that email already exists"), std::string::npos)
      << outcome.output;
  EXPECT_EQ(Value("SELECT count(*) FROM users"), "1");
  EXPECT_EQ(Value("SELECT count(*) FROM audit_events"), "1");
}

TEST_F(AdminCommandTest, RefusesABadPasswordAndInsertsNothing) {
  Migrate();
  for (const std::string password : {"short", "", "root@example.com", "Root@Example.com"}) {
    auto outcome = CreateFromFile("root@example.com", password);
    EXPECT_NE(outcome.status, 0) << password << ": " << outcome.output;
    EXPECT_NE(outcome.output.find("password"), std::string::npos) << outcome.output;
  }
  EXPECT_EQ(Value("SELECT count(*) FROM users"), "0");
  EXPECT_EQ(Value("SELECT count(*) FROM audit_events"), "0");
}

TEST_F(AdminCommandTest, RefusesABadEmail) {
  Migrate();
  auto outcome = CreateFromFile("not-an-email", kPassword);
  EXPECT_EQ(outcome.status, 1) << outcome.output;
  EXPECT_NE(outcome.output.find("--email"), std::string::npos) << outcome.output;
  EXPECT_EQ(Value("SELECT count(*) FROM users"), "0");
}

TEST_F(AdminCommandTest, AnUnmigratedDatabaseIsAClearError) {
  auto outcome = CreateFromFile("root@example.com", kPassword);
  EXPECT_EQ(outcome.status, 1) << outcome.output;
  EXPECT_NE(outcome.output.find("myriad migrate"), std::string::npos) << outcome.output;
  auto listed = RunProcess(Command({"outbox", "list"}));
  EXPECT_EQ(listed.status, 1) << listed.output;
  EXPECT_NE(listed.output.find("myriad migrate"), std::string::npos) << listed.output;
}

TEST_F(AdminCommandTest, OutboxListShowsMessagesNewestFirst) {
  Migrate();
  auto empty = RunProcess(Command({"outbox", "list"}));
  ASSERT_EQ(empty.status, 0) << empty.output;
  EXPECT_NE(empty.output.find("(no messages)"), std::string::npos) << empty.output;

  ASSERT_EQ(Sql(schema_.url(),
                "INSERT INTO outbox (kind, recipient, subject, body) VALUES "
                "('verify_email', 'old@example.com', 'Older', 'first body'), "
                "('reset_password', 'bob@example.com', 'Reset your password', "
                "E'Hello Bob,\\nopen https://example.com/reset?token=abc\\n')"),
            "");
  auto listed = RunProcess(Command({"outbox", "list"}));
  ASSERT_EQ(listed.status, 0) << listed.output;
  const auto& out = listed.output;
  EXPECT_NE(out.find("reset_password to bob@example.com"), std::string::npos) << out;
  EXPECT_NE(out.find("subject: Reset your password\n"), std::string::npos) << out;
  EXPECT_NE(out.find("\n    Hello Bob,\n    open https://example.com/reset?token=abc\n"),
            std::string::npos)
      << out;
  EXPECT_LT(out.find("bob@example.com"), out.find("old@example.com")) << "newest first: " << out;
  EXPECT_EQ(out.find("(no messages)"), std::string::npos) << out;

  auto limited = RunProcess(Command({"outbox", "list", "--limit", "1"}));
  ASSERT_EQ(limited.status, 0) << limited.output;
  EXPECT_NE(limited.output.find("bob@example.com"), std::string::npos) << limited.output;
  EXPECT_EQ(limited.output.find("old@example.com"), std::string::npos) << limited.output;
}

}  // namespace
}  // namespace myriad::testing

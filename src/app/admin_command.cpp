#include "app/admin_command.hpp"

#include <fmt/core.h>
#include <sodium.h>
#include <termios.h>
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <exception>
#include <fstream>
#include <iostream>
#include <optional>
#include <stdexcept>
#include <string>
#include <utility>

#include "app/run_loop.hpp"
#include "auth/password.hpp"
#include "db/pg_pool.hpp"
#include "users/user.hpp"
#include "users/user_input.hpp"
#include "users/user_store.hpp"

namespace myriad::app {
namespace {

namespace asio = boost::asio;
using Clock = db::PgPool::Clock;
using CreateResult = core::Result<users::User, std::string>;

constexpr auto kQueryTimeout = std::chrono::seconds(30);
constexpr std::string_view kAuditAction = "admin.created";
constexpr std::string_view kNotMigrated =
    "the database is not migrated (no users or audit_events table): run `myriad migrate` first";
// Both tables must be there before anything is written: with users alone (migrations
// before 0003) the insert would succeed and the audit row would not.
constexpr std::string_view kMigratedSql =
    "SELECT to_regclass('users') IS NOT NULL AND to_regclass('audit_events') IS NOT NULL";

// Wipes the password when the command is done with it. std::string may have reallocated
// while reading, so this is best effort; it keeps the final copy out of freed memory.
class WipedString {
 public:
  WipedString() = default;
  ~WipedString() { sodium_memzero(value_.data(), value_.size()); }
  WipedString(const WipedString&) = delete;
  WipedString& operator=(const WipedString&) = delete;
  WipedString(WipedString&&) = delete;
  WipedString& operator=(WipedString&&) = delete;

  std::string& value() { return value_; }

 private:
  std::string value_;
};

// Turns terminal echo off for its lifetime, so a typed password does not show.
class EchoOff {
 public:
  explicit EchoOff(int fd) : fd_(fd) {
    if (tcgetattr(fd_, &saved_) != 0) {
      return;
    }
    termios quiet = saved_;
    quiet.c_lflag &= ~static_cast<tcflag_t>(ECHO);
    active_ = tcsetattr(fd_, TCSAFLUSH, &quiet) == 0;
  }
  ~EchoOff() {
    if (active_) {
      tcsetattr(fd_, TCSAFLUSH, &saved_);
    }
  }
  EchoOff(const EchoOff&) = delete;
  EchoOff& operator=(const EchoOff&) = delete;
  EchoOff(EchoOff&&) = delete;
  EchoOff& operator=(EchoOff&&) = delete;

 private:
  int fd_;
  termios saved_{};
  bool active_ = false;
};

void StripLineEnding(std::string& line) {
  if (!line.empty() && line.back() == '\r') {
    line.pop_back();
  }
}

// The first line of the file or of stdin into `password`; an error message otherwise.
std::optional<std::string> ReadPassword(const AdminCreateSettings& settings, std::string_view email,
                                        std::string& password) {
  if (!settings.password_file.empty()) {
    std::ifstream file(settings.password_file);
    if (!file) {
      return fmt::format("cannot open --password-file {}", settings.password_file);
    }
    if (!std::getline(file, password)) {
      return fmt::format("--password-file {} is empty", settings.password_file);
    }
    StripLineEnding(password);
    return std::nullopt;
  }
  const bool terminal = isatty(STDIN_FILENO) == 1;
  bool got = false;
  if (terminal) {
    fmt::print(stderr, "Password for {}: ", email);
    std::fflush(stderr);
    const EchoOff echo_off(STDIN_FILENO);
    got = static_cast<bool>(std::getline(std::cin, password));
    // The Enter the user typed was not echoed either.
    fmt::print(stderr, "\n");
  } else {
    got = static_cast<bool>(std::getline(std::cin, password));
  }
  if (!got) {
    return std::string(
        "no password: give --password-file or write the password as the first line of stdin");
  }
  StripLineEnding(password);
  return std::nullopt;
}

core::Result<AdminInput, std::string> CheckIdentity(std::string_view email_text,
                                                    std::string_view name_text) {
  auto email = users::NormalizeEmail(email_text);
  if (!email) {
    return core::Unexpected<std::string>{"--email is not a valid email address"};
  }
  const std::string default_name = email->substr(0, email->find('@'));
  auto name = users::CheckName(name_text.empty() ? std::string_view(default_name) : name_text);
  if (!name) {
    return core::Unexpected<std::string>{
        fmt::format("--name: {} ({})", name.error().message, name.error().code)};
  }
  return AdminInput{std::move(*email), std::move(*name)};
}

std::optional<std::string> CheckAdminPassword(const AdminInput& input, std::string_view password) {
  if (auto error = users::CheckPassword(password)) {
    return fmt::format("password: {} ({})", error->message, error->code);
  }
  // NormalizeEmail trims and lower-cases, so "Admin@Example.com " counts as the email too.
  if (users::NormalizeEmail(password) == input.email) {
    return std::string("password: must not be the email address");
  }
  return std::nullopt;
}

asio::awaitable<CreateResult> CreateAdmin(db::PgPool& pool, const AdminInput& input,
                                          std::string password_hash) {
  const auto deadline = Clock::now() + kQueryTimeout;
  auto migrated = co_await pool.Query(kMigratedSql, {}, deadline);
  if (!migrated) {
    co_return core::Unexpected<std::string>{"cannot query the database: " +
                                            migrated.error().message};
  }
  auto present = migrated->GetBool(0, 0);
  if (!present || !*present) {
    co_return core::Unexpected<std::string>{std::string(kNotMigrated)};
  }

  users::CreateUserInput create;
  create.email = input.email;
  create.name = input.name;
  create.role = users::Role::kAdmin;
  users::AuditNote audit;
  audit.action = std::string(kAuditAction);  // written with the row, in one statement
  audit.detail = R"({"via":"myriad admin create"})";
  auto user =
      co_await users::UserStore(pool).Create(create, std::move(password_hash), audit, deadline);
  if (!user) {
    if (user.error().failure == users::StoreFailure::kDuplicateEmail) {
      co_return core::Unexpected<std::string>{"a user with that email already exists"};
    }
    co_return core::Unexpected<std::string>{"cannot create the user: " + user.error().db.message};
  }

  co_return std::move(*user);
}

}  // namespace

void AddAdminCreateOptions(CLI::App& app, AdminCreateSettings& settings) {
  config::AddDatabaseOptions(app, settings.database);
  app.add_option("--email", settings.email, "The administrator's email address")
      ->required()
      ->type_name("EMAIL");
  app.add_option("--name", settings.name,
                 "Display name (default: the part of the email before '@')")
      ->type_name("NAME");
  app.add_option("--password-file", settings.password_file,
                 "Read the password from the first line of this file (default: stdin; on a "
                 "terminal, a prompt with echo off)")
      ->type_name("FILE");
}

core::Result<AdminInput, std::string> CheckAdminInput(std::string_view email, std::string_view name,
                                                      std::string_view password) {
  auto input = CheckIdentity(email, name);
  if (!input) {
    return input;
  }
  if (auto error = CheckAdminPassword(*input, password)) {
    return core::Unexpected<std::string>{std::move(*error)};
  }
  return input;
}

int RunAdminCreate(const AdminCreateSettings& settings) {
  try {
    config::RequireDatabaseUrl(settings.database);
  } catch (const std::invalid_argument& error) {
    fmt::print(stderr, "myriad admin create: {}\n", error.what());
    return 1;
  }
  // Email and name first, so a typo fails before anyone is asked for a password.
  auto input = CheckIdentity(settings.email, settings.name);
  if (!input) {
    fmt::print(stderr, "myriad admin create: {}\n", input.error());
    return 1;
  }
  std::optional<std::string> hash;
  {
    WipedString password;
    if (auto error = ReadPassword(settings, input->email, password.value())) {
      fmt::print(stderr, "myriad admin create: {}\n", *error);
      return 1;
    }
    if (auto error = CheckAdminPassword(*input, password.value())) {
      fmt::print(stderr, "myriad admin create: {}\n", *error);
      return 1;
    }
    hash = auth::HashPassword(password.value());
  }
  if (!hash) {
    fmt::print(stderr, "myriad admin create: cannot hash the password (libsodium)\n");
    return 1;
  }

  asio::io_context io(1);
  db::PgPool pool(io.get_executor(), CommandPoolOptions(settings.database));
  auto created = RunLoop(io, CreateAdmin(pool, *input, std::move(*hash)));
  if (!created || !*created) {
    fmt::print(stderr, "myriad admin create: {}\n",
               created ? created->error() : std::string("the insert did not finish"));
    return 1;
  }
  fmt::print("created admin {} {}\n", (*created)->id, (*created)->email);
  return 0;
}

}  // namespace myriad::app

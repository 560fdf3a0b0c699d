#pragma once

#include <optional>
#include <string>
#include <string_view>

#include "config/database_settings.hpp"
#include "core/result.hpp"

namespace CLI {
class App;
}

namespace myriad::app {

/// What `myriad admin create` can be told, on top of DatabaseSettings.
struct AdminCreateSettings {
  config::DatabaseSettings database;
  /// The administrator's address (required); normalised before use.
  std::string email;
  /// Empty: the part of the normalised address before '@'.
  std::string name;
  /// A file whose first line is the password. Empty: the first line of stdin.
  std::string password_file;
};

/// Registers --email, --name, --password-file and the database options on `app`.
void AddAdminCreateOptions(CLI::App& app, AdminCreateSettings& settings);

/// An administrator to create, validated.
struct AdminInput {
  std::string email;  // normalised
  std::string name;   // trimmed
};

/// Validates what `myriad admin create` was given, with the rules of POST /api/users: the
/// email as users::NormalizeEmail, the name as users::CheckName (an empty `name` becomes
/// the local part of the email), the password as users::CheckPassword and never equal to
/// the email. The error is a message for stderr; it never quotes the password. Pure.
core::Result<AdminInput, std::string> CheckAdminInput(std::string_view email, std::string_view name,
                                                      std::string_view password);

/// `myriad admin create`: reads the password (settings.password_file, else stdin, with a
/// prompt on stderr and echo off when stdin is a terminal), validates as CheckAdminInput,
/// hashes it with Argon2id at the default cost, inserts the user with role admin and
/// audits "admin.created" (actor 0, target the new id), then prints "created admin <id>
/// <email>". Returns 0, or 1 with a message on stderr: bad input, no password, the
/// database unreachable or not migrated, "a user with that email already exists". Never
/// prints the password. Runs its own io_context on the calling thread.
int RunAdminCreate(const AdminCreateSettings& settings);

}  // namespace myriad::app

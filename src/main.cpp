// Wires the subcommands; each command's work lives in src/app/.
#include <fmt/core.h>

#include <CLI/CLI.hpp>

#include "app/admin_command.hpp"
#include "app/keygen_command.hpp"
#include "app/migrate_command.hpp"
#include "app/outbox_command.hpp"
#include "app/seed_command.hpp"
#include "app/serve_command.hpp"
#include "config/database_settings.hpp"
#include "config/settings.hpp"
#include "core/build_info.hpp"

int main(int argc, char** argv) try {
  CLI::App app{"Myriad: a user-accounts service.", "myriad"};
  app.require_subcommand(1);
  app.set_help_all_flag("--help-all", "Show help for every command");

  myriad::config::ServeSettings serve_settings;
  auto* serve = app.add_subcommand("serve", "Run the HTTP API server.");
  myriad::config::AddServeOptions(*serve, serve_settings);

  myriad::config::MigrateSettings migrate_settings;
  auto* migrate = app.add_subcommand("migrate", "Apply pending database migrations.");
  myriad::config::AddMigrateOptions(*migrate, migrate_settings);

  myriad::app::SeedSettings seed_settings;
  auto* seed = app.add_subcommand("seed", "Bulk-load synthetic users into an empty users table.");
  myriad::app::AddSeedOptions(*seed, seed_settings);

  myriad::app::KeygenSettings keygen_settings;
  auto* keygen =
      app.add_subcommand("keygen", "Create an Ed25519 key file for signing access tokens.");
  myriad::app::AddKeygenOptions(*keygen, keygen_settings);

  myriad::app::AdminCreateSettings admin_create_settings;
  auto* admin = app.add_subcommand("admin", "Manage administrator accounts.");
  admin->require_subcommand(1);
  auto* admin_create = admin->add_subcommand(
      "create",
      "Create an administrator; the password comes from --password-file or the first line of "
      "stdin (a prompt with echo off on a terminal).");
  myriad::app::AddAdminCreateOptions(*admin_create, admin_create_settings);

  myriad::app::OutboxListSettings outbox_list_settings;
  auto* outbox =
      app.add_subcommand("outbox", "Inspect the outbox of e-mails to send (development).");
  outbox->require_subcommand(1);
  auto* outbox_list = outbox->add_subcommand("list", "Show the newest outbox messages.");
  myriad::app::AddOutboxListOptions(*outbox_list, outbox_list_settings);

  auto* version = app.add_subcommand("version", "Print the version and build information.");

  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return app.exit(e);
  }

  if (*version) {
    const auto& build = myriad::core::GetBuildInfo();
    fmt::print("myriad {} (commit {}, {}, {})\n", build.version, build.commit, build.compiler,
               build.build_type);
    return 0;
  }
  if (*migrate) {
    return myriad::app::RunMigrate(migrate_settings);
  }
  if (*keygen) {
    return myriad::app::RunKeygen(keygen_settings);
  }
  if (*seed) {
    return myriad::app::RunSeed(seed_settings);
  }
  if (*admin_create) {
    return myriad::app::RunAdminCreate(admin_create_settings);
  }
  if (*outbox_list) {
    return myriad::app::RunOutboxList(outbox_list_settings);
  }
  return myriad::app::RunServe(serve_settings);
} catch (const std::exception& e) {
  // Start-up errors that escape a command end here with a message and a non-zero exit
  // rather than an abort.
  fmt::print(stderr, "myriad: {}\n", e.what());
  return 1;
} catch (...) {
  fmt::print(stderr, "myriad: unknown error\n");
  return 1;
}

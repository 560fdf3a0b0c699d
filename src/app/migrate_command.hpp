#pragma once

#include "config/database_settings.hpp"

namespace myriad::app {

/// `myriad migrate`: applies the pending migrations of settings.migrations_dir to the
/// database (db/migrations.hpp) and prints one "applied NNNN_name" line per file, or
/// "nothing to apply"; with --dry-run "would apply NNNN_name" and changes nothing. Returns 0
/// on success, 1 with a message on stderr when the folder, the connection or a migration
/// fails. Runs its own io_context on the calling thread.
int RunMigrate(const config::MigrateSettings& settings);

}  // namespace myriad::app

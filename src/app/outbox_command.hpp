#pragma once

#include <cstddef>
#include <string>
#include <vector>

#include "accounts/account_store.hpp"
#include "config/database_settings.hpp"

namespace CLI {
class App;
}

namespace myriad::app {

/// What `myriad outbox list` can be told, on top of DatabaseSettings.
struct OutboxListSettings {
  config::DatabaseSettings database;
  /// Messages to show, newest first (1..1000).
  std::size_t limit = 20;
};

/// Registers --limit and the database options on `app`.
void AddOutboxListOptions(CLI::App& app, OutboxListSettings& settings);

/// The text `myriad outbox list` prints for `entries` (newest first): per message a line
/// "#<id> <created_at> <kind> to <recipient>" (", sent <sent_at>" when sent), a line
/// "subject: <subject>" and the body with every line indented by four spaces, messages
/// separated by a blank line; "(no messages)\n" when there are none. Pure.
std::string FormatOutbox(const std::vector<accounts::OutboxEntry>& entries);

/// `myriad outbox list`: prints the newest outbox rows (accounts::AccountStore::ListOutbox)
/// as FormatOutbox, for development: with no mail delivery yet, this is where verification
/// and reset links can be read. Returns 0, or 1 with a message on stderr when the database
/// is unreachable or not migrated. Runs its own io_context on the calling thread.
int RunOutboxList(const OutboxListSettings& settings);

}  // namespace myriad::app

#pragma once

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>
#include <cstdint>
#include <functional>
#include <string>
#include <string_view>

#include "db/error.hpp"
#include "db/pg_connection.hpp"

namespace myriad::db {

/// The one password every seeded user has. For demos and benchmarks only.
inline constexpr std::string_view kSeedPassword = "myriad-demo-password";

/// The COPY statement the seeder streams into (text format, columns in this order).
inline constexpr std::string_view kSeedCopySql =
    "COPY users (email, name, password_hash, role, status, created_at, updated_at) FROM STDIN";

/// Appends `value` to `out` escaped for COPY's text format (backslash, tab, newline, CR).
void AppendCopyText(std::string& out, std::string_view value);

/// The pure part: row `index` (0-based) of a seed of `total` users. Deterministic in
/// (seed, index): any slice of rows can be produced on its own, in any order.
/// Emails are `first.last.<index+1>@example.com`, lower case and unique by construction;
/// created_at grows with index, spread evenly over the ~3 years before `now_unix_seconds`.
class UserRowGenerator {
 public:
  UserRowGenerator(std::uint64_t seed, std::int64_t total, std::int64_t now_unix_seconds,
                   std::string password_hash);

  struct Row {
    std::string email;
    std::string name;
    std::int64_t created_at_unix = 0;
  };
  Row Make(std::int64_t index) const;
  /// Appends row `index` as one COPY text line (kSeedCopySql's columns) to `out`.
  void AppendCopyLine(std::string& out, std::int64_t index) const;

 private:
  std::uint64_t seed_;
  std::int64_t total_;
  std::int64_t start_unix_;
  std::int64_t span_seconds_;
  std::string password_hash_escaped_;
};

/// "YYYY-MM-DD HH:MM:SS+00" for a Unix time (UTC).
std::string FormatUtcTimestamp(std::int64_t unix_seconds);

/// Called after each chunk with the rows sent so far by this stream.
using SeedProgress = std::function<void(std::int64_t rows_in_chunk)>;

/// The COPY driver: streams rows [first, last) of `generator` through `connection` in chunks
/// of about `chunk_bytes`, never holding more than one chunk. Returns the rows copied.
boost::asio::awaitable<DbResult<std::int64_t>> CopyUserRows(
    PgConnection& connection, const UserRowGenerator& generator, std::int64_t first,
    std::int64_t last, std::size_t chunk_bytes, SeedProgress progress,
    PgConnection::Clock::time_point deadline);

}  // namespace myriad::db

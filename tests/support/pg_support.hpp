#pragma once

#include <string>

namespace myriad::testing {

/// The libpq URL of the PostgreSQL server for *_pgtest tests: MYRIAD_DATABASE_URL when set
/// (your own server), else the cluster that the CTest fixture `postgres_start` started,
/// read from $MYRIAD_PGTEST_DIR/url (scripts/pg.sh writes it). Throws std::runtime_error
/// with a hint when neither is there, e.g. when the test binary runs outside CTest.
std::string TestDatabaseUrl();

}  // namespace myriad::testing

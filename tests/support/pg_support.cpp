#include "support/pg_support.hpp"

#include <cstdlib>
#include <fstream>
#include <stdexcept>

namespace myriad::testing {

std::string TestDatabaseUrl() {
  if (const char* url = std::getenv("MYRIAD_DATABASE_URL"); url != nullptr && *url != '\0') {
    return url;
  }
  const char* dir = std::getenv("MYRIAD_PGTEST_DIR");
  if (dir == nullptr || *dir == '\0') {
    throw std::runtime_error(
        "no test database: run this test through ctest (its fixture starts PostgreSQL and sets "
        "MYRIAD_PGTEST_DIR), or set MYRIAD_PGTEST_DIR to a folder of `scripts/pg.sh start DIR`, "
        "or MYRIAD_DATABASE_URL to a server of your own");
  }
  const std::string path = std::string(dir) + "/url";
  std::ifstream in(path);
  std::string url;
  if (!std::getline(in, url) || url.empty()) {
    throw std::runtime_error("no database URL in " + path +
                             ": did the postgres_start test (scripts/pg.sh start) run and pass?");
  }
  return url;
}

}  // namespace myriad::testing

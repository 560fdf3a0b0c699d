#pragma once

#include <memory>
#include <string>

namespace myriad::testing {

/// The libpq URL of the PostgreSQL server for *_pgtest tests: MYRIAD_DATABASE_URL when set
/// (your own server), else the cluster that the CTest fixture `postgres_start` started,
/// read from $MYRIAD_PGTEST_DIR/url (scripts/pg.sh writes it). Throws std::runtime_error
/// with a hint when neither is there, e.g. when the test binary runs outside CTest.
std::string TestDatabaseUrl();

/// `url` with `options=-csearch_path=<schema>,public` added, so that every session opened
/// with it works in `schema` (public stays on the path: pg_trgm lives there).
std::string UrlWithSearchPath(const std::string& url, const std::string& schema);

/// Runs one statement on a new connection (on an io_context of its own, on the calling
/// thread); returns "" or the error. With `value`, stores the first column of the first
/// row there ("<null>" when it is NULL or there is no row).
std::string Sql(const std::string& url, const std::string& sql, std::string* value = nullptr);

/// A schema of its own for one test (the pgtests of one ctest run share one database):
/// created as `<prefix>_<random>` by the constructor, dropped with everything in it by the
/// destructor. Throws std::runtime_error when it cannot be created.
class TestSchema {
 public:
  explicit TestSchema(const std::string& prefix, std::string base_url = TestDatabaseUrl());
  ~TestSchema();
  TestSchema(const TestSchema&) = delete;
  TestSchema& operator=(const TestSchema&) = delete;

  const std::string& name() const { return name_; }
  /// The database URL without a search path.
  const std::string& base_url() const { return base_url_; }
  /// The database URL whose sessions work in this schema.
  const std::string& url() const { return url_; }
  /// The first column of the first row of `sql` run in this schema; a failure fails the
  /// test (EXPECT) and returns "".
  std::string Value(const std::string& sql) const;

 private:
  std::string base_url_;
  std::string name_;
  std::string url_;
};

/// One database session kept open on a thread of its own, for tests that need a session
/// to outlive a statement: hold a transaction and its locks while the code under test
/// runs. Statements run in order; each call blocks until its statement is done.
class PgSession {
 public:
  /// Connects to `url`; connected() says whether it worked.
  explicit PgSession(const std::string& url);
  ~PgSession();
  PgSession(const PgSession&) = delete;
  PgSession& operator=(const PgSession&) = delete;

  bool connected() const;
  /// The server process id of the session (for pg_stat_activity), 0 if not connected.
  int backend_pid() const;
  /// Runs one statement; "" or the error. With `value`, as Sql().
  std::string Exec(const std::string& sql, std::string* value = nullptr);

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace myriad::testing

#include "db/error.hpp"

#include <gtest/gtest.h>
#include <libpq-fe.h>

namespace myriad::db {
namespace {

TEST(ErrorTest, ClassifiesSqlStates) {
  EXPECT_EQ(ClassifySqlState("08006"), DbErrorKind::kConnection);
  EXPECT_EQ(ClassifySqlState("08001"), DbErrorKind::kConnection);
  EXPECT_EQ(ClassifySqlState("57P01"), DbErrorKind::kConnection);
  EXPECT_EQ(ClassifySqlState("57P02"), DbErrorKind::kConnection);
  EXPECT_EQ(ClassifySqlState("57P03"), DbErrorKind::kConnection);
  EXPECT_EQ(ClassifySqlState("57014"), DbErrorKind::kCancelled);
  EXPECT_EQ(ClassifySqlState("23505"), DbErrorKind::kQuery);
  EXPECT_EQ(ClassifySqlState("22012"), DbErrorKind::kQuery);
  EXPECT_EQ(ClassifySqlState("42601"), DbErrorKind::kQuery);
}

TEST(ErrorTest, MalformedSqlStateIsAQueryError) {
  EXPECT_EQ(ClassifySqlState(""), DbErrorKind::kQuery);
  EXPECT_EQ(ClassifySqlState("08"), DbErrorKind::kQuery);
  EXPECT_EQ(ClassifySqlState("080060"), DbErrorKind::kQuery);
  EXPECT_EQ(ClassifySqlState("08\n06"), DbErrorKind::kQuery);
}

TEST(ErrorTest, SqlStateClass) {
  DbError e{DbErrorKind::kQuery, "23505", "duplicate key"};
  EXPECT_EQ(e.SqlStateClass(), "23");
  EXPECT_TRUE(e.Is("23505"));
  EXPECT_FALSE(e.Is("23503"));
  EXPECT_EQ(DbError{}.SqlStateClass(), "");
  EXPECT_EQ((DbError{DbErrorKind::kQuery, "2350", ""}.SqlStateClass()), "");
}

TEST(ErrorTest, KindNames) {
  EXPECT_EQ(ToString(DbErrorKind::kConnection), "connection");
  EXPECT_EQ(ToString(DbErrorKind::kTimeout), "timeout");
  EXPECT_EQ(ToString(DbErrorKind::kCancelled), "cancelled");
  EXPECT_EQ(ToString(DbErrorKind::kQuery), "query");
  EXPECT_EQ(ToString(DbErrorKind::kPoolExhausted), "pool_exhausted");
  EXPECT_EQ(ToString(DbErrorKind::kBadParameter), "bad_parameter");
}

TEST(ErrorTest, ResultWithoutSqlStateIsAConnectionError) {
  PGresult* r = PQmakeEmptyPGresult(nullptr, PGRES_FATAL_ERROR);
  ASSERT_NE(r, nullptr);
  DbError e = ErrorFromResult(r);
  EXPECT_EQ(e.kind, DbErrorKind::kConnection);
  EXPECT_TRUE(e.sqlstate.empty());
  PQclear(r);
  EXPECT_EQ(ErrorFromResult(nullptr).kind, DbErrorKind::kConnection);
}

TEST(ErrorTest, MakeDbErrorBuildsAnErrorResult) {
  DbResult<int> r = MakeDbError(DbErrorKind::kTimeout, "late");
  ASSERT_FALSE(r.has_value());
  EXPECT_EQ(r.error().kind, DbErrorKind::kTimeout);
  EXPECT_EQ(r.error().message, "late");
  DbResult<int> ok = 5;
  ASSERT_TRUE(ok);
  EXPECT_EQ(*ok, 5);
  DbResult<void> done;
  EXPECT_TRUE(done.has_value());
  DbResult<void> failed = MakeDbError(DbErrorKind::kConnection, "gone", "08006");
  ASSERT_FALSE(failed);
  EXPECT_EQ(failed.error().sqlstate, "08006");
}

}  // namespace
}  // namespace myriad::db

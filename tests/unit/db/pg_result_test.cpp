#include "db/pg_result.hpp"

#include <gtest/gtest.h>
#include <libpq-fe.h>

#include <array>
#include <cstring>
#include <string>
#include <vector>

namespace myriad::db {
namespace {

// Builds a text-format result as libpq would deliver it, without a server.
// nullptr in `cells` is SQL NULL.
PgResult MakeResult(const std::vector<std::string>& names,
                    const std::vector<std::vector<const char*>>& cells) {
  PGresult* r = PQmakeEmptyPGresult(nullptr, PGRES_TUPLES_OK);
  std::vector<PGresAttDesc> attrs(names.size());
  for (std::size_t i = 0; i < names.size(); ++i) {
    attrs[i] = PGresAttDesc{};
    attrs[i].name = const_cast<char*>(names[i].c_str());  // libpq copies it
    attrs[i].format = 0;
    attrs[i].typlen = -1;
    attrs[i].atttypmod = -1;
  }
  EXPECT_EQ(PQsetResultAttrs(r, static_cast<int>(attrs.size()), attrs.data()), 1);
  for (std::size_t row = 0; row < cells.size(); ++row) {
    for (std::size_t col = 0; col < cells[row].size(); ++col) {
      const char* v = cells[row][col];
      char* value = const_cast<char*>(v);
      EXPECT_EQ(PQsetvalue(r, static_cast<int>(row), static_cast<int>(col), value,
                           v == nullptr ? -1 : static_cast<int>(std::strlen(v))),
                1);
    }
  }
  return PgResult(r);
}

TEST(PgResultTest, ReadsByIndexAndName) {
  auto r = MakeResult({"id", "email", "admin"},
                      {{"42", "a@example.com", "t"}, {"-7", "b@example.com", "f"}});
  EXPECT_EQ(r.rows(), 2);
  EXPECT_EQ(r.columns(), 3);
  EXPECT_EQ(r.ColumnIndex("email"), 1);
  EXPECT_EQ(r.ColumnIndex("missing"), -1);
  EXPECT_EQ(r.ColumnName(2), "admin");
  EXPECT_EQ(r.GetInt64(0, 0).value(), 42);
  EXPECT_EQ(r.GetInt64(1, "id").value(), -7);
  EXPECT_EQ(r.GetString(0, "email").value(), "a@example.com");
  EXPECT_TRUE(r.GetBool(0, "admin").value());
  EXPECT_FALSE(r.GetBool(1, 2).value());
}

TEST(PgResultTest, NullIsReportedAndGettersReturnBadData) {
  auto r = MakeResult({"name"}, {{nullptr}});
  EXPECT_TRUE(r.IsNull(0, 0));
  EXPECT_TRUE(r.IsNull(0, "name"));
  auto s = r.GetString(0, 0);
  ASSERT_FALSE(s.has_value());
  EXPECT_EQ(s.error().kind, DbErrorKind::kBadData);
  EXPECT_FALSE(r.GetInt64(0, 0).has_value());
  EXPECT_FALSE(r.GetBool(0, 0).has_value());
}

TEST(PgResultTest, MalformedValuesAreErrorsNotExceptions) {
  auto r = MakeResult({"n", "b"},
                      {{"12x", "yes"}, {"99999999999999999999", "T"}, {"", ""}, {" 1", "t "}});
  for (int row = 0; row < r.rows(); ++row) {
    auto n = r.GetInt64(row, "n");
    ASSERT_FALSE(n.has_value()) << "row " << row;
    EXPECT_EQ(n.error().kind, DbErrorKind::kBadData);
    auto b = r.GetBool(row, "b");
    ASSERT_FALSE(b.has_value()) << "row " << row;
    EXPECT_EQ(b.error().kind, DbErrorKind::kBadData);
  }
}

TEST(PgResultTest, OutOfRangeCellsAreErrors) {
  auto r = MakeResult({"n"}, {{"1"}});
  EXPECT_FALSE(r.GetInt64(1, 0).has_value());
  EXPECT_FALSE(r.GetInt64(-1, 0).has_value());
  EXPECT_FALSE(r.GetInt64(0, 1).has_value());
  EXPECT_FALSE(r.GetInt64(0, "nope").has_value());
  EXPECT_TRUE(r.IsNull(5, 5));
}

TEST(PgResultTest, EmptyResult) {
  PgResult r;
  EXPECT_EQ(r.rows(), 0);
  EXPECT_EQ(r.columns(), 0);
  EXPECT_EQ(r.affected_rows(), 0);
  EXPECT_FALSE(r.GetString(0, 0).has_value());
}

TEST(PgResultTest, StringKeepsEmbeddedBytesByLength) {
  auto r = MakeResult({"s"}, {{"'; DROP TABLE users; --"}});
  EXPECT_EQ(r.GetString(0, 0).value(), "'; DROP TABLE users; --");
}

}  // namespace
}  // namespace myriad::db

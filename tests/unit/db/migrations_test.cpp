// The pure parts of db/migrations: file names, ordering, loading a folder.
#include "db/migrations.hpp"

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <random>
#include <string>
#include <vector>

namespace myriad::db {
namespace {

TEST(ParseMigrationFileName, ReadsVersionAndName) {
  auto parsed = ParseMigrationFileName("0001_users.sql");
  ASSERT_TRUE(parsed.has_value()) << parsed.error();
  EXPECT_EQ(parsed->version, 1);
  EXPECT_EQ(parsed->name, "0001_users");

  auto longer = ParseMigrationFileName("00042_add_index_2.sql");
  ASSERT_TRUE(longer.has_value()) << longer.error();
  EXPECT_EQ(longer->version, 42);
  EXPECT_EQ(longer->name, "00042_add_index_2");
}

TEST(ParseMigrationFileName, RejectsBadNames) {
  for (const char* bad :
       {"users.sql", "1_users.sql", "001_users.sql", "0001users.sql", "0001_.sql", "0001_users.SQL",
        "0001_users.txt", "0001_Users.sql", "0001_add-index.sql", "0001_a b.sql", "0000_zero.sql",
        ".sql", "", "99999999999999999999_big.sql", "0001_users.sql.bak"}) {
    auto parsed = ParseMigrationFileName(bad);
    ASSERT_FALSE(parsed.has_value()) << bad;
    EXPECT_NE(parsed.error().find(std::string("'") + bad + "'"), std::string::npos)
        << parsed.error();
    EXPECT_NE(parsed.error().find("NNNN_name.sql"), std::string::npos) << parsed.error();
  }
}

TEST(SortMigrations, OrdersByVersionAndRejectsDuplicates) {
  std::vector<Migration> migrations = {{10, "0010_c", ""}, {2, "0002_b", ""}, {1, "0001_a", ""}};
  auto sorted = SortMigrations(migrations);
  ASSERT_TRUE(sorted.has_value()) << sorted.error();
  ASSERT_EQ(sorted->size(), 3U);
  EXPECT_EQ((*sorted)[0].name, "0001_a");
  EXPECT_EQ((*sorted)[1].name, "0002_b");
  EXPECT_EQ((*sorted)[2].name, "0010_c");

  migrations.push_back({2, "00002_again", ""});
  auto duplicate = SortMigrations(migrations);
  ASSERT_FALSE(duplicate.has_value());
  EXPECT_NE(duplicate.error().find("0002_b.sql"), std::string::npos) << duplicate.error();
  EXPECT_NE(duplicate.error().find("00002_again.sql"), std::string::npos) << duplicate.error();
}

class LoadMigrationsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::random_device device;
    dir_ = std::filesystem::temp_directory_path() /
           ("myriad_migrations_test_" + std::to_string(device()));
    std::filesystem::create_directories(dir_);
  }
  void TearDown() override {
    std::error_code ignored;
    std::filesystem::remove_all(dir_, ignored);
  }
  void Write(const std::string& name, const std::string& text) {
    std::ofstream(dir_ / name, std::ios::binary) << text;
  }
  std::filesystem::path dir_;
};

TEST_F(LoadMigrationsTest, ReadsSqlFilesInOrderAndIgnoresOthers) {
  Write("0002_second.sql", "SELECT 2;");
  Write("0001_first.sql", "SELECT 1;\n");
  Write("README.md", "not a migration");
  std::filesystem::create_directories(dir_ / "0003_folder.sql");
  auto loaded = LoadMigrations(dir_);
  ASSERT_TRUE(loaded.has_value()) << loaded.error();
  ASSERT_EQ(loaded->size(), 2U);
  EXPECT_EQ((*loaded)[0].name, "0001_first");
  EXPECT_EQ((*loaded)[0].sql, "SELECT 1;\n");
  EXPECT_EQ((*loaded)[1].version, 2);
}

TEST_F(LoadMigrationsTest, RejectsABadNameAndAMissingFolder) {
  Write("1_users.sql", "SELECT 1;");
  auto bad = LoadMigrations(dir_);
  ASSERT_FALSE(bad.has_value());
  EXPECT_NE(bad.error().find("1_users.sql"), std::string::npos) << bad.error();

  auto missing = LoadMigrations(dir_ / "nope");
  ASSERT_FALSE(missing.has_value());
  EXPECT_NE(missing.error().find("nope"), std::string::npos) << missing.error();
}

TEST_F(LoadMigrationsTest, RejectsDuplicateVersions) {
  Write("0001_users.sql", "SELECT 1;");
  Write("0001_other.sql", "SELECT 1;");
  auto loaded = LoadMigrations(dir_);
  ASSERT_FALSE(loaded.has_value());
  EXPECT_NE(loaded.error().find("version 1"), std::string::npos) << loaded.error();
}

TEST(RepoMigrations, LoadAndStartWithUsers) {
  auto loaded = LoadMigrations(std::filesystem::path(MYRIAD_SOURCE_DIR) / "migrations");
  ASSERT_TRUE(loaded.has_value()) << loaded.error();
  ASSERT_FALSE(loaded->empty());
  EXPECT_EQ(loaded->front().name, "0001_users");
}

}  // namespace
}  // namespace myriad::db

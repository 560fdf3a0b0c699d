#include "db/user_seeder.hpp"

#include <fmt/format.h>

#include <array>
#include <memory>
#include <utility>

namespace myriad::db {
namespace {

// Compiled-in name lists: realistic, ASCII, no characters that need escaping or lowering
// beyond ASCII.
constexpr std::array<std::string_view, 64> kFirstNames = {
    "James",   "Mary",      "Robert",   "Patricia", "John",    "Jennifer", "Michael",  "Linda",
    "David",   "Elizabeth", "William",  "Barbara",  "Richard", "Susan",    "Joseph",   "Jessica",
    "Thomas",  "Sarah",     "Charles",  "Karen",    "Daniel",  "Lisa",     "Matthew",  "Nancy",
    "Anthony", "Betty",     "Mark",     "Margaret", "Steven",  "Sandra",   "Paul",     "Ashley",
    "Andrew",  "Emily",     "Joshua",   "Donna",    "Kevin",   "Michelle", "Brian",    "Carol",
    "George",  "Amanda",    "Timothy",  "Melissa",  "Ronald",  "Deborah",  "Jason",    "Stephanie",
    "Ryan",    "Rebecca",   "Jacob",    "Laura",    "Gary",    "Sharon",   "Nicholas", "Cynthia",
    "Eric",    "Kathleen",  "Jonathan", "Amy",      "Stephen", "Angela",   "Larry",    "Olivia"};
constexpr std::array<std::string_view, 64> kLastNames = {
    "Smith",    "Johnson",   "Williams", "Brown",     "Jones",    "Garcia",   "Miller",
    "Davis",    "Rodriguez", "Martinez", "Hernandez", "Lopez",    "Gonzalez", "Wilson",
    "Anderson", "Thomas",    "Taylor",   "Moore",     "Jackson",  "Martin",   "Lee",
    "Perez",    "Thompson",  "White",    "Harris",    "Sanchez",  "Clark",    "Ramirez",
    "Lewis",    "Robinson",  "Walker",   "Young",     "Allen",    "King",     "Wright",
    "Scott",    "Torres",    "Nguyen",   "Hill",      "Flores",   "Green",    "Adams",
    "Nelson",   "Baker",     "Hall",     "Rivera",    "Campbell", "Mitchell", "Carter",
    "Roberts",  "Gomez",     "Phillips", "Evans",     "Turner",   "Diaz",     "Parker",
    "Cruz",     "Edwards",   "Collins",  "Reyes",     "Stewart",  "Morris",   "Morales",
    "Murphy"};

constexpr std::int64_t kSeedSpanSeconds = std::int64_t{3} * 365 * 24 * 3600;

// splitmix64: a stateless mix, so row i's names depend only on (seed, i).
std::uint64_t Mix(std::uint64_t x) {
  x += 0x9e3779b97f4a7c15ULL;
  x = (x ^ (x >> 30U)) * 0xbf58476d1ce4e5b9ULL;
  x = (x ^ (x >> 27U)) * 0x94d049bb133111ebULL;
  return x ^ (x >> 31U);
}

void AppendLower(std::string& out, std::string_view value) {
  for (char c : value) {
    out.push_back(c >= 'A' && c <= 'Z' ? static_cast<char>(c - 'A' + 'a') : c);
  }
}

}  // namespace

void AppendCopyText(std::string& out, std::string_view value) {
  for (char c : value) {
    switch (c) {
      case '\\':
        out += "\\\\";
        break;
      case '\t':
        out += "\\t";
        break;
      case '\n':
        out += "\\n";
        break;
      case '\r':
        out += "\\r";
        break;
      default:
        out.push_back(c);
    }
  }
}

std::string FormatUtcTimestamp(std::int64_t unix_seconds) {
  // Howard Hinnant's civil_from_days.
  std::int64_t days = unix_seconds / 86400;
  std::int64_t secs = unix_seconds % 86400;
  if (secs < 0) {
    secs += 86400;
    --days;
  }
  const std::int64_t z = days + 719468;
  const std::int64_t era = (z >= 0 ? z : z - 146096) / 146097;
  const std::int64_t doe = z - era * 146097;
  const std::int64_t yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
  const std::int64_t doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
  const std::int64_t mp = (5 * doy + 2) / 153;
  const std::int64_t day = doy - (153 * mp + 2) / 5 + 1;
  const std::int64_t month = mp < 10 ? mp + 3 : mp - 9;
  const std::int64_t year = yoe + era * 400 + (month <= 2 ? 1 : 0);
  return fmt::format("{:04}-{:02}-{:02} {:02}:{:02}:{:02}+00", year, month, day, secs / 3600,
                     (secs / 60) % 60, secs % 60);
}

UserRowGenerator::UserRowGenerator(std::uint64_t seed, std::int64_t total,
                                   std::int64_t now_unix_seconds, std::string password_hash)
    : seed_(seed),
      total_(total > 0 ? total : 1),
      start_unix_(now_unix_seconds - kSeedSpanSeconds),
      span_seconds_(kSeedSpanSeconds) {
  AppendCopyText(password_hash_escaped_, password_hash);
}

UserRowGenerator::Row UserRowGenerator::Make(std::int64_t index) const {
  const std::uint64_t bits = Mix(seed_ ^ Mix(static_cast<std::uint64_t>(index)));
  const std::string_view first = kFirstNames[bits % kFirstNames.size()];
  const std::string_view last = kLastNames[(bits >> 32U) % kLastNames.size()];
  Row row;
  row.name = fmt::format("{} {}", first, last);
  AppendLower(row.email, first);
  row.email.push_back('.');
  AppendLower(row.email, last);
  fmt::format_to(std::back_inserter(row.email), ".{}@example.com", index + 1);
  // Evenly spaced and non-decreasing in index: creation order is id order.
  row.created_at_unix = start_unix_ + static_cast<std::int64_t>(static_cast<double>(index) *
                                                                static_cast<double>(span_seconds_) /
                                                                static_cast<double>(total_));
  return row;
}

void UserRowGenerator::AppendCopyLine(std::string& out, std::int64_t index) const {
  const Row row = Make(index);
  const std::string at = FormatUtcTimestamp(row.created_at_unix);
  AppendCopyText(out, row.email);
  out.push_back('\t');
  AppendCopyText(out, row.name);
  out.push_back('\t');
  out += password_hash_escaped_;
  out += "\t0\t0\t";  // role user, status active
  out += at;
  out.push_back('\t');
  out += at;
  out.push_back('\n');
}

boost::asio::awaitable<DbResult<std::int64_t>> CopyUserRows(
    PgConnection& connection, const UserRowGenerator& generator, std::int64_t first,
    std::int64_t last, std::size_t chunk_bytes, SeedProgress progress,
    PgConnection::Clock::time_point deadline) {
  auto next = std::make_shared<std::int64_t>(first);
  PgConnection::CopySource source = [&generator, next, last, chunk_bytes,
                                     progress = std::move(progress)](std::string& chunk) {
    const std::int64_t begin = *next;
    while (*next < last && chunk.size() < chunk_bytes) {
      generator.AppendCopyLine(chunk, (*next)++);
    }
    if (progress && *next > begin) progress(*next - begin);
    return *next < last;
  };
  co_return co_await connection.CopyIn(kSeedCopySql, std::move(source), deadline);
}

}  // namespace myriad::db

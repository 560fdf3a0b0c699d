#include "users/list_query.hpp"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cstdint>
#include <limits>
#include <string>
#include <vector>

namespace myriad::users {
namespace {

using http::ErrorCode;

const CursorCodec& Codec() {
  static const CursorCodec codec("test secret");
  return codec;
}

// The 400's detail, or "" (and a test failure) when the query parsed.
std::string ErrorOf(std::string_view query) {
  const auto r = ParseListQuery(query, Codec());
  if (r.has_value()) {
    ADD_FAILURE() << "expected a 400 for " << query;
    return "";
  }
  EXPECT_EQ(r.error().code, ErrorCode::kBadRequest) << query;
  EXPECT_TRUE(r.error().errors.empty());
  return r.error().detail;
}

ListQuery Parsed(std::string_view query) {
  const auto r = ParseListQuery(query, Codec());
  if (!r.has_value()) {
    ADD_FAILURE() << query << ": " << r.error().detail;
    return {};
  }
  return r.value();
}

// ---- CursorCodec -----------------------------------------------------------------------

TEST(CursorCodecTest, RoundTrips) {
  for (std::int64_t id : {std::int64_t{1}, std::int64_t{2}, std::int64_t{255}, std::int64_t{256},
                          std::int64_t{1000000}, std::numeric_limits<std::int64_t>::max()}) {
    for (std::string_view q : {"", "ada", "caf\xC3\xA9", "50% off_sale\\"}) {
      const std::string cursor = Codec().Encode(id, q);
      EXPECT_EQ(cursor.size(), 28u);
      EXPECT_EQ(cursor.find_first_not_of(
                    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"),
                std::string::npos)
          << cursor;
      EXPECT_EQ(Codec().Decode(cursor, q), id) << cursor;
    }
  }
}

TEST(CursorCodecTest, MatchesTheDocumentedFormat) {
  // Computed independently with Python's hashlib: base64url(01 | id as 8 bytes big-endian |
  // blake2b-128("ada")[:4] | blake2b-128(those 13 bytes, key=blake2b-256(secret))[:8]).
  const CursorCodec codec("fuzz secret");
  EXPECT_EQ(codec.Encode(42, "ada"), "AQAAAAAAAAAqxu9DxFRc3JhrtdPu");
  EXPECT_EQ(codec.Decode("AQAAAAAAAAAqxu9DxFRc3JhrtdPu", "ada"), 42);
}

TEST(CursorCodecTest, Deterministic) {
  EXPECT_EQ(Codec().Encode(5, "x"), CursorCodec("test secret").Encode(5, "x"));
  EXPECT_NE(Codec().Encode(5, "x"), Codec().Encode(6, "x"));
  EXPECT_NE(Codec().Encode(5, "x"), Codec().Encode(5, "y"));
}

TEST(CursorCodecTest, RejectsEveryFlippedCharacter) {
  const std::string cursor = Codec().Encode(123456, "ada");
  const std::string alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
  for (std::size_t i = 0; i < cursor.size(); ++i) {
    for (const char c : alphabet) {
      if (c == cursor[i]) continue;
      std::string edited = cursor;
      edited[i] = c;
      EXPECT_FALSE(Codec().Decode(edited, "ada").has_value()) << i << " " << edited;
    }
  }
}

TEST(CursorCodecTest, RejectsTruncatedExtendedAndOtherTexts) {
  const std::string cursor = Codec().Encode(77, "");
  for (std::size_t n = 0; n < cursor.size(); ++n) {
    EXPECT_FALSE(Codec().Decode(cursor.substr(0, n), "").has_value()) << n;
    EXPECT_FALSE(Codec().Decode(cursor.substr(n + 1), "").has_value()) << n;
  }
  for (const std::string& extended : {cursor + "A", cursor + "=", cursor + "==", cursor + " ",
                                      " " + cursor, cursor + cursor, cursor + '\0'}) {
    EXPECT_FALSE(Codec().Decode(extended, "").has_value()) << extended;
  }
  // Standard base64 spellings, padding and non-base64 characters.
  std::string plus = cursor;
  plus[3] = '+';
  std::string slash = cursor;
  slash[3] = '/';
  std::string dot = cursor;
  dot[27] = '.';
  for (const std::string& other :
       {std::string(), plus, slash, dot, std::string(28, 'A'), std::string(28, '_'),
        std::string(28, '!'), std::string(27, 'A') + "=", std::string(1000, 'A')}) {
    EXPECT_FALSE(Codec().Decode(other, "").has_value()) << other;
  }
}

TEST(CursorCodecTest, RejectsAnotherSearchOrSecret) {
  const std::string cursor = Codec().Encode(10, "ada");
  EXPECT_FALSE(Codec().Decode(cursor, "").has_value());
  EXPECT_FALSE(Codec().Decode(cursor, "Ada").has_value());
  EXPECT_FALSE(Codec().Decode(cursor, "ada ").has_value());
  EXPECT_FALSE(Codec().Decode(Codec().Encode(10, ""), "ada").has_value());
  EXPECT_FALSE(CursorCodec("other secret").Decode(cursor, "ada").has_value());
  EXPECT_FALSE(CursorCodec("").Decode(cursor, "ada").has_value());
  const CursorCodec empty_secret("");
  EXPECT_EQ(empty_secret.Decode(empty_secret.Encode(10, "ada"), "ada"), 10);
}

// ---- ParseListQuery: defaults, unknown and empty parts ---------------------------------

TEST(ListQueryTest, Defaults) {
  for (std::string_view query : {"", "&", "&&", "utm_source=x", "foo", "=", "=x", "x=%zz&y=%FF",
                                 "limit2=abc", "Limit=abc", "qq=\x01"}) {
    const ListQuery q = Parsed(query);
    EXPECT_EQ(q.limit, kDefaultPageSize) << query;
    EXPECT_EQ(q.after_id, 0) << query;
    EXPECT_EQ(q.q, "") << query;
  }
}

TEST(ListQueryTest, AllParameters) {
  const std::string cursor = Codec().Encode(99, "ada l");
  const ListQuery q = Parsed("limit=5&q=+ada+l%20&cursor=" + cursor + "&x=1");
  EXPECT_EQ(q.limit, 5);
  EXPECT_EQ(q.q, "ada l");
  EXPECT_EQ(q.after_id, 99);
}

TEST(ListQueryTest, CursorBeforeQIsCheckedAgainstQ) {
  const std::string cursor = Codec().Encode(4, "bob");
  EXPECT_EQ(Parsed("cursor=" + cursor + "&q=bob").after_id, 4);
  EXPECT_EQ(Parsed("cursor=" + cursor + "&q=%20bob%20").after_id, 4);  // q is trimmed first
  EXPECT_EQ(ErrorOf("cursor=" + cursor + "&q=bobby"),
            "cursor is invalid or belongs to another search");
  EXPECT_EQ(ErrorOf("cursor=" + cursor), "cursor is invalid or belongs to another search");
  EXPECT_EQ(Parsed("cursor=" + Codec().Encode(4, "")).after_id, 4);
}

TEST(ListQueryTest, BadCursors) {
  const std::string cursor = Codec().Encode(4, "");
  for (const std::string& bad :
       {std::string(""), std::string("x"), cursor.substr(1), cursor + "A", std::string(28, 'A'),
        CursorCodec("other").Encode(4, ""), std::string("%zz"), cursor.substr(0, 27) + "%FF"}) {
    const std::string detail = ErrorOf("cursor=" + bad);
    EXPECT_THAT(detail, testing::HasSubstr("cursor")) << bad;
  }
  EXPECT_EQ(ErrorOf("cursor"), "cursor is invalid or belongs to another search");
}

// ---- limit -----------------------------------------------------------------------------

TEST(ListQueryTest, LimitBounds) {
  EXPECT_EQ(Parsed("limit=1").limit, 1);
  EXPECT_EQ(Parsed("limit=20").limit, 20);
  EXPECT_EQ(Parsed("limit=100").limit, 100);
  EXPECT_EQ(Parsed("limit=007").limit, 7);
  EXPECT_EQ(Parsed("li%6Dit=3").limit, 3);  // keys are percent-decoded too
  EXPECT_EQ(Parsed("limit=%35").limit, 5);
  for (std::string_view bad :
       {"limit=0", "limit=101", "limit=-1", "limit=abc", "limit=1e2", "limit=+5", "limit=%2B5",
        "limit=%205", "limit=5%20", "limit=", "limit", "limit=5.0", "limit=0x10", "limit=1%00",
        "limit=2147483648", "limit=99999999999999999999999", "limit=-0", "limit=%00"}) {
    EXPECT_EQ(ErrorOf(bad), "limit must be an integer between 1 and 100") << bad;
  }
}

// ---- q ---------------------------------------------------------------------------------

TEST(ListQueryTest, QDecodingAndTrimming) {
  EXPECT_EQ(Parsed("q=ada").q, "ada");
  EXPECT_EQ(Parsed("q=Ada+Lovelace").q, "Ada Lovelace");
  EXPECT_EQ(Parsed("q=%41da%2BL").q, "Ada+L");
  EXPECT_EQ(Parsed("q=a%26b%3Dc").q, "a&b=c");
  EXPECT_EQ(Parsed("q=%25_%5C").q, "%_\\");
  EXPECT_EQ(Parsed("q=+++x+++").q, "x");
  EXPECT_EQ(Parsed("q=%09x%0A").q, "x");  // ASCII whitespace at the ends is trimmed
  EXPECT_EQ(Parsed("q=caf%C3%A9").q, "caf\xC3\xA9");
  EXPECT_EQ(Parsed("q=caf\xC3\xA9").q, "caf\xC3\xA9");  // raw UTF-8 passes through
  EXPECT_EQ(Parsed("q=%F0%9F%98%80").q, "\xF0\x9F\x98\x80");
}

TEST(ListQueryTest, QLength) {
  EXPECT_EQ(Parsed("q=" + std::string(100, 'a')).q, std::string(100, 'a'));
  std::string hundred_cp;
  for (int i = 0; i < 100; ++i) hundred_cp += "%E6%97%A5";
  EXPECT_EQ(Parsed("q=" + hundred_cp).q.size(), 300u);  // 100 code points of 3 bytes
  EXPECT_EQ(Parsed("q=++" + std::string(100, 'a') + "++").q, std::string(100, 'a'));
  for (const std::string& bad : {"q=" + std::string(101, 'a'), "q=" + hundred_cp + "a"}) {
    EXPECT_EQ(ErrorOf(bad), "q must be at most 100 characters long") << bad;
  }
  // An empty search box means no search.
  for (std::string_view empty : {"q=", "q", "q=+++", "q=%20%09"}) {
    EXPECT_EQ(Parsed(empty).q, "") << empty;
  }
}

TEST(ListQueryTest, QControlCharacters) {
  for (std::string_view bad :
       {"q=a%00b", "q=a%01", "q=a%0Ab", "q=a%7Fb", "q=a%C2%80b", "q=a%C2%9Fb", "q=a\x01"}) {
    EXPECT_EQ(ErrorOf(bad), "q must not contain control characters") << bad;
  }
  EXPECT_EQ(Parsed("q=a%C2%A0b").q,
            "a\xC2\xA0"
            "b");  // NBSP is not a control character
}

TEST(ListQueryTest, InvalidEscapesAndUtf8NameTheParameter) {
  for (std::string_view bad : {"q=%", "q=%4", "q=%zz", "q=%G0", "q=a%", "q=%FF", "q=%C3",
                               "q=%C0%AF",        // overlong '/'
                               "q=%ED%A0%80",     // surrogate
                               "q=%F4%90%80%80",  // above U+10FFFF
                               "q=%E6%97",        // truncated
                               "q=\xFF", "q=%80"}) {
    EXPECT_EQ(ErrorOf(bad), "q has an invalid percent-encoding or is not valid UTF-8") << bad;
  }
  EXPECT_EQ(ErrorOf("limit=%"), "limit has an invalid percent-encoding or is not valid UTF-8");
  EXPECT_EQ(ErrorOf("cursor=%X"), "cursor has an invalid percent-encoding or is not valid UTF-8");
}

TEST(ListQueryTest, RepeatedKeysAreRejected) {
  EXPECT_EQ(ErrorOf("limit=5&limit=5"), "limit must not be given more than once");
  EXPECT_EQ(ErrorOf("q=a&x=1&q=b"), "q must not be given more than once");
  EXPECT_EQ(ErrorOf("q=a&%71=b"), "q must not be given more than once");
  const std::string cursor = Codec().Encode(1, "");
  EXPECT_EQ(ErrorOf("cursor=" + cursor + "&cursor=" + cursor),
            "cursor must not be given more than once");
  // Repeated unknown keys are somebody else's business.
  EXPECT_EQ(Parsed("x=1&x=2&limit=3").limit, 3);
}

// ---- EscapeLikePattern -----------------------------------------------------------------

TEST(EscapeLikePatternTest, EscapesWildcardsAndBackslash) {
  EXPECT_EQ(EscapeLikePattern(""), "");
  EXPECT_EQ(EscapeLikePattern("ada"), "ada");
  EXPECT_EQ(EscapeLikePattern("50%"), "50\\%");
  EXPECT_EQ(EscapeLikePattern("a_b"), "a\\_b");
  EXPECT_EQ(EscapeLikePattern("C:\\x"), "C:\\\\x");
  EXPECT_EQ(EscapeLikePattern("%_\\%"), "\\%\\_\\\\\\%");
  EXPECT_EQ(EscapeLikePattern("caf\xC3\xA9 '*?[]"), "caf\xC3\xA9 '*?[]");
}

}  // namespace
}  // namespace myriad::users

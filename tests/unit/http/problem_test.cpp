#include "http/problem.hpp"

#include <gtest/gtest.h>

#include <boost/json/parse.hpp>
#include <boost/json/value.hpp>
#include <set>
#include <string>
#include <string_view>
#include <vector>

namespace myriad::http {
namespace {

struct Documented {
  ErrorCode code;
  int status;
  std::string_view type;
};

// The table in docs/design/errors.md, which clients rely on.
const std::vector<Documented>& DocumentedCodes() {
  static const std::vector<Documented> kCodes = {
      {ErrorCode::kBadRequest, 400, "urn:myriad:problem:bad-request"},
      {ErrorCode::kUnauthorized, 401, "urn:myriad:problem:unauthorized"},
      {ErrorCode::kForbidden, 403, "urn:myriad:problem:forbidden"},
      {ErrorCode::kNotFound, 404, "urn:myriad:problem:not-found"},
      {ErrorCode::kMethodNotAllowed, 405, "urn:myriad:problem:method-not-allowed"},
      {ErrorCode::kRequestTimeout, 408, "urn:myriad:problem:request-timeout"},
      {ErrorCode::kConflict, 409, "urn:myriad:problem:conflict"},
      {ErrorCode::kPreconditionFailed, 412, "urn:myriad:problem:precondition-failed"},
      {ErrorCode::kPayloadTooLarge, 413, "urn:myriad:problem:payload-too-large"},
      {ErrorCode::kUnsupportedMediaType, 415, "urn:myriad:problem:unsupported-media-type"},
      {ErrorCode::kValidation, 422, "urn:myriad:problem:validation"},
      {ErrorCode::kTooManyRequests, 429, "urn:myriad:problem:too-many-requests"},
      {ErrorCode::kTooManyConnections, 429, "urn:myriad:problem:too-many-connections"},
      {ErrorCode::kHeadersTooLarge, 431, "urn:myriad:problem:headers-too-large"},
      {ErrorCode::kInternal, 500, "urn:myriad:problem:internal"},
      {ErrorCode::kNotImplemented, 501, "urn:myriad:problem:not-implemented"},
      {ErrorCode::kOverloaded, 503, "urn:myriad:problem:overloaded"},
      {ErrorCode::kUnavailable, 503, "urn:myriad:problem:unavailable"},
      {ErrorCode::kGatewayTimeout, 504, "urn:myriad:problem:timeout"},
      {ErrorCode::kVersionNotSupported, 505, "urn:myriad:problem:http-version"},
  };
  return kCodes;
}

TEST(ProblemTest, TableCoversEveryErrorCode) {
  // kVersionNotSupported is the last enumerator; a new code must be added to the table.
  EXPECT_EQ(DocumentedCodes().size(),
            static_cast<std::size_t>(ErrorCode::kVersionNotSupported) + 1);
}

TEST(ProblemTest, EveryCodeMapsToItsDocumentedStatusAndType) {
  std::set<std::string_view> types;
  for (const auto& [code, status, type] : DocumentedCodes()) {
    SCOPED_TRACE(type);
    EXPECT_EQ(GetHttpStatus(code), status);
    EXPECT_EQ(GetProblemType(code), type);
    EXPECT_TRUE(GetProblemType(code).starts_with("urn:myriad:problem:"));
    EXPECT_FALSE(GetProblemTitle(code).empty());
    EXPECT_NE(ReasonPhrase(status), "Unknown");
    types.insert(GetProblemType(code));
  }
  EXPECT_EQ(types.size(), DocumentedCodes().size()) << "problem types must be distinct";
}

TEST(ProblemTest, ReasonPhrases) {
  EXPECT_EQ(ReasonPhrase(200), "OK");
  EXPECT_EQ(ReasonPhrase(204), "No Content");
  EXPECT_EQ(ReasonPhrase(404), "Not Found");
  EXPECT_EQ(ReasonPhrase(431), "Request Header Fields Too Large");
  EXPECT_EQ(ReasonPhrase(503), "Service Unavailable");
  EXPECT_EQ(ReasonPhrase(599), "Unknown");
  EXPECT_EQ(ReasonPhrase(0), "Unknown");
}

TEST(ProblemTest, BodyIsProblemJsonWithAllFields) {
  for (const auto& [code, status, type] : DocumentedCodes()) {
    SCOPED_TRACE(type);
    Response r = ProblemResponse({code, "Something about this request."}, "req-123");
    EXPECT_EQ(r.status, status);
    EXPECT_EQ(r.content_type, "application/problem+json");
    boost::system::error_code ec;
    boost::json::value v = boost::json::parse(r.body, ec);
    ASSERT_FALSE(ec) << r.body;
    ASSERT_TRUE(v.is_object()) << r.body;
    const auto& o = v.as_object();
    ASSERT_TRUE(o.contains("type") && o.at("type").is_string());
    EXPECT_EQ(o.at("type").as_string(), type);
    ASSERT_TRUE(o.contains("title") && o.at("title").is_string());
    EXPECT_EQ(o.at("title").as_string(), GetProblemTitle(code));
    ASSERT_TRUE(o.contains("status") && o.at("status").is_int64());
    EXPECT_EQ(o.at("status").as_int64(), status);
    ASSERT_TRUE(o.contains("detail") && o.at("detail").is_string());
    EXPECT_EQ(o.at("detail").as_string(), "Something about this request.");
    ASSERT_TRUE(o.contains("request_id") && o.at("request_id").is_string());
    EXPECT_EQ(o.at("request_id").as_string(), "req-123");
  }
}

TEST(ProblemTest, EmptyDetailFallsBackToTitle) {
  Response r = ProblemResponse({ErrorCode::kNotFound, ""}, "id");
  boost::json::value v = boost::json::parse(r.body);
  EXPECT_EQ(v.at("detail").as_string(), GetProblemTitle(ErrorCode::kNotFound));
}

TEST(ProblemTest, DetailWithQuotesAndControlCharactersStaysValidJson) {
  const std::string detail = "bad \"name\" \\ \n\t\x01 end";
  Response r = ProblemResponse({ErrorCode::kValidation, detail}, "id");
  boost::system::error_code ec;
  boost::json::value v = boost::json::parse(r.body, ec);
  ASSERT_FALSE(ec) << r.body;
  EXPECT_EQ(v.at("detail").as_string(), detail);
}

TEST(ProblemTest, EmptyRequestIdIsOmitted) {
  // The server has no id when it answers before a request was read (timeouts).
  Response r = ProblemResponse({ErrorCode::kRequestTimeout, "slow"}, "");
  boost::json::value v = boost::json::parse(r.body);
  EXPECT_FALSE(v.as_object().contains("request_id"));
}

TEST(ProblemTest, UnauthorizedCarriesWwwAuthenticate) {
  Response r = ProblemResponse({ErrorCode::kUnauthorized, "no token"}, "id");
  ASSERT_EQ(r.headers.size(), 1u);
  EXPECT_EQ(r.headers[0].first, "WWW-Authenticate");
  EXPECT_EQ(r.headers[0].second, "Bearer");
}

TEST(ProblemTest, OtherCodesCarryNoExtraHeaders) {
  for (const auto& [code, status, type] : DocumentedCodes()) {
    if (code == ErrorCode::kUnauthorized) continue;
    EXPECT_TRUE(ProblemResponse({code, ""}, "id").headers.empty()) << type;
  }
}

TEST(ProblemTest, FieldErrorsAreSentAsErrorsMember) {
  Error error{ErrorCode::kValidation, "The request has invalid fields.", {}};
  error.errors.push_back({"email", "invalid", "email must be a valid address."});
  error.errors.push_back({"", "empty", "Say \"what\" to change.\n"});
  Response r = ProblemResponse(error, "id");
  EXPECT_EQ(r.status, 422);
  boost::system::error_code ec;
  boost::json::value v = boost::json::parse(r.body, ec);
  ASSERT_FALSE(ec) << r.body;
  const auto& o = v.as_object();
  ASSERT_TRUE(o.contains("errors") && o.at("errors").is_array()) << r.body;
  const auto& errors = o.at("errors").as_array();
  ASSERT_EQ(errors.size(), 2u);
  for (std::size_t i = 0; i < errors.size(); ++i) {
    SCOPED_TRACE(i);
    ASSERT_TRUE(errors[i].is_object());
    const auto& e = errors[i].as_object();
    EXPECT_EQ(e.size(), 3u);
    ASSERT_TRUE(e.contains("field") && e.at("field").is_string());
    ASSERT_TRUE(e.contains("code") && e.at("code").is_string());
    ASSERT_TRUE(e.contains("message") && e.at("message").is_string());
    EXPECT_EQ(e.at("field").as_string(), error.errors[i].field);
    EXPECT_EQ(e.at("code").as_string(), error.errors[i].code);
    EXPECT_EQ(e.at("message").as_string(), error.errors[i].message);
  }
}

TEST(ProblemTest, NoFieldErrorsMeansNoErrorsMember) {
  for (const auto& [code, status, type] : DocumentedCodes()) {
    boost::json::value v = boost::json::parse(ProblemResponse({code, "x", {}}, "id").body);
    EXPECT_FALSE(v.as_object().contains("errors")) << type;
  }
}

}  // namespace
}  // namespace myriad::http

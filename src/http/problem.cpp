#include "http/problem.hpp"

#include <boost/json/object.hpp>
#include <boost/json/serialize.hpp>

namespace myriad::http {
namespace {

struct ProblemInfo {
  int status;
  std::string_view type;
  std::string_view title;
};

ProblemInfo Info(ErrorCode code) {
  switch (code) {
    case ErrorCode::kBadRequest:
      return {400, "urn:myriad:problem:bad-request", "Bad request"};
    case ErrorCode::kUnauthorized:
      return {401, "urn:myriad:problem:unauthorized", "Authentication required"};
    case ErrorCode::kForbidden:
      return {403, "urn:myriad:problem:forbidden", "Forbidden"};
    case ErrorCode::kNotFound:
      return {404, "urn:myriad:problem:not-found", "Not found"};
    case ErrorCode::kMethodNotAllowed:
      return {405, "urn:myriad:problem:method-not-allowed", "Method not allowed"};
    case ErrorCode::kRequestTimeout:
      return {408, "urn:myriad:problem:request-timeout", "Request timeout"};
    case ErrorCode::kConflict:
      return {409, "urn:myriad:problem:conflict", "Conflict"};
    case ErrorCode::kPreconditionFailed:
      return {412, "urn:myriad:problem:precondition-failed", "Precondition failed"};
    case ErrorCode::kPayloadTooLarge:
      return {413, "urn:myriad:problem:payload-too-large", "Request body too large"};
    case ErrorCode::kUnsupportedMediaType:
      return {415, "urn:myriad:problem:unsupported-media-type", "Unsupported media type"};
    case ErrorCode::kValidation:
      return {422, "urn:myriad:problem:validation", "Validation failed"};
    case ErrorCode::kTooManyRequests:
      return {429, "urn:myriad:problem:too-many-requests", "Too many requests"};
    case ErrorCode::kTooManyConnections:
      return {429, "urn:myriad:problem:too-many-connections", "Too many connections"};
    case ErrorCode::kHeadersTooLarge:
      return {431, "urn:myriad:problem:headers-too-large", "Request header fields too large"};
    case ErrorCode::kInternal:
      return {500, "urn:myriad:problem:internal", "Internal server error"};
    case ErrorCode::kNotImplemented:
      return {501, "urn:myriad:problem:not-implemented", "Not implemented"};
    case ErrorCode::kOverloaded:
      return {503, "urn:myriad:problem:overloaded", "Server overloaded"};
    case ErrorCode::kUnavailable:
      return {503, "urn:myriad:problem:unavailable", "Service unavailable"};
    case ErrorCode::kGatewayTimeout:
      return {504, "urn:myriad:problem:timeout", "Upstream timeout"};
    case ErrorCode::kVersionNotSupported:
      return {505, "urn:myriad:problem:http-version", "HTTP version not supported"};
  }
  return {500, "urn:myriad:problem:internal", "Internal server error"};
}

}  // namespace

int GetHttpStatus(ErrorCode code) { return Info(code).status; }
std::string_view GetProblemType(ErrorCode code) { return Info(code).type; }
std::string_view GetProblemTitle(ErrorCode code) { return Info(code).title; }

std::string_view ReasonPhrase(int status) {
  switch (status) {
    case 100:
      return "Continue";
    case 101:
      return "Switching Protocols";
    case 200:
      return "OK";
    case 201:
      return "Created";
    case 202:
      return "Accepted";
    case 204:
      return "No Content";
    case 206:
      return "Partial Content";
    case 301:
      return "Moved Permanently";
    case 302:
      return "Found";
    case 303:
      return "See Other";
    case 304:
      return "Not Modified";
    case 307:
      return "Temporary Redirect";
    case 308:
      return "Permanent Redirect";
    case 400:
      return "Bad Request";
    case 401:
      return "Unauthorized";
    case 403:
      return "Forbidden";
    case 404:
      return "Not Found";
    case 405:
      return "Method Not Allowed";
    case 406:
      return "Not Acceptable";
    case 408:
      return "Request Timeout";
    case 409:
      return "Conflict";
    case 410:
      return "Gone";
    case 411:
      return "Length Required";
    case 412:
      return "Precondition Failed";
    case 413:
      return "Content Too Large";
    case 414:
      return "URI Too Long";
    case 415:
      return "Unsupported Media Type";
    case 417:
      return "Expectation Failed";
    case 422:
      return "Unprocessable Content";
    case 428:
      return "Precondition Required";
    case 429:
      return "Too Many Requests";
    case 431:
      return "Request Header Fields Too Large";
    case 500:
      return "Internal Server Error";
    case 501:
      return "Not Implemented";
    case 502:
      return "Bad Gateway";
    case 503:
      return "Service Unavailable";
    case 504:
      return "Gateway Timeout";
    case 505:
      return "HTTP Version Not Supported";
    default:
      return "Unknown";
  }
}

Response ProblemResponse(const Error& error, std::string_view request_id) {
  const ProblemInfo info = Info(error.code);
  boost::json::object body;
  body["type"] = info.type;
  body["title"] = info.title;
  body["status"] = info.status;
  body["detail"] = error.detail.empty() ? info.title : std::string_view(error.detail);
  if (!request_id.empty()) body["request_id"] = request_id;
  if (!error.errors.empty()) {
    boost::json::array errors;
    errors.reserve(error.errors.size());
    for (const auto& e : error.errors) {
      errors.push_back(
          boost::json::object{{"field", e.field}, {"code", e.code}, {"message", e.message}});
    }
    body["errors"] = std::move(errors);
  }

  Response response;
  response.status = info.status;
  response.content_type = kProblemType;
  response.body = boost::json::serialize(body);
  if (error.code == ErrorCode::kUnauthorized) response.Header("WWW-Authenticate", "Bearer");
  return response;
}

}  // namespace myriad::http

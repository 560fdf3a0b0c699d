#include "users/user_input.hpp"

#include <algorithm>
#include <boost/json/basic_parser_impl.hpp>
#include <boost/json/error.hpp>
#include <boost/json/parse_options.hpp>
#include <cstddef>
#include <cstdint>
#include <limits>
#include <unordered_map>
#include <utility>

#include "users/text.hpp"

namespace myriad::users {
namespace {

using text::CountCodePoints;
using text::HasControlCharacter;
using text::TrimAscii;

constexpr std::size_t kMaxDepth = 32;
constexpr std::size_t kMaxLocalPartLength = 64;
constexpr std::size_t kMaxDomainLength = 253;
constexpr std::size_t kMaxLabelLength = 63;

bool IsLowerAlnum(char c) { return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9'); }

bool IsValidDomain(std::string_view domain) {
  if (domain.empty() || domain.size() > kMaxDomainLength) return false;
  std::size_t labels = 0;
  while (true) {
    const std::size_t dot = domain.find('.');
    const std::string_view label = domain.substr(0, dot);
    if (label.empty() || label.size() > kMaxLabelLength) return false;
    if (label.front() == '-' || label.back() == '-') return false;
    for (const char c : label) {
      if (!IsLowerAlnum(c) && c != '-') return false;
    }
    ++labels;
    if (dot == std::string_view::npos) break;
    domain.remove_prefix(dot + 1);
  }
  return labels >= 2;
}

// What the body's top-level object holds, gathered in one pass of Boost.JSON's SAX
// parser: boost::json::object keeps only the last of duplicate keys, and a duplicate must
// be reported rather than silently resolved.
enum class Kind { kNone, kObject, kArray, kString, kNumber, kBool, kNull };

struct Member {
  std::string key;
  Kind kind = Kind::kNone;
  std::string text;  // the value when kind == kString
};

// NOLINTBEGIN(readability-identifier-naming,readability-convert-member-functions-to-static):
// Boost.JSON's handler concept fixes these names and calls them on an object.
class TopLevelHandler {
 public:
  static constexpr std::size_t max_object_size = std::numeric_limits<std::size_t>::max();
  static constexpr std::size_t max_array_size = std::numeric_limits<std::size_t>::max();
  static constexpr std::size_t max_key_size = std::numeric_limits<std::size_t>::max();
  static constexpr std::size_t max_string_size = std::numeric_limits<std::size_t>::max();

  Kind root() const { return root_; }
  std::vector<Member>& members() { return members_; }

  bool on_document_begin(boost::json::error_code& /*ec*/) { return true; }
  bool on_document_end(boost::json::error_code& /*ec*/) { return true; }
  bool on_object_begin(boost::json::error_code& /*ec*/) {
    Value(Kind::kObject);
    ++depth_;
    return true;
  }
  bool on_object_end(std::size_t /*n*/, boost::json::error_code& /*ec*/) {
    --depth_;
    return true;
  }
  bool on_array_begin(boost::json::error_code& /*ec*/) {
    Value(Kind::kArray);
    ++depth_;
    return true;
  }
  bool on_array_end(std::size_t /*n*/, boost::json::error_code& /*ec*/) {
    --depth_;
    return true;
  }
  bool on_key_part(boost::json::string_view s, std::size_t /*n*/, boost::json::error_code& /*ec*/) {
    if (AtTopLevelMember()) key_.append(s.data(), s.size());
    return true;
  }
  bool on_key(boost::json::string_view s, std::size_t /*n*/, boost::json::error_code& /*ec*/) {
    if (AtTopLevelMember()) {
      key_.append(s.data(), s.size());
      members_.push_back(Member{std::exchange(key_, {}), Kind::kNone, {}});
    }
    return true;
  }
  bool on_string_part(boost::json::string_view s, std::size_t /*n*/,
                      boost::json::error_code& /*ec*/) {
    if (AtTopLevelMember()) text_.append(s.data(), s.size());
    return true;
  }
  bool on_string(boost::json::string_view s, std::size_t /*n*/, boost::json::error_code& /*ec*/) {
    if (AtTopLevelMember()) {
      text_.append(s.data(), s.size());
      members_.back().text = std::exchange(text_, {});
    }
    Value(Kind::kString);
    return true;
  }
  bool on_number_part(boost::json::string_view /*s*/, boost::json::error_code& /*ec*/) {
    return true;
  }
  bool on_int64(std::int64_t /*i*/, boost::json::string_view /*s*/,
                boost::json::error_code& /*ec*/) {
    Value(Kind::kNumber);
    return true;
  }
  bool on_uint64(std::uint64_t /*u*/, boost::json::string_view /*s*/,
                 boost::json::error_code& /*ec*/) {
    Value(Kind::kNumber);
    return true;
  }
  bool on_double(double /*d*/, boost::json::string_view /*s*/, boost::json::error_code& /*ec*/) {
    Value(Kind::kNumber);
    return true;
  }
  bool on_bool(bool /*b*/, boost::json::error_code& /*ec*/) {
    Value(Kind::kBool);
    return true;
  }
  bool on_null(boost::json::error_code& /*ec*/) {
    Value(Kind::kNull);
    return true;
  }
  bool on_comment_part(boost::json::string_view /*s*/, boost::json::error_code& /*ec*/) {
    return true;
  }
  bool on_comment(boost::json::string_view /*s*/, boost::json::error_code& /*ec*/) { return true; }

 private:
  // Keys and values directly inside the root object; deeper ones are only checked for
  // syntax.
  bool AtTopLevelMember() const { return depth_ == 1 && root_ == Kind::kObject; }

  void Value(Kind kind) {
    if (depth_ == 0) {
      root_ = kind;
    } else if (AtTopLevelMember()) {
      members_.back().kind = kind;
    }
  }

  std::size_t depth_ = 0;
  Kind root_ = Kind::kNone;
  std::vector<Member> members_;
  std::string key_;
  std::string text_;
};
// NOLINTEND(readability-identifier-naming,readability-convert-member-functions-to-static)

http::Error BadRequest(std::string detail) {
  return http::Error{http::ErrorCode::kBadRequest, std::move(detail), {}};
}

core::Result<std::vector<Member>, http::Error> ParseTopLevel(std::string_view body) {
  boost::json::parse_options options;
  options.max_depth = kMaxDepth;
  boost::json::basic_parser<TopLevelHandler> parser(options);
  boost::json::error_code ec;
  const std::size_t consumed = parser.write_some(false, body.data(), body.size(), ec);
  if (!ec && !TrimAscii(body.substr(consumed)).empty()) ec = boost::json::error::extra_data;
  if (ec == boost::json::error::too_deep) {
    return core::Unexpected{BadRequest("The request body nests deeper than 32 levels.")};
  }
  if (ec) {
    return core::Unexpected{BadRequest("The request body is not valid JSON (" + ec.message() +
                                       " at byte " + std::to_string(consumed) + ").")};
  }
  if (parser.handler().root() != Kind::kObject) {
    return core::Unexpected{BadRequest("The request body must be a JSON object.")};
  }
  return std::move(parser.handler().members());
}

// The fields both bodies share; which are required is the caller's business.
struct Fields {
  std::optional<std::string> email;
  std::optional<std::string> name;
  std::optional<std::string> password;
  std::optional<Role> role;
  std::optional<Status> status;
};

void AddError(std::vector<http::FieldError>& errors, std::string_view field, std::string_view code,
              std::string message) {
  errors.push_back(http::FieldError{std::string(field), std::string(code), std::move(message)});
}

bool IsKnownField(std::string_view key) {
  return key == "email" || key == "name" || key == "password" || key == "role" || key == "status";
}

void ValidateMember(const Member& m, Fields& fields, std::vector<http::FieldError>& errors) {
  if (m.kind != Kind::kString) {
    AddError(errors, m.key, "invalid_type", m.key + " must be a string.");
    return;
  }
  if (m.key == "email") {
    if (TrimAscii(m.text).size() > kMaxEmailLength) {
      AddError(errors, m.key, "too_long",
               "email must be at most " + std::to_string(kMaxEmailLength) + " characters.");
    } else if (auto email = NormalizeEmail(m.text)) {
      fields.email = std::move(*email);
    } else {
      AddError(errors, m.key, "invalid", "email must be a valid address such as ada@example.com.");
    }
  } else if (m.key == "name") {
    auto name = CheckName(m.text, m.key);
    if (name) {
      fields.name = std::move(*name);
    } else {
      errors.push_back(std::move(name).error());
    }
  } else if (m.key == "password") {
    if (auto error = CheckPassword(m.text, m.key)) {
      errors.push_back(std::move(*error));
    } else {
      fields.password = m.text;
    }
  } else if (m.key == "role") {
    fields.role = ParseRole(m.text);
    if (!fields.role)
      AddError(errors, m.key, "unknown_value", R"(role must be "user" or "admin".)");
  } else if (m.key == "status") {
    fields.status = ParseStatus(m.text);
    if (!fields.status) {
      AddError(errors, m.key, "unknown_value", R"(status must be "active" or "disabled".)");
    }
  }
}

// Errors come in the order of the body's keys, then the missing required fields.
core::Result<Fields, http::Error> ParseFields(std::string_view body, bool create) {
  auto members = ParseTopLevel(body);
  if (!members) return core::Unexpected{std::move(members).error()};

  std::unordered_map<std::string_view, int> occurrences;
  for (const Member& m : *members) ++occurrences[m.key];

  Fields fields;
  std::vector<http::FieldError> errors;
  for (const Member& m : *members) {
    int& count = occurrences[m.key];
    if (count == 0) continue;  // a repeated key already reported
    if (!IsKnownField(m.key)) {
      AddError(errors, m.key, "unknown_field",
               "Unknown field; a user has email, name, password, role and status.");
    } else if (count > 1) {
      AddError(errors, m.key, "duplicate_field", m.key + " appears more than once.");
    } else {
      ValidateMember(m, fields, errors);
    }
    count = 0;
  }
  if (create) {
    for (const std::string_view required : {"email", "name"}) {
      if (!occurrences.contains(required)) {
        AddError(errors, required, "required", std::string(required) + " is required.");
      }
    }
  }
  if (!create && errors.empty() && !fields.email && !fields.name && !fields.password &&
      !fields.role && !fields.status) {
    AddError(errors, "", "empty", "The request body must contain at least one field to change.");
  }
  if (!errors.empty()) {
    return core::Unexpected{
        http::Error{http::ErrorCode::kValidation,
                    errors.size() == 1 ? errors.front().message : "The request has invalid fields.",
                    std::move(errors)}};
  }
  return fields;
}

}  // namespace

core::Result<std::string, http::FieldError> CheckName(std::string_view text,
                                                      std::string_view field) {
  const std::string_view name = TrimAscii(text);
  const std::string f(field);
  if (name.empty()) {
    return core::Unexpected{http::FieldError{f, "too_short", f + " must not be empty."}};
  }
  if (HasControlCharacter(name)) {
    return core::Unexpected{
        http::FieldError{f, "invalid", f + " must not contain control characters."}};
  }
  if (CountCodePoints(name) > kMaxNameLength) {
    return core::Unexpected{http::FieldError{
        f, "too_long", f + " must be at most " + std::to_string(kMaxNameLength) + " characters."}};
  }
  return std::string(name);
}

std::optional<http::FieldError> CheckPassword(std::string_view password, std::string_view field) {
  // Not trimmed: spaces at either end are part of what the user chose.
  const std::size_t length = CountCodePoints(password);
  const std::string f(field);
  if (length < kMinPasswordLength) {
    return http::FieldError{
        f, "too_short",
        f + " must be at least " + std::to_string(kMinPasswordLength) + " characters."};
  }
  if (length > kMaxPasswordLength) {
    return http::FieldError{
        f, "too_long",
        f + " must be at most " + std::to_string(kMaxPasswordLength) + " characters."};
  }
  return std::nullopt;
}

core::Result<StringFields, http::Error> ParseStringFields(
    std::string_view body, std::initializer_list<std::string_view> allowed,
    std::initializer_list<std::string_view> required) {
  auto members = ParseTopLevel(body);
  if (!members) return core::Unexpected{std::move(members).error()};
  StringFields fields;
  std::vector<http::FieldError> errors;
  std::unordered_map<std::string_view, int> occurrences;
  for (const Member& m : *members) ++occurrences[m.key];
  for (const Member& m : *members) {
    int& count = occurrences[m.key];
    if (count == 0) continue;  // a repeated key already reported
    if (std::find(allowed.begin(), allowed.end(), m.key) == allowed.end()) {
      AddError(errors, m.key, "unknown_field", "Unknown field.");
    } else if (count > 1) {
      AddError(errors, m.key, "duplicate_field", m.key + " appears more than once.");
    } else if (m.kind != Kind::kString) {
      AddError(errors, m.key, "invalid_type", m.key + " must be a string.");
    } else {
      fields.emplace(m.key, m.text);
    }
    count = 0;
  }
  for (const std::string_view name : required) {
    if (!occurrences.contains(name)) {
      AddError(errors, name, "required", std::string(name) + " is required.");
    }
  }
  if (!errors.empty()) {
    return core::Unexpected{
        http::Error{http::ErrorCode::kValidation,
                    errors.size() == 1 ? errors.front().message : "The request has invalid fields.",
                    std::move(errors)}};
  }
  return fields;
}

std::optional<std::string> NormalizeEmail(std::string_view text) {
  const std::string_view trimmed = TrimAscii(text);
  if (trimmed.size() > kMaxEmailLength) return std::nullopt;
  std::string email(trimmed);
  for (char& c : email) {
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
  }
  const std::size_t at = email.find('@');
  if (at == std::string::npos || email.find('@', at + 1) != std::string::npos) {
    return std::nullopt;
  }
  const std::string_view local = std::string_view(email).substr(0, at);
  const std::string_view domain = std::string_view(email).substr(at + 1);
  if (local.empty() || local.size() > kMaxLocalPartLength) return std::nullopt;
  for (const char c : local) {
    if (c == ' ') return std::nullopt;
  }
  if (HasControlCharacter(local)) return std::nullopt;
  if (!IsValidDomain(domain)) return std::nullopt;
  return email;
}

core::Result<CreateUserInput, http::Error> ParseCreateUser(std::string_view body) {
  auto fields = ParseFields(body, /*create=*/true);
  if (!fields) return core::Unexpected{std::move(fields).error()};
  CreateUserInput input;
  input.email = std::move(*fields->email);
  input.name = std::move(*fields->name);
  input.password = std::move(fields->password);
  input.role = fields->role.value_or(Role::kUser);
  input.status = fields->status.value_or(Status::kActive);
  return input;
}

core::Result<UpdateUserInput, http::Error> ParseUpdateUser(std::string_view body) {
  auto fields = ParseFields(body, /*create=*/false);
  if (!fields) return core::Unexpected{std::move(fields).error()};
  UpdateUserInput input;
  input.email = std::move(fields->email);
  input.name = std::move(fields->name);
  input.password = std::move(fields->password);
  input.role = fields->role;
  input.status = fields->status;
  return input;
}

}  // namespace myriad::users

// Fuzzes the request-body validation of POST and PATCH /api/users: ParseCreateUser and
// ParseUpdateUser on the same untrusted bytes. Both must return (never throw or crash),
// and what they accept must satisfy the limits the handlers and the schema rely on.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "users/user_input.hpp"

namespace {

using myriad::http::ErrorCode;
namespace users = myriad::users;

#define FUZZ_CHECK(cond)       \
  do {                         \
    if (!(cond)) std::abort(); \
  } while (false)

void CheckEmail(const std::string& email) {
  FUZZ_CHECK(!email.empty() && email.size() <= users::kMaxEmailLength);
  FUZZ_CHECK(users::NormalizeEmail(email) == email);  // normalising is idempotent
}

void CheckName(const std::string& name) {
  FUZZ_CHECK(!name.empty() && name.size() <= 4 * users::kMaxNameLength);
  FUZZ_CHECK(name.front() != ' ' && name.back() != ' ');
}

void CheckPassword(const std::string& password) {
  FUZZ_CHECK(password.size() >= users::kMinPasswordLength);
  FUZZ_CHECK(password.size() <= 4 * users::kMaxPasswordLength);
}

void CheckError(const myriad::http::Error& error) {
  FUZZ_CHECK(error.code == ErrorCode::kBadRequest || error.code == ErrorCode::kValidation);
  FUZZ_CHECK(!error.detail.empty());
  FUZZ_CHECK((error.code == ErrorCode::kValidation) == !error.errors.empty());
  for (const auto& e : error.errors) FUZZ_CHECK(!e.code.empty() && !e.message.empty());
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view body(reinterpret_cast<const char*>(data), size);

  const auto create = users::ParseCreateUser(body);
  if (create) {
    CheckEmail(create->email);
    CheckName(create->name);
    if (create->password) CheckPassword(*create->password);
  } else {
    CheckError(create.error());
  }

  const auto update = users::ParseUpdateUser(body);
  if (update) {
    FUZZ_CHECK(!update->empty());
    if (update->email) CheckEmail(*update->email);
    if (update->name) CheckName(*update->name);
    if (update->password) CheckPassword(*update->password);
  } else {
    CheckError(update.error());
  }
  // A body that is not a JSON object fails both the same way.
  if (!create && create.error().code == ErrorCode::kBadRequest) {
    FUZZ_CHECK(!update && update.error().code == ErrorCode::kBadRequest);
  }
  return 0;
}

#pragma once

#include <cstdint>
#include <filesystem>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

namespace myriad::auth {
struct TokenClaims;
}

namespace myriad::testing {

/// An account made for a test: written with SQL into the server's schema (with a cheap
/// Argon2id hash, so making one costs milliseconds), then logged in over HTTP.
struct TestAccount {
  std::int64_t id = 0;
  std::string email;
  std::string password;
  std::string access_token;
  std::string refresh_token;

  /// {"Authorization", "Bearer <access_token>"}, plus a JSON Content-Type.
  std::vector<std::pair<std::string, std::string>> Headers() const;
  std::pair<std::string, std::string> Authorization() const;
};

/// Inserts an active account (an admin when `admin`) through `database_url` (a URL whose
/// search path is the server's schema) and logs it in at the server on `port`. nullopt
/// (with a test failure added) when either step fails.
std::optional<TestAccount> MakeAccount(const std::string& database_url, std::uint16_t port,
                                       bool admin, const std::string& name = "Test Account");

/// A signing key file for a test server (pass Flags() to it) and access tokens signed with
/// it, so a test can act as any account without logging in. The token still has to name
/// an active account: access control reads it.
class TestSigner {
 public:
  TestSigner();
  ~TestSigner();
  TestSigner(const TestSigner&) = delete;
  TestSigner& operator=(const TestSigner&) = delete;

  /// {"--jwt-key-files", <path>}.
  std::vector<std::string> Flags() const;
  /// An access token for `user_id` with the default issuer and audience, valid 1 hour.
  std::string Token(std::int64_t user_id, bool admin = false) const;
  /// {"Authorization", "Bearer " + Token(user_id, admin)}.
  std::pair<std::string, std::string> Bearer(std::int64_t user_id, bool admin = false) const;
  /// A token with exactly these claims, signed with the same key: for tokens the server
  /// must refuse (expired, another issuer or audience). Requires issued_at < expires_at
  /// and a subject.
  std::string Mint(const auth::TokenClaims& claims) const;

 private:
  std::filesystem::path dir_;
  struct Keys;
  std::unique_ptr<Keys> keys_;
};

}  // namespace myriad::testing

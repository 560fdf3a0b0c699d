#include "support/accounts_support.hpp"

#include <gtest/gtest.h>

#include <atomic>
#include <boost/json.hpp>
#include <random>

#include "auth/authenticator.hpp"
#include "auth/jwt.hpp"
#include "auth/password.hpp"
#include "auth/signing_keys.hpp"
#include "support/http_client.hpp"
#include "support/pg_support.hpp"

namespace myriad::testing {

std::vector<std::pair<std::string, std::string>> TestAccount::Headers() const {
  return {{"Content-Type", "application/json"}, Authorization()};
}

std::pair<std::string, std::string> TestAccount::Authorization() const {
  return {"Authorization", "Bearer " + access_token};
}

std::optional<TestAccount> MakeAccount(const std::string& database_url, std::uint16_t port,
                                       bool admin, const std::string& name) {
  static std::atomic<int> counter{0};
  TestAccount account;
  account.email = "account" + std::to_string(std::random_device{}() % 1'000'000) + "-" +
                  std::to_string(counter++) + "@example.com";
  account.password = "a test password " + std::to_string(counter.load());
  // Low cost: these accounts exist to call other endpoints, not to measure hashing.
  const auto hash = auth::HashPassword(account.password, {1, 64 * 1024});
  if (!hash) {
    ADD_FAILURE() << "cannot hash a password";
    return std::nullopt;
  }
  std::string id;
  const std::string error =
      Sql(database_url,
          "INSERT INTO users (email, name, password_hash, role) VALUES ('" + account.email +
              "', '" + name + "', '" + *hash + "', " + (admin ? "1" : "0") + ") RETURNING id",
          &id);
  if (!error.empty()) {
    ADD_FAILURE() << "cannot insert the account: " << error;
    return std::nullopt;
  }
  account.id = std::stoll(id);
  auto login =
      Call(port, "POST", "/api/auth/login",
           R"({"email":")" + account.email + R"(","password":")" + account.password + "\"}",
           {{"Content-Type", "application/json"}});
  if (!login || login->status != 200) {
    ADD_FAILURE() << "cannot log in: " << (login ? login->body : "no answer");
    return std::nullopt;
  }
  boost::system::error_code ec;
  const auto body = boost::json::parse(login->body, ec);
  if (ec || !body.is_object()) {
    ADD_FAILURE() << "login answered " << login->body;
    return std::nullopt;
  }
  account.access_token = std::string(body.at("access_token").as_string());
  account.refresh_token = std::string(body.at("refresh_token").as_string());
  return account;
}

struct TestSigner::Keys {
  std::string path;
  std::optional<auth::KeySet> set;
};

TestSigner::TestSigner() : keys_(std::make_unique<Keys>()) {
  dir_ = std::filesystem::temp_directory_path() /
         ("myriad-signer-" + std::to_string(std::random_device{}()));
  std::filesystem::create_directories(dir_);
  keys_->path = (dir_ / "signing.key").string();
  auto key = auth::GenerateKeyFile(keys_->path, "test");
  if (!key) {
    ADD_FAILURE() << "cannot write a key file: " << key.error();
    return;
  }
  std::vector<auth::SigningKey> keys;
  keys.push_back(std::move(*key));
  auto set = auth::KeySet::Create(std::move(keys));
  if (!set) {
    ADD_FAILURE() << set.error();
    return;
  }
  keys_->set = std::move(*set);
}

TestSigner::~TestSigner() {
  std::error_code ignored;
  std::filesystem::remove_all(dir_, ignored);
}

std::vector<std::string> TestSigner::Flags() const { return {"--jwt-key-files", keys_->path}; }

std::string TestSigner::Token(std::int64_t user_id, bool admin) const {
  if (!keys_->set) return "no-key";
  auth::TokenClaims claims;
  claims.subject = std::to_string(user_id);
  claims.role = admin ? "admin" : "user";
  claims.issuer = "myriad";
  claims.audience = "myriad-api";
  claims.issued_at = auth::UnixNow();
  claims.expires_at = claims.issued_at + 3600;
  return Mint(claims);
}

std::string TestSigner::Mint(const auth::TokenClaims& claims) const {
  if (!keys_->set) return "no-key";
  return auth::Issue(claims, *keys_->set);
}

std::pair<std::string, std::string> TestSigner::Bearer(std::int64_t user_id, bool admin) const {
  return {"Authorization", "Bearer " + Token(user_id, admin)};
}

}  // namespace myriad::testing

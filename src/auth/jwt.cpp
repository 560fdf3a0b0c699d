#include "auth/jwt.hpp"

#include <sodium.h>

#include <algorithm>
#include <array>
#include <boost/json/monotonic_resource.hpp>
#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>
#include <boost/json/value.hpp>
#include <cassert>
#include <limits>
#include <optional>

#include "auth/base64url.hpp"

namespace myriad::auth {
namespace {

namespace json = boost::json;

constexpr std::string_view kAlgorithm = "EdDSA";
constexpr std::string_view kType = "JWT";
constexpr std::size_t kTokenIdBytes = 16;

core::Unexpected<TokenError> Fail(TokenError error) { return core::Unexpected<TokenError>{error}; }

std::string_view View(const json::string& s) { return {s.data(), s.size()}; }

// The member's string, or nullopt when it is absent or not a string.
std::optional<std::string_view> StringMember(const json::object& object, std::string_view key) {
  const json::value* v = object.if_contains(key);
  if (v == nullptr || !v->is_string()) {
    return std::nullopt;
  }
  return View(v->get_string());
}

// NumericDate as we issue it: an integer. Boost.JSON keeps integers that fit in int64 as
// int64, so a double ("1.7e9") or a uint64 beyond int64 is refused here.
std::optional<std::int64_t> IntMember(const json::object& object, std::string_view key) {
  const json::value* v = object.if_contains(key);
  if (v == nullptr || !v->is_int64()) {
    return std::nullopt;
  }
  return v->get_int64();
}

// Written as a subtraction-free test so a hostile iat near INT64_MAX cannot overflow.
bool TooFarAhead(std::int64_t time, std::int64_t now) {
  return now <= std::numeric_limits<std::int64_t>::max() - kClockLeeway &&
         time > now + kClockLeeway;
}

bool AudienceMatches(const json::value* aud, std::string_view audience) {
  if (aud == nullptr) {
    return false;
  }
  if (aud->is_string()) {
    return View(aud->get_string()) == audience;
  }
  if (!aud->is_array()) {
    return false;
  }
  const json::array& list = aud->get_array();
  return std::any_of(list.begin(), list.end(), [audience](const json::value& v) {
    return v.is_string() && View(v.get_string()) == audience;
  });
}

// Parses a decoded segment into `resource` (stack-backed: the token is at most 4 KiB).
std::optional<json::object> ParseObject(std::string_view text, json::monotonic_resource& resource) {
  json::parse_options options;
  options.max_depth = 8;
  json::error_code ec;
  json::value v = json::parse(text, ec, &resource, options);
  if (ec || !v.is_object()) {
    return std::nullopt;
  }
  return std::move(v.get_object());
}

// The header is checked before the signature so that a token naming another algorithm
// never reaches a verifier: "alg" selects nothing here, it must be exactly EdDSA.
core::Result<const SigningKey*, TokenError> CheckHeader(const json::object& header,
                                                        const KeySet& keys) {
  for (const auto& member : header) {
    const std::string_view key(member.key().data(), member.key().size());
    if (key != "alg" && key != "typ" && key != "kid") {
      return Fail(TokenError::kBadHeader);
    }
  }
  const auto alg = StringMember(header, "alg");
  if (!alg) {
    return Fail(TokenError::kBadHeader);
  }
  if (*alg != kAlgorithm) {
    return Fail(TokenError::kUnsupportedAlg);
  }
  if (header.contains("typ") && StringMember(header, "typ") != kType) {
    return Fail(TokenError::kBadHeader);
  }
  const auto kid = StringMember(header, "kid");
  if (!kid) {
    return Fail(TokenError::kBadHeader);
  }
  const SigningKey* key = keys.Find(*kid);
  if (key == nullptr) {
    return Fail(TokenError::kUnknownKid);
  }
  return key;
}

core::Result<VerifiedClaims, TokenError> CheckClaims(const json::object& claims, std::int64_t now,
                                                     std::string_view issuer,
                                                     std::string_view audience) {
  const auto sub = StringMember(claims, "sub");
  const auto role = StringMember(claims, "role");
  const auto jti = StringMember(claims, "jti");
  const auto iat = IntMember(claims, "iat");
  const auto exp = IntMember(claims, "exp");
  if (!sub || sub->empty() || !role || !jti || !iat || !exp) {
    return Fail(TokenError::kBadClaims);
  }
  std::optional<std::int64_t> nbf;
  if (claims.contains("nbf")) {
    nbf = IntMember(claims, "nbf");
    if (!nbf) {
      return Fail(TokenError::kBadClaims);
    }
  }
  if (StringMember(claims, "iss") != issuer) {
    return Fail(TokenError::kWrongIssuer);
  }
  if (!AudienceMatches(claims.if_contains("aud"), audience)) {
    return Fail(TokenError::kWrongAudience);
  }
  if (now >= *exp) {
    return Fail(TokenError::kExpired);
  }
  if (TooFarAhead(*iat, now) || (nbf && TooFarAhead(*nbf, now))) {
    return Fail(TokenError::kNotYetValid);
  }
  VerifiedClaims verified;
  verified.subject = std::string(*sub);
  verified.role = std::string(*role);
  verified.token_id = std::string(*jti);
  verified.issued_at = *iat;
  verified.expires_at = *exp;
  return verified;
}

}  // namespace

std::string_view ToString(TokenError error) {
  switch (error) {
    case TokenError::kMalformed:
      return "malformed";
    case TokenError::kBadHeader:
      return "bad_header";
    case TokenError::kUnsupportedAlg:
      return "unsupported_alg";
    case TokenError::kUnknownKid:
      return "unknown_kid";
    case TokenError::kBadSignature:
      return "bad_signature";
    case TokenError::kExpired:
      return "expired";
    case TokenError::kNotYetValid:
      return "not_yet_valid";
    case TokenError::kWrongIssuer:
      return "wrong_issuer";
    case TokenError::kWrongAudience:
      return "wrong_audience";
    case TokenError::kBadClaims:
      return "bad_claims";
  }
  return "unknown";
}

std::string Issue(const TokenClaims& claims, const KeySet& keys) {
  assert(!claims.subject.empty());
  assert(claims.issued_at < claims.expires_at);
  const SigningKey& key = keys.active();

  // Randomness is ready: the key set's keys initialised libsodium (signing_keys.cpp).
  std::array<std::uint8_t, kTokenIdBytes> token_id{};
  randombytes_buf(token_id.data(), token_id.size());

  const json::object header{{"alg", kAlgorithm}, {"typ", kType}, {"kid", key.kid()}};
  const json::object payload{{"sub", claims.subject},
                             {"role", claims.role},
                             {"iat", claims.issued_at},
                             {"exp", claims.expires_at},
                             {"jti", Base64UrlEncode(token_id)},
                             {"iss", claims.issuer},
                             {"aud", claims.audience}};
  std::string token = Base64UrlEncode(json::serialize(header));
  token += '.';
  token += Base64UrlEncode(json::serialize(payload));
  const SigningKey::Signature signature = key.Sign(token);
  token += '.';
  token += Base64UrlEncode(signature);
  return token;
}

core::Result<VerifiedClaims, TokenError> Verify(std::string_view token, std::int64_t now,
                                                std::string_view issuer, std::string_view audience,
                                                const KeySet& keys) {
  // Size first: everything after it is bounded by this limit.
  if (token.size() > kMaxTokenBytes) {
    return Fail(TokenError::kMalformed);
  }
  const std::size_t first_dot = token.find('.');
  const std::size_t second_dot =
      first_dot == std::string_view::npos ? first_dot : token.find('.', first_dot + 1);
  if (second_dot == std::string_view::npos ||
      token.find('.', second_dot + 1) != std::string_view::npos) {
    return Fail(TokenError::kMalformed);
  }
  const std::string_view header_text = token.substr(0, first_dot);
  const std::string_view payload_text = token.substr(first_dot + 1, second_dot - first_dot - 1);
  const std::string_view signature_text = token.substr(second_dot + 1);
  if (header_text.empty() || payload_text.empty()) {
    return Fail(TokenError::kMalformed);
  }

  std::array<unsigned char, 2 * kMaxTokenBytes> arena{};
  json::monotonic_resource resource(arena.data(), arena.size());

  const auto header_json = Base64UrlDecode(header_text);
  if (!header_json) {
    return Fail(TokenError::kMalformed);
  }
  const auto header = ParseObject(*header_json, resource);
  if (!header) {
    return Fail(TokenError::kBadHeader);
  }
  const auto key = CheckHeader(*header, keys);
  if (!key) {
    return Fail(key.error());
  }

  SigningKey::Signature signature{};
  if (!Base64UrlDecodeExact(signature_text, signature) ||
      !(*key)->Verify(token.substr(0, second_dot), signature)) {
    return Fail(TokenError::kBadSignature);
  }

  // Only signed bytes are parsed from here on.
  const auto payload_json = Base64UrlDecode(payload_text);
  if (!payload_json) {
    return Fail(TokenError::kMalformed);
  }
  const auto claims = ParseObject(*payload_json, resource);
  if (!claims) {
    return Fail(TokenError::kBadClaims);
  }
  auto verified = CheckClaims(*claims, now, issuer, audience);
  if (verified) {
    verified->key_id = (*key)->kid();
  }
  return verified;
}

}  // namespace myriad::auth

#include "auth/jwks.hpp"

#include <boost/json/array.hpp>
#include <boost/json/object.hpp>
#include <boost/json/serialize.hpp>

#include "auth/base64url.hpp"

namespace myriad::auth {

std::string RenderJwks(const KeySet& keys) {
  boost::json::array list;
  list.reserve(keys.keys().size());
  for (const SigningKey& key : keys.keys()) {
    list.push_back(boost::json::object{{"kty", "OKP"},
                                       {"crv", "Ed25519"},
                                       {"x", Base64UrlEncode(key.public_key())},
                                       {"kid", key.kid()},
                                       {"alg", "EdDSA"},
                                       {"use", "sig"}});
  }
  return boost::json::serialize(boost::json::object{{"keys", std::move(list)}});
}

}  // namespace myriad::auth

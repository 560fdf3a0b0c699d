#include "auth/signing_keys.hpp"

#include <fcntl.h>
#include <sodium.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <system_error>

#include "auth/base64url.hpp"

namespace myriad::auth {
namespace {

static_assert(SigningKey::kSeedBytes == crypto_sign_SEEDBYTES);
static_assert(SigningKey::kPublicKeyBytes == crypto_sign_PUBLICKEYBYTES);
static_assert(SigningKey::kSignatureBytes == crypto_sign_BYTES);
static_assert(crypto_sign_SECRETKEYBYTES == 64);

constexpr std::string_view kFileTag = "myriad-ed25519-v1";
// A valid file is at most 17 + 1 + 64 + 1 + 43 + 1 = 127 bytes; anything much larger is
// not a key file, and reading it whole could pull an unrelated secret into memory.
constexpr std::size_t kMaxFileBytes = 256;
constexpr std::string_view kFormatHint = "expected one line 'myriad-ed25519-v1 <kid> <seed>'";

// Every key is created through FromSeed, so a KeySet's existence implies libsodium is
// initialised: the signing and verifying paths need not ask again (sodium_init takes a lock).
bool SodiumReady() {
  static const bool kReady = sodium_init() >= 0;
  return kReady;
}

std::string FileError(const std::string& path, std::string_view what) {
  return "key file " + path + ": " + std::string(what);
}

std::string ErrnoText(int error) {
  return std::error_code(error, std::generic_category()).message();
}

// Zeroes a secret-bearing buffer when the scope ends, on every return path.
template <class Buffer>
class ZeroOnExit {
 public:
  explicit ZeroOnExit(Buffer& buffer) : buffer_(buffer) {}
  ~ZeroOnExit() { sodium_memzero(buffer_.data(), buffer_.size()); }
  ZeroOnExit(const ZeroOnExit&) = delete;
  ZeroOnExit& operator=(const ZeroOnExit&) = delete;
  ZeroOnExit(ZeroOnExit&&) = delete;
  ZeroOnExit& operator=(ZeroOnExit&&) = delete;

 private:
  Buffer& buffer_;
};

bool WriteAll(int fd, std::string_view data) {
  while (!data.empty()) {
    const ssize_t n = ::write(fd, data.data(), data.size());
    if (n < 0 && errno == EINTR) {
      continue;
    }
    if (n <= 0) {
      return false;
    }
    data.remove_prefix(static_cast<std::size_t>(n));
  }
  return true;
}

}  // namespace

bool IsValidKid(std::string_view kid) {
  if (kid.empty() || kid.size() > SigningKey::kMaxKidLength) {
    return false;
  }
  return std::all_of(kid.begin(), kid.end(), [](char c) {
    return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '.' ||
           c == '_' || c == '-';
  });
}

SigningKey::~SigningKey() { sodium_memzero(secret_key_.data(), secret_key_.size()); }

core::Result<SigningKey, std::string> SigningKey::FromSeed(std::string kid, const Seed& seed) {
  if (!IsValidKid(kid)) {
    return core::Unexpected<std::string>{"the key id is not 1..64 characters of [A-Za-z0-9._-]"};
  }
  if (!SodiumReady()) {
    return core::Unexpected<std::string>{"libsodium failed to initialise"};
  }
  SigningKey key;
  key.kid_ = std::move(kid);
  crypto_sign_seed_keypair(key.public_key_.data(), key.secret_key_.data(), seed.data());
  return key;
}

core::Result<SigningKey, std::string> SigningKey::Generate(std::string kid) {
  if (!SodiumReady()) {
    return core::Unexpected<std::string>{"libsodium failed to initialise"};
  }
  Seed seed{};
  const ZeroOnExit zero_seed(seed);
  randombytes_buf(seed.data(), seed.size());
  return FromSeed(std::move(kid), seed);
}

SigningKey::Signature SigningKey::Sign(std::string_view message) const {
  Signature signature{};
  crypto_sign_ed25519_detached(signature.data(), nullptr,
                               reinterpret_cast<const unsigned char*>(message.data()),
                               message.size(), secret_key_.data());
  return signature;
}

bool SigningKey::Verify(std::string_view message,
                        std::span<const std::uint8_t, kSignatureBytes> signature) const {
  return crypto_sign_ed25519_verify_detached(signature.data(),
                                             reinterpret_cast<const unsigned char*>(message.data()),
                                             message.size(), public_key_.data()) == 0;
}

core::Result<SigningKey, std::string> GenerateKeyFile(const std::string& path, std::string kid) {
  if (!IsValidKid(kid)) {
    return core::Unexpected<std::string>{
        FileError(path, "the key id is not 1..64 characters of [A-Za-z0-9._-]")};
  }
  if (!SodiumReady()) {
    return core::Unexpected<std::string>{FileError(path, "libsodium failed to initialise")};
  }
  SigningKey::Seed seed{};
  const ZeroOnExit zero_seed(seed);
  randombytes_buf(seed.data(), seed.size());
  auto key = SigningKey::FromSeed(kid, seed);
  if (!key) {
    return core::Unexpected<std::string>{FileError(path, key.error())};
  }
  // Reserved up front so appending never reallocates and leaves a stray copy of the seed.
  std::string line;
  line.reserve(kMaxFileBytes);
  const ZeroOnExit zero_line(line);
  line.append(kFileTag).append(1, ' ').append(kid).append(1, ' ');
  std::string encoded = Base64UrlEncode(seed);
  const ZeroOnExit zero_encoded(encoded);
  line += encoded;
  line += '\n';

  // O_EXCL makes "refuses to overwrite" atomic (no check-then-create race), and creating
  // with 0600 means the secret is never readable by others, not even briefly.
  const int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0600);
  if (fd < 0) {
    const int error = errno;
    if (error == EEXIST) {
      return core::Unexpected<std::string>{FileError(path, "already exists; not overwriting it")};
    }
    return core::Unexpected<std::string>{FileError(path, "cannot create: " + ErrnoText(error))};
  }
  bool ok = WriteAll(fd, line);
  int error = ok ? 0 : errno;
  if (ok && ::fsync(fd) != 0) {
    ok = false;
    error = errno;
  }
  if (::close(fd) != 0 && ok) {
    ok = false;
    error = errno;
  }
  if (!ok) {
    ::unlink(path.c_str());
    return core::Unexpected<std::string>{FileError(path, "cannot write: " + ErrnoText(error))};
  }
  return key;
}

core::Result<SigningKey, std::string> LoadKeyFile(const std::string& path) {
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    return core::Unexpected<std::string>{FileError(path, "cannot open: " + ErrnoText(errno))};
  }
  std::array<char, kMaxFileBytes + 1> buffer{};
  const ZeroOnExit zero_buffer(buffer);
  std::size_t size = 0;
  int error = 0;
  struct stat info {};
  if (::fstat(fd, &info) != 0) {
    error = errno;
  } else if (!S_ISREG(info.st_mode)) {
    ::close(fd);
    return core::Unexpected<std::string>{FileError(path, "not a regular file")};
  }
  while (error == 0 && size < buffer.size()) {
    const ssize_t n = ::read(fd, buffer.data() + size, buffer.size() - size);
    if (n < 0 && errno == EINTR) {
      continue;
    }
    if (n < 0) {
      error = errno;
    } else if (n == 0) {
      break;
    } else {
      size += static_cast<std::size_t>(n);
    }
  }
  ::close(fd);
  if (error != 0) {
    return core::Unexpected<std::string>{FileError(path, "cannot read: " + ErrnoText(error))};
  }
  if (size > kMaxFileBytes) {
    return core::Unexpected<std::string>{FileError(path, "too large; " + std::string(kFormatHint))};
  }

  std::string_view text(buffer.data(), size);
  if (text.ends_with('\n')) {
    text.remove_suffix(1);
  }
  if (!text.starts_with(kFileTag) || text.size() == kFileTag.size() ||
      text[kFileTag.size()] != ' ') {
    return core::Unexpected<std::string>{
        FileError(path, "not a myriad-ed25519-v1 key file; " + std::string(kFormatHint))};
  }
  text.remove_prefix(kFileTag.size() + 1);
  const std::size_t space = text.find(' ');
  if (space == std::string_view::npos) {
    return core::Unexpected<std::string>{FileError(path, kFormatHint)};
  }
  const std::string_view kid = text.substr(0, space);
  const std::string_view seed_text = text.substr(space + 1);
  if (!IsValidKid(kid)) {
    return core::Unexpected<std::string>{
        FileError(path, "the key id is not 1..64 characters of [A-Za-z0-9._-]")};
  }
  SigningKey::Seed seed{};
  const ZeroOnExit zero_seed(seed);
  if (!Base64UrlDecodeExact(seed_text, seed)) {
    return core::Unexpected<std::string>{
        FileError(path, "the seed is not 32 bytes of unpadded base64url")};
  }
  auto key = SigningKey::FromSeed(std::string(kid), seed);
  if (!key) {
    return core::Unexpected<std::string>{FileError(path, key.error())};
  }
  return key;
}

const SigningKey* KeySet::Find(std::string_view kid) const {
  // A handful of keys at most: a scan beats hashing the kid.
  for (const SigningKey& key : keys_) {
    if (key.kid() == kid) {
      return &key;
    }
  }
  return nullptr;
}

core::Result<KeySet, std::string> KeySet::Create(std::vector<SigningKey> keys) {
  if (keys.empty()) {
    return core::Unexpected<std::string>{"a key set needs at least one key"};
  }
  for (std::size_t i = 0; i < keys.size(); ++i) {
    for (std::size_t j = i + 1; j < keys.size(); ++j) {
      if (keys[i].kid() == keys[j].kid()) {
        return core::Unexpected<std::string>{"two keys have the key id " + keys[i].kid()};
      }
    }
  }
  return KeySet(std::move(keys));
}

}  // namespace myriad::auth

#pragma once

#include <array>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "core/result.hpp"

namespace myriad::redis {

/// Why a command got no reply. An error *reply* from the server ("-ERR ...") is not one of
/// these: it arrives as a Reply of type kError.
enum class RedisErrorKind {
  kUnavailable,  // no connection is up right now (answered at once, nothing was sent)
  kConnection,   // the connection failed or closed before the reply came
  kTimeout,      // the command's deadline passed first
  kProtocol,     // the server sent bytes that are not RESP
};

std::string_view ToString(RedisErrorKind kind);

struct RedisError {
  RedisErrorKind kind = RedisErrorKind::kConnection;
  std::string message;
};

template <class T>
using RedisResult = core::Result<T, RedisError>;

inline core::Unexpected<RedisError> MakeRedisError(RedisErrorKind kind, std::string message) {
  return core::Unexpected<RedisError>{RedisError{kind, std::move(message)}};
}

/// One RESP2 reply, owned.
struct Reply {
  enum class Type : std::uint8_t { kNil, kString, kStatus, kError, kInteger, kArray };
  Type type = Type::kNil;
  /// The bytes of a string, status or error reply.
  std::string str;
  long long integer = 0;
  std::vector<Reply> elements;

  bool IsNil() const { return type == Type::kNil; }
  bool IsError() const { return type == Type::kError; }
  bool IsString() const { return type == Type::kString; }
  /// A +OK status.
  bool IsOk() const { return type == Type::kStatus && str == "OK"; }
};

/// Turns bytes from the server into Replies (hiredis' reader underneath): Feed() what
/// arrived, then call Next() until it has nothing more. After a protocol error the reader
/// is spoiled (failed() turns true, with error()), and the connection must be dropped.
class ReplyReader {
 public:
  ReplyReader();
  ~ReplyReader();
  ReplyReader(const ReplyReader&) = delete;
  ReplyReader& operator=(const ReplyReader&) = delete;

  /// False when the reader could not take the bytes (out of memory, or already failed).
  bool Feed(std::string_view bytes);
  /// The next complete reply, or false when more bytes are needed or the stream is bad.
  bool Next(Reply& reply);
  bool failed() const { return !error_.empty(); }
  const std::string& error() const { return error_; }

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
  std::string error_;
};

/// A command encoded in RESP at construction, so it owns its bytes and may be handed to a
/// lazy awaitable: `Command get("GET", key); co_await client.Run(std::move(get), deadline)`.
class Command {
 public:
  Command() = default;
  template <class... Args>
  explicit Command(std::string_view name, const Args&... args) {
    const std::array<std::string_view, sizeof...(Args) + 1> parts = {name,
                                                                     std::string_view(args)...};
    Encode(parts.data(), parts.size());
  }
  /// From a list of arguments (the command name first).
  explicit Command(const std::vector<std::string>& args);

  const std::string& bytes() const { return bytes_; }
  bool empty() const { return bytes_.empty(); }

 private:
  void Encode(const std::string_view* parts, std::size_t count);
  std::string bytes_;
};

}  // namespace myriad::redis

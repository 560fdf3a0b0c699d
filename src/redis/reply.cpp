#include "redis/reply.hpp"

#include <hiredis/hiredis.h>

#include <memory>
#include <stdexcept>

namespace myriad::redis {

std::string_view ToString(RedisErrorKind kind) {
  switch (kind) {
    case RedisErrorKind::kUnavailable:
      return "unavailable";
    case RedisErrorKind::kConnection:
      return "connection";
    case RedisErrorKind::kTimeout:
      return "timeout";
    case RedisErrorKind::kProtocol:
      return "protocol";
  }
  return "unknown";
}

namespace {

Reply Convert(const redisReply& r) {
  Reply out;
  switch (r.type) {
    case REDIS_REPLY_STRING:
      out.type = Reply::Type::kString;
      break;
    case REDIS_REPLY_STATUS:
      out.type = Reply::Type::kStatus;
      break;
    case REDIS_REPLY_ERROR:
      out.type = Reply::Type::kError;
      break;
    case REDIS_REPLY_INTEGER:
      out.type = Reply::Type::kInteger;
      out.integer = r.integer;
      return out;
    case REDIS_REPLY_ARRAY:
      out.type = Reply::Type::kArray;
      out.elements.reserve(r.elements);
      for (std::size_t i = 0; i < r.elements; ++i) out.elements.push_back(Convert(*r.element[i]));
      return out;
    default:
      out.type = Reply::Type::kNil;
      return out;
  }
  out.str.assign(r.str, r.len);
  return out;
}

}  // namespace

struct ReplyReader::Impl {
  Impl() : reader(redisReaderCreate()) {}
  ~Impl() {
    if (reader != nullptr) redisReaderFree(reader);
  }
  Impl(const Impl&) = delete;
  Impl& operator=(const Impl&) = delete;
  redisReader* reader;
};

ReplyReader::ReplyReader() : impl_(std::make_unique<Impl>()) {
  if (impl_->reader == nullptr) error_ = "out of memory";
}
ReplyReader::~ReplyReader() = default;

bool ReplyReader::Feed(std::string_view bytes) {
  if (failed()) return false;
  if (redisReaderFeed(impl_->reader, bytes.data(), bytes.size()) != REDIS_OK) {
    error_ = "reply buffer failure";
    return false;
  }
  return true;
}

bool ReplyReader::Next(Reply& reply) {
  if (failed()) return false;
  void* raw = nullptr;
  if (redisReaderGetReply(impl_->reader, &raw) != REDIS_OK) {
    error_ = std::string("malformed reply: ") + impl_->reader->errstr;
    return false;
  }
  if (raw == nullptr) return false;
  std::unique_ptr<redisReply, decltype(&freeReplyObject)> owned(static_cast<redisReply*>(raw),
                                                                freeReplyObject);
  reply = Convert(*owned);
  return true;
}

Command::Command(const std::vector<std::string>& args) {
  std::vector<std::string_view> parts(args.begin(), args.end());
  Encode(parts.data(), parts.size());
}

void Command::Encode(const std::string_view* parts, std::size_t count) {
  // hiredis' encoder wants parallel arrays of pointers and lengths.
  std::vector<const char*> argv(count);
  std::vector<std::size_t> lengths(count);
  for (std::size_t i = 0; i < count; ++i) {
    argv[i] = parts[i].data();
    lengths[i] = parts[i].size();
  }
  char* encoded = nullptr;
  const int size =
      redisFormatCommandArgv(&encoded, static_cast<int>(count), argv.data(), lengths.data());
  if (size < 0 || encoded == nullptr) throw std::bad_alloc();
  bytes_.assign(encoded, static_cast<std::size_t>(size));
  redisFreeCommand(encoded);
}

}  // namespace myriad::redis

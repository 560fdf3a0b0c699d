#include "log/log.hpp"

#include <spdlog/async.h>
#include <spdlog/async_logger.h>
#include <spdlog/pattern_formatter.h>
#include <spdlog/sinks/basic_file_sink.h>
#include <spdlog/sinks/stdout_sinks.h>
#include <spdlog/spdlog.h>

#include <array>
#include <stdexcept>

namespace myriad::log {
namespace {

// Escapes the message so that a JSON log line stays one valid JSON object whatever the
// message contains (peer-supplied text can end up in a message).
class JsonEscapedPayload final : public spdlog::custom_flag_formatter {
 public:
  void format(const spdlog::details::log_msg& msg, const std::tm& /*time*/,
              spdlog::memory_buf_t& dest) override {
    static constexpr std::string_view kHex = "0123456789abcdef";
    for (char c : msg.payload) {
      switch (c) {
        case '"':
          dest.append(std::string_view("\\\""));
          break;
        case '\\':
          dest.append(std::string_view("\\\\"));
          break;
        case '\n':
          dest.append(std::string_view("\\n"));
          break;
        case '\r':
          dest.append(std::string_view("\\r"));
          break;
        case '\t':
          dest.append(std::string_view("\\t"));
          break;
        default:
          if (static_cast<unsigned char>(c) < 0x20) {
            const std::array<char, 6> esc = {'\\',         'u', '0', '0', kHex[(c >> 4) & 0xF],
                                             kHex[c & 0xF]};
            dest.append(esc.data(), esc.data() + esc.size());
          } else {
            dest.push_back(c);
          }
      }
    }
  }
  std::unique_ptr<custom_flag_formatter> clone() const override {
    return std::make_unique<JsonEscapedPayload>();
  }
};

std::shared_ptr<spdlog::details::thread_pool> LinePool() {
  // 64k queued lines (~100 ms of peak traffic) on one background thread.
  static auto pool = std::make_shared<spdlog::details::thread_pool>(65536, 1);
  return pool;
}

}  // namespace

void Init(const std::string& level, Format format) {
  auto parsed = spdlog::level::from_str(level);
  if (parsed == spdlog::level::off && level != "off") {
    throw std::invalid_argument("unknown log level '" + level + "'");
  }
  auto logger =
      std::make_shared<spdlog::logger>("myriad", std::make_shared<spdlog::sinks::stderr_sink_mt>());
  if (format == Format::kJson) {
    auto formatter = std::make_unique<spdlog::pattern_formatter>(spdlog::pattern_time_type::utc);
    formatter->add_flag<JsonEscapedPayload>('*').set_pattern(
        R"({"time":"%Y-%m-%dT%H:%M:%S.%fZ","level":"%l","msg":"%*"})");
    logger->set_formatter(std::move(formatter));
  } else {
    logger->set_pattern("%Y-%m-%d %H:%M:%S.%e %^%-5l%$ %v");
  }
  logger->set_level(parsed);
  logger->flush_on(spdlog::level::warn);
  spdlog::set_default_logger(std::move(logger));
}

std::shared_ptr<spdlog::logger> MakeAsyncLineLogger(const std::string& name,
                                                    const std::string& destination, Format format) {
  if (destination == "off") return nullptr;
  spdlog::sink_ptr sink;
  if (destination == "stdout") {
    sink = std::make_shared<spdlog::sinks::stdout_sink_mt>();
  } else if (destination == "stderr") {
    sink = std::make_shared<spdlog::sinks::stderr_sink_mt>();
  } else {
    sink = std::make_shared<spdlog::sinks::basic_file_sink_mt>(destination);
  }
  auto logger = std::make_shared<spdlog::async_logger>(
      name, std::move(sink), LinePool(), spdlog::async_overflow_policy::overrun_oldest);
  if (format == Format::kJson) {
    auto formatter = std::make_unique<spdlog::pattern_formatter>(spdlog::pattern_time_type::utc);
    formatter->set_pattern(R"({"time":"%Y-%m-%dT%H:%M:%S.%fZ",%v})");
    logger->set_formatter(std::move(formatter));
  } else {
    logger->set_formatter(std::make_unique<spdlog::pattern_formatter>(
        "%Y-%m-%d %H:%M:%S.%e %v", spdlog::pattern_time_type::utc));
  }
  logger->set_level(spdlog::level::info);
  logger->flush_on(spdlog::level::off);
  return logger;
}

void Shutdown() { spdlog::shutdown(); }

}  // namespace myriad::log

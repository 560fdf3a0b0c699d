#pragma once

#include <functional>
#include <string>
#include <string_view>

namespace CLI {
class App;
}

namespace myriad::config {

/// "max-connections" -> "MYRIAD_MAX_CONNECTIONS".
std::string EnvName(std::string_view flag_name);

/// "'text'", for error messages that quote a bad value.
std::string Quoted(std::string_view text);

/// "on"/"true"/"1"/"yes" or "off"/"false"/"0"/"no", any case; throws
/// std::invalid_argument "must be on or off" otherwise.
bool ParseSwitch(const std::string& text);
/// "on" or "off".
std::string FormatSwitch(bool on);

/// Registers one setting as flag `--name` and its MYRIAD_* environment variable. `apply`
/// parses the text into its field and throws std::invalid_argument with the reason; that
/// is re-thrown as CLI::ValidationError from the option callback, because CLI11 only turns
/// its own exception types into a clean message and exit code, and so that the message
/// names the variable too (CLI11 reports values from the environment under the flag name
/// only). A repeated flag keeps its last value.
void AddSetting(CLI::App& app, std::string_view name, std::string type_name,
                std::string default_text, std::string description,
                std::function<void(const std::string&)> apply);

}  // namespace myriad::config

#include "config/cli_option.hpp"

#include <CLI/CLI.hpp>
#include <cctype>
#include <stdexcept>
#include <utility>

namespace myriad::config {

std::string EnvName(std::string_view flag_name) {
  std::string env = "MYRIAD_";
  for (const char c : flag_name) {
    env += c == '-' ? '_' : static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  }
  return env;
}

std::string Quoted(std::string_view text) { return "'" + std::string(text) + "'"; }

bool ParseSwitch(const std::string& text) {
  std::string lower;
  for (char c : text)
    lower.push_back(static_cast<char>(std::tolower(static_cast<unsigned char>(c))));
  if (lower == "on" || lower == "true" || lower == "1" || lower == "yes") return true;
  if (lower == "off" || lower == "false" || lower == "0" || lower == "no") return false;
  throw std::invalid_argument("must be on or off, got " + Quoted(text));
}

std::string FormatSwitch(bool on) { return on ? "on" : "off"; }

void AddSetting(CLI::App& app, std::string_view name, std::string type_name,
                std::string default_text, std::string description,
                std::function<void(const std::string&)> apply) {
  const std::string flag = "--" + std::string(name);
  const std::string env = EnvName(name);
  std::string label = flag + " (" + env + ")";
  app.add_option_function<std::string>(
         flag,
         [label = std::move(label), apply = std::move(apply)](const std::string& text) {
           try {
             apply(text);
           } catch (const std::invalid_argument& error) {
             throw CLI::ValidationError(label, error.what());
           }
         },
         std::move(description))
      ->envname(env)
      ->type_name(std::move(type_name))
      ->default_str(std::move(default_text))
      ->multi_option_policy(CLI::MultiOptionPolicy::TakeLast);
}

}  // namespace myriad::config

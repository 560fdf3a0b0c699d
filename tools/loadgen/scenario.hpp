#pragma once

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "core/result.hpp"
#include "loadgen/template.hpp"

namespace myriad::load {

/// Takes a value from a response into a per-user variable.
struct Capture {
  enum class From : std::uint8_t { kJson, kHeader };
  std::size_t variable = 0;  // index into Scenario::names.variables
  From from = From::kJson;
  /// kJson: a JSON pointer (RFC 6901, "/access_token", "/items/0/id"); strings are taken
  /// without quotes, numbers and booleans as their JSON text. kHeader: the header's name.
  std::string path;
};

struct RequestSpec {
  std::string method = "GET";
  Template path;  // "/api/users/{{random 1 1000}}" (may carry a query)
  std::vector<std::pair<std::string, Template>> headers;
  bool has_body = false;
  Template body;
  std::vector<Capture> captures;
  /// Accepted statuses; empty means any 2xx or 3xx.
  std::vector<int> expect;
};

/// Pause after a task, uniform in [min, max].
struct ThinkTime {
  std::chrono::microseconds min{0};
  std::chrono::microseconds max{0};
};

struct Task {
  std::string name;
  double weight = 1;  // relative; 0 for the on_start task
  std::vector<RequestSpec> requests;
  ThinkTime think;
};

/// A scenario file (JSON; see bench/scenarios/README.md):
/// {
///   "name": "accounts mix",
///   "vars": {"password": "myriad-demo-password"},
///   "lists": {"emails": {"file": "emails.txt"}, "colours": ["red", "blue"]},
///   "think": "500ms..1500ms",
///   "on_start": {"name": "login", "requests": [{"method": "POST", "path": "/api/auth/login",
///       "headers": {"Content-Type": "application/json"},
///       "body": "{\"email\":\"{{next emails}}\",\"password\":\"{{password}}\"}",
///       "capture": {"token": "json:/access_token"}, "expect": [200]}]},
///   "tasks": [{"name": "read me", "weight": 60, "think": "1s",
///       "requests": [{"path": "/api/users/me", "headers": {"Authorization": "Bearer
///       {{token}}"}}]}]
/// }
/// A request's "body" may also be a JSON object or array: it is sent as its JSON text (and
/// its string values are still templates), with Content-Type application/json unless set.
struct Scenario {
  std::string name;
  TemplateNames names;
  /// Initial value of each variable (vars' values; "" for captures), like names.variables.
  std::vector<std::string> initial_variables;
  std::shared_ptr<TemplateShared> shared;
  /// tasks[0] is the on_start task when has_on_start; it is never picked by weight.
  bool has_on_start = false;
  std::vector<Task> tasks;

  /// The task for a uniform draw u in [0, 1), by weight (never the on_start task).
  std::size_t PickTask(double u) const;
  /// More than one task to pick from; otherwise PickTask's answer needs no draw.
  bool HasChoice() const { return tasks.size() > FirstPickable() + 1; }
  /// The first task PickTask may answer (1 when tasks[0] is the on_start task).
  std::size_t FirstPickable() const { return has_on_start ? 1 : 0; }
};

/// Parses a scenario from JSON text. `base_dir` resolves relative list files. Errors name
/// the place: "scenario.json:12:5: ..." for JSON syntax, "tasks[2].requests[0].path: ..."
/// for a bad key or value (unknown keys are errors too, so typos do not pass silently).
core::Result<Scenario, std::string> ParseScenario(std::string_view text,
                                                  std::string_view source_name,
                                                  const std::filesystem::path& base_dir);
/// Reads and parses a file (lists relative to its folder).
core::Result<Scenario, std::string> LoadScenario(const std::filesystem::path& file);

/// The scenario of a plain-URL run: one task named "METHOD path" with one request.
Scenario SingleRequestScenario(std::string method, std::string path_and_query,
                               std::vector<std::pair<std::string, std::string>> headers,
                               std::string body, bool has_body);

}  // namespace myriad::load

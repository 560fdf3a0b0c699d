#include "loadgen/scenario.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <array>
#include <boost/json.hpp>
#include <cmath>
#include <fstream>
#include <initializer_list>
#include <iterator>
#include <system_error>

#include "loadgen/units.hpp"

namespace myriad::load {
namespace {

namespace fs = std::filesystem;
namespace json = boost::json;

// Sane limits: a scenario describes traffic, it is not a data set. List files may hold a
// few hundred thousand addresses.
constexpr std::size_t kMaxScenarioBytes = 16 * 1024 * 1024;
constexpr std::uintmax_t kMaxListFileBytes = 16 * 1024 * 1024;
constexpr std::size_t kMaxListItems = 10'000'000;
constexpr std::size_t kMaxLists = 100;
constexpr std::size_t kMaxVariables = 1000;
constexpr std::size_t kMaxTasks = 1000;
constexpr std::size_t kMaxRequestsPerTask = 100;
constexpr std::size_t kMaxHeaders = 100;
constexpr std::size_t kMaxExpect = 100;
constexpr std::size_t kMaxNameLength = 200;
constexpr std::size_t kMaxIdentifierLength = 64;
constexpr std::size_t kMaxMethodLength = 20;
constexpr std::chrono::microseconds kMaxThink = std::chrono::hours(1);

// Function names of templates: a variable or list so named could never be used.
constexpr std::array<std::string_view, 6> kReservedNames = {"random", "pick", "counter",
                                                            "user",   "item", "next"};

bool IsIdentifier(std::string_view name) {
  if (name.empty() || name.size() > kMaxIdentifierLength) return false;
  const auto alpha = [](char ch) {
    return (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || ch == '_';
  };
  if (!alpha(name[0])) return false;
  return std::all_of(name.begin(), name.end(),
                     [&](char ch) { return alpha(ch) || (ch >= '0' && ch <= '9'); });
}

bool IsReserved(std::string_view name) {
  return std::find(kReservedNames.begin(), kReservedNames.end(), name) != kReservedNames.end();
}

// RFC 9110 token (header names, methods).
bool IsToken(std::string_view text) {
  if (text.empty()) return false;
  constexpr std::string_view kSpecials = "!#$%&'*+-.^_`|~";
  return std::all_of(text.begin(), text.end(), [&](char ch) {
    return (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9') ||
           kSpecials.find(ch) != std::string_view::npos;
  });
}

bool HasControl(std::string_view text) {
  return std::any_of(text.begin(), text.end(), [](char ch) {
    const auto byte = static_cast<unsigned char>(ch);
    return byte < 0x20 || byte == 0x7f;
  });
}

// A space outside {{ }} would end the request target early.
bool HasSpaceOutsidePlaceholders(std::string_view text) {
  std::size_t pos = 0;
  while (pos < text.size()) {
    if (text.substr(pos, 2) == "{{") {
      const std::size_t close = text.find("}}", pos + 2);
      if (close == std::string_view::npos) return false;  // Template::Parse reports it
      pos = close + 2;
    } else if (text[pos] == ' ') {
      return true;
    } else {
      ++pos;
    }
  }
  return false;
}

bool EqualsIgnoreCase(std::string_view a, std::string_view b) {
  return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) {
           const auto lower = [](char ch) {
             return ch >= 'A' && ch <= 'Z' ? static_cast<char>(ch - 'A' + 'a') : ch;
           };
           return lower(x) == lower(y);
         });
}

std::string_view Kind(const json::value& value) {
  switch (value.kind()) {
    case json::kind::null:
      return "null";
    case json::kind::bool_:
      return "a boolean";
    case json::kind::int64:
    case json::kind::uint64:
    case json::kind::double_:
      return "a number";
    case json::kind::string:
      return "a string";
    case json::kind::array:
      return "an array";
    case json::kind::object:
      return "an object";
  }
  return "a value";
}

std::string_view View(const json::string& s) { return {s.data(), s.size()}; }

bool AsDouble(const json::value& value, double& out) {
  if (const auto* i = value.if_int64()) {
    out = static_cast<double>(*i);
  } else if (const auto* u = value.if_uint64()) {
    out = static_cast<double>(*u);
  } else if (const auto* d = value.if_double()) {
    out = *d;
  } else {
    return false;
  }
  return true;
}

bool AsInt(const json::value& value, std::int64_t& out) {
  if (const auto* i = value.if_int64()) {
    out = *i;
    return true;
  }
  if (const auto* d = value.if_double(); d && std::floor(*d) == *d && std::abs(*d) < 1e15) {
    out = static_cast<std::int64_t>(*d);
    return true;
  }
  return false;
}

// Calls `on_string` for every string in `value`, keys included, at any depth.
template <class F>
void ForEachString(const json::value& value, const F& on_string) {
  if (const auto* s = value.if_string()) {
    on_string(View(*s));
  } else if (const auto* a = value.if_array()) {
    for (const json::value& item : *a) ForEachString(item, on_string);
  } else if (const auto* o = value.if_object()) {
    for (const auto& member : *o) {
      on_string(std::string_view(member.key()));
      ForEachString(member.value(), on_string);
    }
  }
}

class Parser {
 public:
  Parser(std::string_view source_name, fs::path base_dir)
      : source_name_(source_name), base_dir_(std::move(base_dir)) {}

  core::Result<Scenario, std::string> Run(const json::value& root) {
    if (!Build(root)) return core::Unexpected{std::move(error_)};
    return std::move(scenario_);
  }

 private:
  // Records the first error, "source: path: message"; returns false to unwind.
  bool Fail(std::string_view path, std::string_view message) {
    std::string place = source_name_.empty() ? std::string() : source_name_ + ": ";
    if (!path.empty()) place += fmt::format("{}: ", path);
    error_ = place + std::string(message);
    return false;
  }
  bool Expected(std::string_view path, std::string_view what, const json::value& got) {
    return Fail(path, fmt::format("expected {}, got {}", what, Kind(got)));
  }

  bool CheckKeys(const json::object& object, std::string_view path,
                 std::initializer_list<std::string_view> allowed) {
    for (const auto& member : object) {
      const std::string_view key = member.key();
      if (std::find(allowed.begin(), allowed.end(), key) != allowed.end()) continue;
      std::string list;
      for (const std::string_view name : allowed) {
        if (!list.empty()) list += ", ";
        list += name;
      }
      return Fail(path.empty() ? "top level" : path,
                  fmt::format("unknown key \"{}\" (expected {})", key, list));
    }
    return true;
  }

  static std::string Join(std::string_view path, std::string_view key) {
    return path.empty() ? std::string(key) : fmt::format("{}.{}", path, key);
  }

  bool Build(const json::value& root) {
    const json::object* top = root.if_object();
    if (top == nullptr) return Expected("top level", "an object", root);
    if (!CheckKeys(*top, "", {"name", "vars", "lists", "think", "on_start", "tasks"})) {
      return false;
    }
    scenario_.name = source_name_;
    if (const json::value* name = top->if_contains("name")) {
      const json::string* s = name->if_string();
      if (s == nullptr) return Expected("name", "a string", *name);
      scenario_.name = std::string(View(*s));
    }
    if (const json::value* vars = top->if_contains("vars"); vars != nullptr && !ParseVars(*vars)) {
      return false;
    }
    if (const json::value* lists = top->if_contains("lists");
        lists != nullptr && !ParseLists(*lists)) {
      return false;
    }
    const json::value* on_start = top->if_contains("on_start");
    const json::value* tasks = top->if_contains("tasks");
    CollectNames(on_start, tasks);
    if (const json::value* think = top->if_contains("think");
        think != nullptr && !ParseThink(*think, "think", default_think_)) {
      return false;
    }

    if (on_start != nullptr) {
      Task task;
      if (!ParseTask(*on_start, "on_start", true, task)) return false;
      scenario_.tasks.push_back(std::move(task));
      scenario_.has_on_start = true;
    }
    if (tasks == nullptr) return Fail("tasks", "missing: a scenario needs at least one task");
    const json::array* list = tasks->if_array();
    if (list == nullptr) return Expected("tasks", "an array of tasks", *tasks);
    if (list->empty()) return Fail("tasks", "empty: a scenario needs at least one task");
    if (list->size() > kMaxTasks) {
      return Fail("tasks", fmt::format("too many tasks ({}, at most {})", list->size(), kMaxTasks));
    }
    for (std::size_t i = 0; i < list->size(); ++i) {
      Task task;
      if (!ParseTask((*list)[i], fmt::format("tasks[{}]", i), false, task)) return false;
      scenario_.tasks.push_back(std::move(task));
    }

    auto shared = std::make_shared<TemplateShared>();
    shared->lists = std::move(lists_);
    shared->counter_count = scenario_.names.counters.size() + scenario_.names.lists.size();
    // NOLINTNEXTLINE(modernize-avoid-c-arrays): TemplateShared's type; its size is dynamic.
    shared->counters = std::make_unique<std::atomic<std::int64_t>[]>(shared->counter_count);
    for (std::size_t i = 0; i < shared->counter_count; ++i) shared->counters[i].store(0);
    scenario_.shared = std::move(shared);
    return true;
  }

  // A var, list or capture name: an identifier that no template function or other kind of
  // name already uses.
  bool CheckName(std::string_view path, std::string_view name, std::string_view what) {
    if (!IsIdentifier(name)) {
      return Fail(path, fmt::format("the {} name \"{}\" must be letters, digits and _ (not "
                                    "first), at most {} characters",
                                    what, name, kMaxIdentifierLength));
    }
    if (IsReserved(name)) {
      return Fail(path,
                  fmt::format("\"{}\" is a template function and cannot name a {}", name, what));
    }
    return true;
  }

  bool ParseVars(const json::value& value) {
    const json::object* vars = value.if_object();
    if (vars == nullptr) return Expected("vars", "an object of name: string", value);
    if (vars->size() > kMaxVariables) return Fail("vars", "too many variables");
    for (const auto& member : *vars) {
      const std::string path = Join("vars", member.key());
      if (!CheckName(path, member.key(), "variable")) return false;
      const json::string* text = member.value().if_string();
      if (text == nullptr) return Expected(path, "a string", member.value());
      scenario_.names.variables.emplace_back(member.key());
      scenario_.initial_variables.emplace_back(View(*text));
    }
    return true;
  }

  bool ParseLists(const json::value& value) {
    const json::object* lists = value.if_object();
    if (lists == nullptr) return Expected("lists", "an object of name: list", value);
    if (lists->size() > kMaxLists) return Fail("lists", "too many lists");
    for (const auto& member : *lists) {
      const std::string path = Join("lists", member.key());
      if (!CheckName(path, member.key(), "list")) return false;
      const auto& variables = scenario_.names.variables;
      if (std::find(variables.begin(), variables.end(), member.key()) != variables.end()) {
        return Fail(path,
                    fmt::format("\"{}\" is already a variable", std::string_view(member.key())));
      }
      std::vector<std::string> items;
      if (const json::array* inline_items = member.value().if_array()) {
        for (std::size_t i = 0; i < inline_items->size(); ++i) {
          const json::string* item = (*inline_items)[i].if_string();
          if (item == nullptr) {
            return Expected(fmt::format("{}[{}]", path, i), "a string", (*inline_items)[i]);
          }
          items.emplace_back(View(*item));
        }
        if (items.empty()) return Fail(path, "the list is empty");
      } else if (const json::object* from = member.value().if_object()) {
        if (!CheckKeys(*from, path, {"file"})) return false;
        const json::value* file = from->if_contains("file");
        if (file == nullptr) return Fail(path, "missing \"file\"");
        const json::string* name = file->if_string();
        if (name == nullptr || name->empty()) {
          return Expected(Join(path, "file"), "a file name", *file);
        }
        if (!ReadList(Join(path, "file"), View(*name), items)) return false;
      } else {
        return Expected(path, "an array of strings or {\"file\": path}", member.value());
      }
      scenario_.names.lists.emplace_back(member.key());
      lists_.push_back(std::move(items));
    }
    return true;
  }

  // One item per non-empty line, surrounding whitespace (and a CR) trimmed.
  bool ReadList(std::string_view path, std::string_view name, std::vector<std::string>& items) {
    fs::path file(std::string{name});
    if (file.is_relative()) file = base_dir_ / file;
    std::error_code ec;
    const fs::file_status status = fs::status(file, ec);
    if (ec || !fs::exists(status)) {
      return Fail(path, fmt::format("cannot read \"{}\": {}", file.string(),
                                    ec ? ec.message() : "no such file"));
    }
    if (!fs::is_regular_file(status)) {
      return Fail(path, fmt::format("\"{}\" is not a regular file", file.string()));
    }
    const std::uintmax_t size = fs::file_size(file, ec);
    if (ec) return Fail(path, fmt::format("cannot read \"{}\": {}", file.string(), ec.message()));
    if (size > kMaxListFileBytes) {
      return Fail(path, fmt::format("\"{}\" is larger than 16 MiB", file.string()));
    }
    std::ifstream in(file, std::ios::binary);
    std::string content((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    if (!in && !in.eof()) return Fail(path, fmt::format("cannot read \"{}\"", file.string()));
    std::string_view rest = content;
    while (!rest.empty()) {
      const std::size_t newline = rest.find('\n');
      std::string_view line = rest.substr(0, newline);
      rest.remove_prefix(newline == std::string_view::npos ? rest.size() : newline + 1);
      while (!line.empty() && (line.back() == ' ' || line.back() == '\t' || line.back() == '\r')) {
        line.remove_suffix(1);
      }
      while (!line.empty() && (line.front() == ' ' || line.front() == '\t')) line.remove_prefix(1);
      if (line.empty()) continue;
      if (items.size() >= kMaxListItems) {
        return Fail(path,
                    fmt::format("\"{}\" has more than {} lines", file.string(), kMaxListItems));
      }
      items.emplace_back(line);
    }
    if (items.empty()) {
      return Fail(path, fmt::format("\"{}\" has no non-empty lines", file.string()));
    }
    return true;
  }

  // Templates may name any variable a request captures, even one captured later, and any
  // counter; both are gathered before the first template is parsed. Malformed entries are
  // skipped here and reported when their request is parsed.
  void CollectNames(const json::value* on_start, const json::value* tasks) {
    std::vector<const json::value*> all;
    if (on_start != nullptr) all.push_back(on_start);
    if (tasks != nullptr) {
      if (const json::array* list = tasks->if_array()) {
        for (const json::value& task : *list) all.push_back(&task);
      }
    }
    auto& variables = scenario_.names.variables;
    for (const json::value* task : all) {
      const json::object* object = task->if_object();
      const json::value* requests = object ? object->if_contains("requests") : nullptr;
      const json::array* list = requests ? requests->if_array() : nullptr;
      if (list == nullptr) continue;
      for (const json::value& request : *list) {
        const json::object* r = request.if_object();
        const json::value* capture = r ? r->if_contains("capture") : nullptr;
        const json::object* captures = capture ? capture->if_object() : nullptr;
        if (captures == nullptr) continue;
        for (const auto& member : *captures) {
          const std::string_view name = member.key();
          if (!IsIdentifier(name) || variables.size() >= 2 * kMaxVariables ||
              std::find(variables.begin(), variables.end(), name) != variables.end()) {
            continue;
          }
          variables.emplace_back(name);
          scenario_.initial_variables.emplace_back();
        }
      }
    }
    auto& counters = scenario_.names.counters;
    counters.emplace_back();
    for (const json::value* task : all) {
      ForEachString(*task, [&](std::string_view text) {
        if (text.find("{{") == std::string_view::npos) return;
        for (std::string& name : Template::CounterNames(text)) {
          if (std::find(counters.begin(), counters.end(), name) == counters.end()) {
            counters.push_back(std::move(name));
          }
        }
      });
    }
  }

  bool ParseDurationValue(const json::value& value, std::string_view path,
                          std::chrono::microseconds& out) {
    if (const json::string* text = value.if_string()) {
      auto parsed = ParseDuration(View(*text));
      if (!parsed) return Fail(path, parsed.error());
      out = *parsed;
    } else if (double seconds = 0; AsDouble(value, seconds)) {
      if (!(seconds >= 0 && seconds <= 3600)) {
        return Fail(path, "a number of seconds must be between 0 and 3600");
      }
      out = std::chrono::microseconds(std::llround(seconds * 1e6));
    } else {
      return Expected(path, "a duration such as \"500ms\"", value);
    }
    if (out > kMaxThink) return Fail(path, "think times are at most 1h");
    return true;
  }

  // "1s", "500ms..1500ms" or {"min": "500ms", "max": "1500ms"}.
  bool ParseThink(const json::value& value, std::string_view path, ThinkTime& think) {
    if (const json::object* range = value.if_object()) {
      if (!CheckKeys(*range, path, {"min", "max"})) return false;
      const json::value* min = range->if_contains("min");
      const json::value* max = range->if_contains("max");
      if (min == nullptr || max == nullptr) return Fail(path, R"(needs both "min" and "max")");
      if (!ParseDurationValue(*min, Join(path, "min"), think.min) ||
          !ParseDurationValue(*max, Join(path, "max"), think.max)) {
        return false;
      }
    } else if (const json::string* text = value.if_string()) {
      const std::string_view s = View(*text);
      const std::size_t dots = s.find("..");
      if (dots == std::string_view::npos) {
        if (!ParseDurationValue(value, path, think.min)) return false;
        think.max = think.min;
      } else {
        for (const auto& [part, slot] : {std::pair{s.substr(0, dots), &think.min},
                                         std::pair{s.substr(dots + 2), &think.max}}) {
          auto parsed = ParseDuration(part);
          if (!parsed) return Fail(path, parsed.error());
          if (*parsed > kMaxThink) return Fail(path, "think times are at most 1h");
          *slot = *parsed;
        }
      }
    } else if (!ParseDurationValue(value, path, think.min)) {
      return false;
    } else {
      think.max = think.min;
    }
    if (think.min > think.max) {
      return Fail(path, fmt::format("min {} is above max {}", FormatDuration(think.min),
                                    FormatDuration(think.max)));
    }
    return true;
  }

  bool ParseTask(const json::value& value, const std::string& path, bool on_start, Task& task) {
    const json::object* object = value.if_object();
    if (object == nullptr) return Expected(path, "a task object", value);
    if (on_start) {
      if (!CheckKeys(*object, path, {"name", "think", "requests"})) return false;
    } else if (!CheckKeys(*object, path, {"name", "weight", "think", "requests"})) {
      return false;
    }
    const json::value* name = object->if_contains("name");
    if (name == nullptr && !on_start) return Fail(path, "missing \"name\"");
    task.name = "on_start";
    if (name != nullptr) {
      const json::string* text = name->if_string();
      if (text == nullptr) return Expected(Join(path, "name"), "a string", *name);
      if (text->empty() || text->size() > kMaxNameLength || HasControl(View(*text))) {
        return Fail(Join(path, "name"), "a task name is 1 to 200 characters, no control ones");
      }
      task.name = std::string(View(*text));
    }
    for (const Task& other : scenario_.tasks) {
      if (other.name == task.name) {
        return Fail(Join(path, "name"), fmt::format("duplicate task name \"{}\"", task.name));
      }
    }

    task.weight = on_start ? 0 : 1;
    if (const json::value* weight = object->if_contains("weight")) {
      double w = 0;
      if (!AsDouble(*weight, w)) return Expected(Join(path, "weight"), "a number", *weight);
      if (!(w > 0 && w <= 1e9)) {
        return Fail(Join(path, "weight"), "must be above 0 (and at most 1e9)");
      }
      task.weight = w;
    }
    task.think = default_think_;
    if (const json::value* think = object->if_contains("think");
        think != nullptr && !ParseThink(*think, Join(path, "think"), task.think)) {
      return false;
    }

    const json::value* requests = object->if_contains("requests");
    const std::string requests_path = Join(path, "requests");
    if (requests == nullptr) return Fail(path, "missing \"requests\"");
    const json::array* list = requests->if_array();
    if (list == nullptr) return Expected(requests_path, "an array of requests", *requests);
    if (list->empty()) return Fail(requests_path, "empty: a task needs at least one request");
    if (list->size() > kMaxRequestsPerTask) {
      return Fail(requests_path,
                  fmt::format("too many requests (at most {})", kMaxRequestsPerTask));
    }
    for (std::size_t i = 0; i < list->size(); ++i) {
      RequestSpec request;
      if (!ParseRequest((*list)[i], fmt::format("{}[{}]", requests_path, i), request)) return false;
      task.requests.push_back(std::move(request));
    }
    return true;
  }

  bool ParseTemplate(std::string_view text, std::string_view path, Template& out) {
    auto parsed = Template::Parse(text, scenario_.names);
    if (!parsed) return Fail(path, parsed.error());
    out = std::move(*parsed);
    return true;
  }

  bool ParseRequest(const json::value& value, const std::string& path, RequestSpec& request) {
    const json::object* object = value.if_object();
    if (object == nullptr) return Expected(path, "a request object", value);
    if (!CheckKeys(*object, path, {"method", "path", "headers", "body", "capture", "expect"})) {
      return false;
    }
    if (const json::value* method = object->if_contains("method")) {
      const json::string* text = method->if_string();
      if (text == nullptr) return Expected(Join(path, "method"), "a string", *method);
      const std::string_view m = View(*text);
      if (m.empty() || m.size() > kMaxMethodLength ||
          !std::all_of(m.begin(), m.end(), [](char ch) { return ch >= 'A' && ch <= 'Z'; })) {
        return Fail(Join(path, "method"),
                    fmt::format("\"{}\" is not a method (upper-case letters, e.g. GET)", m));
      }
      request.method = std::string(m);
    }

    const json::value* target = object->if_contains("path");
    if (target == nullptr) return Fail(path, "missing \"path\"");
    const std::string target_path = Join(path, "path");
    const json::string* target_text = target->if_string();
    if (target_text == nullptr) return Expected(target_path, "a string", *target);
    const std::string_view t = View(*target_text);
    if (!t.starts_with('/')) return Fail(target_path, fmt::format("\"{}\" must start with /", t));
    if (HasControl(t) || HasSpaceOutsidePlaceholders(t)) {
      return Fail(target_path, "no spaces or control characters (outside {{ }})");
    }
    if (!ParseTemplate(t, target_path, request.path)) return false;

    bool has_content_type = false;
    if (const json::value* headers = object->if_contains("headers");
        headers != nullptr &&
        !ParseHeaders(*headers, Join(path, "headers"), request, has_content_type)) {
      return false;
    }
    if (const json::value* body = object->if_contains("body");
        body != nullptr && !ParseBody(*body, Join(path, "body"), has_content_type, request)) {
      return false;
    }
    if (const json::value* capture = object->if_contains("capture");
        capture != nullptr && !ParseCaptures(*capture, Join(path, "capture"), request)) {
      return false;
    }
    if (const json::value* expect = object->if_contains("expect");
        expect != nullptr && !ParseExpect(*expect, Join(path, "expect"), request)) {
      return false;
    }
    return true;
  }

  bool ParseHeaders(const json::value& value, const std::string& headers_path, RequestSpec& request,
                    bool& has_content_type) {
    const json::object* list = value.if_object();
    if (list == nullptr) return Expected(headers_path, "an object of name: value", value);
    if (list->size() > kMaxHeaders) return Fail(headers_path, "too many headers");
    for (const auto& member : *list) {
      const std::string_view name = member.key();
      const std::string header_path = Join(headers_path, name);
      if (!IsToken(name)) {
        return Fail(header_path, fmt::format(R"("{}" is not a valid header name)", name));
      }
      if (EqualsIgnoreCase(name, "Content-Length") || EqualsIgnoreCase(name, "Transfer-Encoding")) {
        return Fail(header_path, "myriad-load sets the message framing itself");
      }
      if (EqualsIgnoreCase(name, "Host")) {
        return Fail(header_path, "myriad-load sets Host from the URL");
      }
      const json::string* text = member.value().if_string();
      if (text == nullptr) return Expected(header_path, "a string", member.value());
      if (HasControl(View(*text))) {
        return Fail(header_path, "header values must not contain CR, LF or control characters");
      }
      Template header;
      if (!ParseTemplate(View(*text), header_path, header)) return false;
      has_content_type = has_content_type || EqualsIgnoreCase(name, "Content-Type");
      request.headers.emplace_back(std::string(name), std::move(header));
    }
    return true;
  }

  bool ParseBody(const json::value& body, const std::string& body_path, bool has_content_type,
                 RequestSpec& request) {
    if (const json::string* text = body.if_string()) {
      if (!ParseTemplate(View(*text), body_path, request.body)) return false;
    } else if (body.is_object() || body.is_array()) {
      // Sent as its JSON text; placeholders inside its strings survive serialisation as
      // they contain nothing JSON escapes.
      if (!ParseTemplate(json::serialize(body), body_path, request.body)) return false;
      if (!has_content_type) {
        request.headers.emplace_back("Content-Type", Template::Literal("application/json"));
      }
    } else {
      return Expected(body_path, "a string, an object or an array", body);
    }
    request.has_body = true;
    return true;
  }

  bool ParseCaptures(const json::value& value, const std::string& capture_path,
                     RequestSpec& request) {
    const json::object* list = value.if_object();
    if (list == nullptr) {
      return Expected(capture_path, R"(an object of variable: "json:/pointer" or "header:Name")",
                      value);
    }
    for (const auto& member : *list) {
      Capture capture;
      if (!ParseCapture(member.key(), member.value(), Join(capture_path, member.key()), capture)) {
        return false;
      }
      request.captures.push_back(std::move(capture));
    }
    return true;
  }

  bool ParseExpect(const json::value& value, const std::string& expect_path, RequestSpec& request) {
    const json::array* list = value.if_array();
    if (list == nullptr) return Expected(expect_path, "an array of status codes", value);
    if (list->size() > kMaxExpect) return Fail(expect_path, "too many status codes");
    for (std::size_t i = 0; i < list->size(); ++i) {
      std::int64_t status = 0;
      if (!AsInt((*list)[i], status) || status < 100 || status > 599) {
        return Fail(fmt::format("{}[{}]", expect_path, i),
                    "expected a status code from 100 to 599");
      }
      request.expect.push_back(static_cast<int>(status));
    }
    return true;
  }

  bool ParseCapture(std::string_view name, const json::value& value, const std::string& path,
                    Capture& capture) {
    if (!CheckName(path, name, "variable")) return false;
    const auto& lists = scenario_.names.lists;
    if (std::find(lists.begin(), lists.end(), name) != lists.end()) {
      return Fail(path, fmt::format("\"{}\" is already a list", name));
    }
    const auto& variables = scenario_.names.variables;
    const auto it = std::find(variables.begin(), variables.end(), name);
    if (it == variables.end()) return Fail(path, "too many variables");
    capture.variable = static_cast<std::size_t>(it - variables.begin());
    const json::string* text = value.if_string();
    if (text == nullptr) return Expected(path, R"("json:/pointer" or "header:Name")", value);
    const std::string_view spec = View(*text);
    if (spec.starts_with("json:")) {
      capture.from = Capture::From::kJson;
      capture.path = std::string(spec.substr(5));
      if (!capture.path.starts_with('/')) {
        return Fail(path,
                    fmt::format("\"{}\": a JSON pointer starts with / (json:/access_token)", spec));
      }
      for (std::size_t i = 0; i < capture.path.size(); ++i) {
        if (capture.path[i] == '~' &&
            (i + 1 == capture.path.size() ||
             (capture.path[i + 1] != '0' && capture.path[i + 1] != '1'))) {
          return Fail(path, fmt::format("\"{}\": in a JSON pointer ~ is ~0 or ~1", spec));
        }
      }
    } else if (spec.starts_with("header:")) {
      capture.from = Capture::From::kHeader;
      capture.path = std::string(spec.substr(7));
      if (!IsToken(capture.path)) {
        return Fail(path, fmt::format("\"{}\": not a valid header name", spec));
      }
    } else {
      return Fail(path,
                  fmt::format(R"(expected "json:/pointer" or "header:Name", got "{}")", spec));
    }
    return true;
  }

  std::string source_name_;
  fs::path base_dir_;
  std::string error_;
  Scenario scenario_;
  std::vector<std::vector<std::string>> lists_;
  ThinkTime default_think_;
};

// "source:LINE:COL: message" for the byte at `offset`.
std::string SyntaxError(std::string_view text, std::string_view source_name, std::size_t offset,
                        const boost::system::error_code& ec) {
  offset = std::min(offset, text.size());
  const std::string_view before = text.substr(0, offset);
  const std::size_t line =
      1 + static_cast<std::size_t>(std::count(before.begin(), before.end(), '\n'));
  const std::size_t line_start = before.rfind('\n');
  const std::size_t column =
      1 + (line_start == std::string_view::npos ? offset : offset - line_start - 1);
  return fmt::format("{}:{}:{}: invalid JSON: {}", source_name.empty() ? "scenario" : source_name,
                     line, column, ec.message());
}

}  // namespace

std::size_t Scenario::PickTask(double u) const {
  const std::size_t first = FirstPickable();
  if (first >= tasks.size()) return first;
  double total = 0;
  for (std::size_t i = first; i < tasks.size(); ++i) total += tasks[i].weight;
  const double target = std::clamp(u, 0.0, 1.0) * total;
  double cumulative = 0;
  for (std::size_t i = first; i < tasks.size(); ++i) {
    cumulative += tasks[i].weight;
    if (target < cumulative) return i;
  }
  return tasks.size() - 1;
}

core::Result<Scenario, std::string> ParseScenario(std::string_view text,
                                                  std::string_view source_name,
                                                  const std::filesystem::path& base_dir) {
  if (text.size() > kMaxScenarioBytes) {
    return core::Unexpected{fmt::format("{}: a scenario file is at most 16 MiB ({} bytes given)",
                                        source_name, text.size())};
  }
  json::stream_parser parser;
  boost::system::error_code ec;
  const std::size_t consumed = parser.write(text.data(), text.size(), ec);
  if (ec) return core::Unexpected{SyntaxError(text, source_name, consumed, ec)};
  parser.finish(ec);
  if (ec) return core::Unexpected{SyntaxError(text, source_name, text.size(), ec)};
  const json::value root = parser.release();
  return Parser(source_name, base_dir).Run(root);
}

core::Result<Scenario, std::string> LoadScenario(const std::filesystem::path& file) {
  std::error_code ec;
  const std::uintmax_t size = fs::file_size(file, ec);
  if (ec)
    return core::Unexpected{fmt::format("cannot read \"{}\": {}", file.string(), ec.message())};
  if (size > kMaxScenarioBytes) {
    return core::Unexpected{fmt::format("\"{}\" is larger than 16 MiB", file.string())};
  }
  std::ifstream in(file, std::ios::binary);
  if (!in) return core::Unexpected{fmt::format("cannot open \"{}\"", file.string())};
  const std::string content((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  if (in.bad()) return core::Unexpected{fmt::format("cannot read \"{}\"", file.string())};
  return ParseScenario(content, file.string(), file.parent_path());
}

Scenario SingleRequestScenario(std::string method, std::string path_and_query,
                               std::vector<std::pair<std::string, std::string>> headers,
                               std::string body, bool has_body) {
  Scenario scenario;
  const std::string_view path =
      std::string_view(path_and_query).substr(0, path_and_query.find('?'));
  Task task;
  task.name = fmt::format("{} {}", method, path);
  scenario.name = task.name;
  scenario.names.counters.emplace_back();
  RequestSpec request;
  request.method = std::move(method);
  request.path = Template::Literal(std::move(path_and_query));
  for (auto& [name, value] : headers) {
    request.headers.emplace_back(std::move(name), Template::Literal(std::move(value)));
  }
  request.has_body = has_body;
  request.body = Template::Literal(std::move(body));
  task.requests.push_back(std::move(request));
  scenario.tasks.push_back(std::move(task));

  auto shared = std::make_shared<TemplateShared>();
  shared->counter_count = 1;
  // NOLINTNEXTLINE(modernize-avoid-c-arrays): TemplateShared's type.
  shared->counters = std::make_unique<std::atomic<std::int64_t>[]>(1);
  shared->counters[0].store(0);
  scenario.shared = std::move(shared);
  return scenario;
}

}  // namespace myriad::load

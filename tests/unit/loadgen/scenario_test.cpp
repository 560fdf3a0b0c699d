#include "loadgen/scenario.hpp"

#include <gtest/gtest.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <map>
#include <random>
#include <string>
#include <vector>

namespace myriad::load {
namespace {

namespace fs = std::filesystem;
using std::chrono::milliseconds;

// A folder of its own under the system temp dir, removed afterwards.
class ScenarioTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() /
           ("scenario_test_" + std::to_string(::getpid()) + "_" +
            ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::create_directories(dir_);
  }
  void TearDown() override {
    std::error_code ec;
    fs::remove_all(dir_, ec);
  }

  void Write(const std::string& name, const std::string& content) {
    std::ofstream(dir_ / name, std::ios::binary) << content;
  }

  Scenario Parse(std::string_view text) {
    auto parsed = ParseScenario(text, "test.json", dir_);
    EXPECT_TRUE(parsed) << (parsed ? "" : parsed.error());
    return parsed ? std::move(*parsed) : Scenario();
  }

  std::string Error(std::string_view text) {
    auto parsed = ParseScenario(text, "test.json", dir_);
    if (parsed) {
      ADD_FAILURE() << "expected an error for " << text;
      return "";
    }
    return parsed.error();
  }

  // Renders with a context over the scenario's own state.
  std::string Render(Scenario& s, const Template& t, std::vector<std::string>& variables) {
    RenderContext context;
    context.rng = &rng_;
    context.shared = s.shared.get();
    context.user = 3;
    context.variables = &variables;
    std::string out;
    t.Render(context, out);
    return out;
  }

  fs::path dir_;
  std::mt19937_64 rng_{1};
};

constexpr std::string_view kFull = R"({
  "name": "accounts mix",
  "vars": {"password": "myriad-demo-password", "admin_token": "x"},
  "lists": {"emails": {"file": "emails.txt"}, "colours": ["red", "blue"]},
  "think": "500ms..1500ms",
  "on_start": {"name": "login", "requests": [{"method": "POST", "path": "/api/auth/login",
      "body": {"email": "{{next emails}}", "password": "{{password}}"},
      "capture": {"token": "json:/access_token", "etag": "header:ETag"}, "expect": [200]}]},
  "tasks": [
    {"name": "read me", "weight": 60, "think": "1s",
     "requests": [{"path": "/api/users/me", "headers": {"Authorization": "Bearer {{token}}"}}]},
    {"name": "read other", "weight": 30, "think": {"min": "100ms", "max": 0.2},
     "requests": [{"path": "/api/users/{{random 1 1000}}?c={{item colours}}",
                   "headers": {"Authorization": "Bearer {{token}}", "If-None-Match": "{{etag}}"},
                   "expect": [200, 304, 404]}]},
    {"name": "rename", "weight": 10,
     "requests": [{"method": "PATCH", "path": "/api/users/me",
                   "headers": {"Authorization": "Bearer {{token}}",
                               "content-type": "application/merge-patch+json"},
                   "body": "{\"name\": \"User {{user}} #{{counter}} {{counter renames}}\"}"},
                  {"path": "/api/users/me"}]}
  ]
})";

TEST_F(ScenarioTest, ParsesEveryFieldOfAFullScenario) {
  Write("emails.txt", "a@example.com\n\n  b@example.com \r\nc@example.com");
  Scenario s = Parse(kFull);
  EXPECT_EQ(s.name, "accounts mix");
  EXPECT_EQ(s.names.variables,
            (std::vector<std::string>{"password", "admin_token", "token", "etag"}));
  EXPECT_EQ(s.initial_variables, (std::vector<std::string>{"myriad-demo-password", "x", "", ""}));
  EXPECT_EQ(s.names.lists, (std::vector<std::string>{"emails", "colours"}));
  EXPECT_EQ(s.names.counters, (std::vector<std::string>{"", "renames"}));
  ASSERT_NE(s.shared, nullptr);
  EXPECT_EQ(s.shared->lists[0],
            (std::vector<std::string>{"a@example.com", "b@example.com", "c@example.com"}));
  EXPECT_EQ(s.shared->lists[1], (std::vector<std::string>{"red", "blue"}));
  EXPECT_EQ(s.shared->counter_count, 4U);

  ASSERT_TRUE(s.has_on_start);
  ASSERT_EQ(s.tasks.size(), 4U);
  std::vector<std::string> vars = s.initial_variables;

  const Task& login = s.tasks[0];
  EXPECT_EQ(login.name, "login");
  EXPECT_EQ(login.weight, 0);
  EXPECT_EQ(login.think.min, milliseconds(500));
  EXPECT_EQ(login.think.max, milliseconds(1500));
  ASSERT_EQ(login.requests.size(), 1U);
  const RequestSpec& post = login.requests[0];
  EXPECT_EQ(post.method, "POST");
  EXPECT_EQ(Render(s, post.path, vars), "/api/auth/login");
  ASSERT_TRUE(post.has_body);
  EXPECT_EQ(Render(s, post.body, vars),
            R"({"email":"a@example.com","password":"myriad-demo-password"})");
  EXPECT_EQ(Render(s, post.body, vars),
            R"({"email":"b@example.com","password":"myriad-demo-password"})");
  ASSERT_EQ(post.headers.size(), 1U);
  EXPECT_EQ(post.headers[0].first, "Content-Type");
  EXPECT_EQ(post.headers[0].second.LiteralText(), "application/json");
  ASSERT_EQ(post.captures.size(), 2U);
  EXPECT_EQ(post.captures[0].variable, 2U);
  EXPECT_EQ(post.captures[0].from, Capture::From::kJson);
  EXPECT_EQ(post.captures[0].path, "/access_token");
  EXPECT_EQ(post.captures[1].variable, 3U);
  EXPECT_EQ(post.captures[1].from, Capture::From::kHeader);
  EXPECT_EQ(post.captures[1].path, "ETag");
  EXPECT_EQ(post.expect, (std::vector<int>{200}));

  vars[2] = "T0K";
  vars[3] = "\"v1\"";
  const Task& me = s.tasks[1];
  EXPECT_EQ(me.name, "read me");
  EXPECT_EQ(me.weight, 60);
  EXPECT_EQ(me.think.min, std::chrono::seconds(1));
  EXPECT_EQ(me.think.max, std::chrono::seconds(1));
  ASSERT_EQ(me.requests.size(), 1U);
  EXPECT_EQ(me.requests[0].method, "GET");
  EXPECT_FALSE(me.requests[0].has_body);
  EXPECT_TRUE(me.requests[0].expect.empty());
  ASSERT_EQ(me.requests[0].headers.size(), 1U);
  EXPECT_EQ(me.requests[0].headers[0].first, "Authorization");
  EXPECT_EQ(Render(s, me.requests[0].headers[0].second, vars), "Bearer T0K");

  const Task& other = s.tasks[2];
  EXPECT_EQ(other.think.min, milliseconds(100));
  EXPECT_EQ(other.think.max, milliseconds(200));
  const std::string path = Render(s, other.requests[0].path, vars);
  EXPECT_TRUE(path.starts_with("/api/users/")) << path;
  EXPECT_TRUE(path.ends_with("?c=red") || path.ends_with("?c=blue")) << path;
  EXPECT_EQ(Render(s, other.requests[0].headers[1].second, vars), "\"v1\"");
  EXPECT_EQ(other.requests[0].expect, (std::vector<int>{200, 304, 404}));

  const Task& rename = s.tasks[3];
  EXPECT_EQ(rename.weight, 10);
  EXPECT_EQ(rename.think.min, milliseconds(500));  // the top-level default
  ASSERT_EQ(rename.requests.size(), 2U);
  const RequestSpec& patch = rename.requests[0];
  EXPECT_EQ(patch.method, "PATCH");
  ASSERT_EQ(patch.headers.size(), 2U);  // its own Content-Type is kept, none added
  EXPECT_EQ(patch.headers[1].first, "content-type");
  EXPECT_EQ(Render(s, patch.body, vars), R"({"name": "User 3 #1 1"})");
  EXPECT_EQ(Render(s, patch.body, vars), R"({"name": "User 3 #2 2"})");
}

TEST_F(ScenarioTest, MinimalScenarioDefaults) {
  Scenario s = Parse(R"({"tasks": [{"name": "health", "requests": [{"path": "/api/health"}]}]})");
  EXPECT_EQ(s.name, "test.json");
  EXPECT_FALSE(s.has_on_start);
  ASSERT_EQ(s.tasks.size(), 1U);
  EXPECT_EQ(s.tasks[0].weight, 1);
  EXPECT_EQ(s.tasks[0].think.min.count(), 0);
  EXPECT_EQ(s.tasks[0].think.max.count(), 0);
  EXPECT_EQ(s.tasks[0].requests[0].method, "GET");
  EXPECT_TRUE(s.tasks[0].requests[0].path.IsLiteral());
  EXPECT_EQ(s.names.counters, (std::vector<std::string>{""}));
  EXPECT_EQ(s.PickTask(0.0), 0U);
  EXPECT_EQ(s.PickTask(0.999), 0U);
  EXPECT_FALSE(s.HasChoice()) << "one task: nothing to draw for";
}

TEST_F(ScenarioTest, SyntaxErrorsNameLineAndColumn) {
  EXPECT_EQ(Error("{\n  \"tasks\": [\n    {\"name\": x}\n  ]\n}"),
            "test.json:3:14: invalid JSON: syntax error");
  EXPECT_EQ(Error("{\"tasks\": ["), "test.json:1:12: invalid JSON: incomplete JSON");
  EXPECT_EQ(Error(""), "test.json:1:1: invalid JSON: incomplete JSON");
  EXPECT_NE(Error("{} {}").find("test.json:1:4: "), std::string::npos);
  EXPECT_NE(Error("{\"a\": 1,}").find("test.json:1:9: "), std::string::npos);
}

TEST_F(ScenarioTest, StructuralErrorsNameTheKeyPath) {
  const std::string ok_task = R"({"name": "a", "requests": [{"path": "/"}]})";
  const std::map<std::string, std::string> cases = {
      {"[]", "top level: expected an object, got an array"},
      {R"({"name": 5, "tasks": []})", "name: expected a string, got a number"},
      {R"({"tasks": [)" + ok_task +
           R"(, {"name": "b", "requests": [{"method": 1, "path": "/"}]}]})",
       "tasks[1].requests[0].method: expected a string, got a number"},
      {R"({"tasks": [{"name": "a", "requests": [{"method": "get", "path": "/"}]}]})",
       "tasks[0].requests[0].method: \"get\" is not a method"},
      {R"({"tasks": [{"name": "a", "requests": [{"path": "api"}]}]})",
       "tasks[0].requests[0].path: \"api\" must start with /"},
      {R"({"tasks": [{"name": "a", "requests": [{"path": "/a b"}]}]})",
       "tasks[0].requests[0].path: no spaces"},
      {R"({"tasks": [{"name": "a", "requests": [{"method": "GET"}]}]})",
       "tasks[0].requests[0]: missing \"path\""},
      {R"({"tasks": [{"requests": [{"path": "/"}]}]})", "tasks[0]: missing \"name\""},
      {R"({"tasks": [{"name": "a"}]})", "tasks[0]: missing \"requests\""},
      {R"({"tasks": [{"name": "a", "requests": []}]})", "tasks[0].requests: empty"},
      {R"({"tasks": [{"name": "a", "weight": 0, "requests": [{"path": "/"}]}]})",
       "tasks[0].weight: must be above 0"},
      {R"({"tasks": [{"name": "a", "weight": "1", "requests": [{"path": "/"}]}]})",
       "tasks[0].weight: expected a number, got a string"},
      {R"({"tasks": [{"name": "a", "think": "2s..1s", "requests": [{"path": "/"}]}]})",
       "tasks[0].think: min 2s is above max 1s"},
      {R"({"think": "soon", "tasks": [)" + ok_task + "]}", "think: invalid duration \"soon\""},
      {R"({"tasks": [{"name": "a", "requests": [{"path": "/", "headers": {"Bad Name": "x"}}]}]})",
       "tasks[0].requests[0].headers.Bad Name: \"Bad Name\" is not a valid header name"},
      {R"({"tasks": [{"name": "a", "requests": [{"path": "/", "headers": {"X": "a\r\nB: c"}}]}]})",
       "tasks[0].requests[0].headers.X: header values must not contain CR, LF"},
      {R"({"tasks": [{"name": "a", "requests": [{"path": "/", "headers": {"host": "x"}}]}]})",
       "tasks[0].requests[0].headers.host: myriad-load sets Host from the URL"},
      {R"({"tasks": [{"name": "a", "requests": [{"path": "/", "headers": {"X": 1}}]}]})",
       "tasks[0].requests[0].headers.X: expected a string, got a number"},
      {R"({"tasks": [{"name": "a", "requests": [{"path": "/", "body": 5}]}]})",
       "tasks[0].requests[0].body: expected a string, an object or an array, got a number"},
      {R"({"tasks": [{"name": "a", "requests": [{"path": "/", "expect": [200, 99]}]}]})",
       "tasks[0].requests[0].expect[1]: expected a status code from 100 to 599"},
      {R"({"tasks": [{"name": "a", "requests": [{"path": "/", "expect": 200}]}]})",
       "tasks[0].requests[0].expect: expected an array of status codes, got a number"},
      {R"({"tasks": [{"name": "a", "requests": [{"path": "/{{tokn}}"}]}]})",
       R"(tasks[0].requests[0].path: unknown name "tokn" in "{{tokn}}" (variables: none; )"
       R"(lists: none))"},
      {R"({"vars": {"token": 1}, "tasks": [)" + ok_task + "]}",
       "vars.token: expected a string, got a number"},
      {R"({"vars": {"random": "1"}, "tasks": [)" + ok_task + "]}",
       "vars.random: \"random\" is a template function"},
      {R"({"vars": {"a-b": "1"}, "tasks": [)" + ok_task + "]}",
       "vars.a-b: the variable name \"a-b\" must be letters"},
      {R"({"lists": {"e": []}, "tasks": [)" + ok_task + "]}", "lists.e: the list is empty"},
      {R"({"lists": {"e": [1]}, "tasks": [)" + ok_task + "]}",
       "lists.e[0]: expected a string, got a number"},
      {R"({"lists": {"e": "x"}, "tasks": [)" + ok_task + "]}", "lists.e: expected an array"},
      {R"({"on_start": {"requests": [{"path": "/", "body": "{{random 5 1}}"}]}, "tasks": [)" +
           ok_task + "]}",
       R"(on_start.requests[0].body: random's low bound 5 is above its high bound 1 in )"
       R"("{{random 5 1}}")"},
  };
  for (const auto& [text, expected] : cases) {
    const std::string error = Error(text);
    EXPECT_EQ(error.find("test.json: " + expected), 0U) << text << "\n -> " << error;
  }
}

TEST_F(ScenarioTest, UnknownKeysAreErrors) {
  EXPECT_EQ(Error(R"({"tasks": [{"name": "a", "wieght": 2, "requests": [{"path": "/"}]}]})"),
            "test.json: tasks[0]: unknown key \"wieght\" (expected name, weight, think, "
            "requests)");
  EXPECT_EQ(Error(R"({"taks": []})"),
            "test.json: top level: unknown key \"taks\" (expected name, vars, lists, think, "
            "on_start, tasks)");
  EXPECT_NE(Error(R"({"tasks": [{"name": "a", "requests": [{"path": "/", "header": {}}]}]})")
                .find("tasks[0].requests[0]: unknown key \"header\""),
            std::string::npos);
  EXPECT_NE(Error(R"({"on_start": {"name": "a", "weight": 1, "requests": [{"path": "/"}]},
                      "tasks": [{"name": "b", "requests": [{"path": "/"}]}]})")
                .find("on_start: unknown key \"weight\" (expected name, think, requests)"),
            std::string::npos);
}

TEST_F(ScenarioTest, TasksMustExistAndHaveUniqueNames) {
  EXPECT_EQ(Error(R"({"tasks": []})"),
            "test.json: tasks: empty: a scenario needs at least one task");
  EXPECT_EQ(Error(R"({"name": "x"})"),
            "test.json: tasks: missing: a scenario needs at least one task");
  EXPECT_EQ(Error(R"({"tasks": [{"name": "a", "requests": [{"path": "/"}]},
                                {"name": "a", "requests": [{"path": "/b"}]}]})"),
            "test.json: tasks[1].name: duplicate task name \"a\"");
  EXPECT_EQ(Error(R"({"on_start": {"name": "a", "requests": [{"path": "/"}]},
                      "tasks": [{"name": "a", "requests": [{"path": "/b"}]}]})"),
            "test.json: tasks[0].name: duplicate task name \"a\"");
  std::string many = R"({"tasks": [)";
  for (int i = 0; i < 1001; ++i) {
    many += (i > 0 ? "," : "") + (R"({"name": "t)" + std::to_string(i)) +
            R"(", "requests": [{"path": "/"}]})";
  }
  many += "]}";
  EXPECT_NE(Error(many).find("tasks: too many tasks"), std::string::npos);
}

TEST_F(ScenarioTest, ListFiles) {
  const std::string task = R"(, "tasks": [{"name": "a", "requests": [{"path": "/{{next e}}"}]}]})";
  const std::string missing = Error(R"({"lists": {"e": {"file": "nope.txt"}})" + task);
  EXPECT_EQ(
      missing.find("test.json: lists.e.file: cannot read \"" + (dir_ / "nope.txt").string() + "\""),
      0U)
      << missing;
  Write("blank.txt", "\n  \n\r\n");
  EXPECT_NE(
      Error(R"({"lists": {"e": {"file": "blank.txt"}})" + task).find("has no non-empty lines"),
      std::string::npos);
  EXPECT_NE(Error(R"({"lists": {"e": {"file": "."}})" + task).find("is not a regular file"),
            std::string::npos);
  EXPECT_NE(Error(R"({"lists": {"e": {"path": "x"}})" + task).find("lists.e: unknown key \"path\""),
            std::string::npos);
  // Absolute paths are taken as they are.
  Write("abs.txt", "x\ny\n");
  Scenario s = Parse(R"({"lists": {"e": {"file": ")" + (dir_ / "abs.txt").string() + "\"}}" + task);
  EXPECT_EQ(s.shared->lists[0], (std::vector<std::string>{"x", "y"}));
}

TEST_F(ScenarioTest, LoadScenarioResolvesListsBesideTheFile) {
  Write("emails.txt", "only@example.com\n");
  Write("s.json", R"({"lists": {"e": {"file": "emails.txt"}},
    "tasks": [{"name": "a", "requests": [{"path": "/{{next e}}"}]}]})");
  auto s = LoadScenario(dir_ / "s.json");
  ASSERT_TRUE(s) << s.error();
  EXPECT_EQ(s->shared->lists[0], (std::vector<std::string>{"only@example.com"}));
  EXPECT_EQ(s->name, (dir_ / "s.json").string());
  const auto missing = LoadScenario(dir_ / "missing.json");
  ASSERT_FALSE(missing);
  EXPECT_NE(missing.error().find("missing.json"), std::string::npos);
  Write("bad.json", "{\n\n   ,}");
  const auto bad = LoadScenario(dir_ / "bad.json");
  ASSERT_FALSE(bad);
  EXPECT_EQ(bad.error().find((dir_ / "bad.json").string() + ":3:4: "), 0U) << bad.error();
}

TEST_F(ScenarioTest, Captures) {
  Scenario s = Parse(R"({"vars": {"token": "initial"},
    "tasks": [{"name": "a", "requests": [
      {"path": "/{{token}}/{{id}}", "capture": {"id": "json:/items/0/id"}},
      {"path": "/", "capture": {"token": "header:X-Token", "odd": "json:/a~1b/~0c"}}]}]})");
  EXPECT_EQ(s.names.variables, (std::vector<std::string>{"token", "id", "odd"}));
  EXPECT_EQ(s.initial_variables, (std::vector<std::string>{"initial", "", ""}));
  const auto& first = s.tasks[0].requests[0].captures;
  ASSERT_EQ(first.size(), 1U);
  EXPECT_EQ(first[0].variable, 1U);
  EXPECT_EQ(first[0].path, "/items/0/id");
  const auto& second = s.tasks[0].requests[1].captures;
  ASSERT_EQ(second.size(), 2U);
  EXPECT_EQ(second[0].variable, 0U);  // a capture may target a var
  EXPECT_EQ(second[0].from, Capture::From::kHeader);
  EXPECT_EQ(second[1].path, "/a~1b/~0c");

  const auto bad = [&](const std::string& capture) {
    return Error(R"({"tasks": [{"name": "a", "requests": [{"path": "/", "capture": )" + capture +
                 "}]}]}");
  };
  EXPECT_NE(bad(R"({"t": "body:/x"})")
                .find("tasks[0].requests[0].capture.t: expected "
                      "\"json:/pointer\" or \"header:Name\", got \"body:/x\""),
            std::string::npos);
  EXPECT_NE(bad(R"({"t": "json:x"})").find("a JSON pointer starts with /"), std::string::npos);
  EXPECT_NE(bad(R"({"t": "json:/a~2"})").find("~0 or ~1"), std::string::npos);
  EXPECT_NE(bad(R"({"t": "header:a b"})").find("not a valid header name"), std::string::npos);
  EXPECT_NE(bad(R"({"t": 1})").find("capture.t: expected"), std::string::npos);
  EXPECT_NE(bad(R"({"1t": "json:/a"})").find("capture.1t: the variable name"), std::string::npos);
  EXPECT_NE(bad(R"(["json:/a"])").find("capture: expected an object"), std::string::npos);
}

TEST_F(ScenarioTest, JsonBodies) {
  Scenario s = Parse(R"({"vars": {"pw": "p"}, "tasks": [{"name": "a", "requests": [
      {"method": "POST", "path": "/", "body": {"a": [1, true, null, "{{pw}}"], "b": {"c": "d"}}},
      {"method": "POST", "path": "/", "body": ["{{user}}"]},
      {"method": "POST", "path": "/", "body": "plain {{pw}}"}]}]})");
  std::vector<std::string> vars = s.initial_variables;
  const auto& requests = s.tasks[0].requests;
  EXPECT_EQ(Render(s, requests[0].body, vars), R"({"a":[1,true,null,"p"],"b":{"c":"d"}})");
  EXPECT_EQ(Render(s, requests[1].body, vars), R"(["3"])");
  ASSERT_EQ(requests[1].headers.size(), 1U);
  EXPECT_EQ(requests[1].headers[0].first, "Content-Type");
  EXPECT_EQ(Render(s, requests[2].body, vars), "plain p");
  EXPECT_TRUE(requests[2].headers.empty());  // a string body gets no Content-Type
  EXPECT_TRUE(requests[2].has_body);
}

TEST_F(ScenarioTest, ThinkForms) {
  Scenario s = Parse(R"({"think": 0.25, "tasks": [
      {"name": "a", "requests": [{"path": "/"}]},
      {"name": "b", "think": "250us..2s", "requests": [{"path": "/"}]},
      {"name": "c", "think": {"min": 1, "max": "1m"}, "requests": [{"path": "/"}]}]})");
  EXPECT_EQ(s.tasks[0].think.min, milliseconds(250));
  EXPECT_EQ(s.tasks[0].think.max, milliseconds(250));
  EXPECT_EQ(s.tasks[1].think.min, std::chrono::microseconds(250));
  EXPECT_EQ(s.tasks[1].think.max, std::chrono::seconds(2));
  EXPECT_EQ(s.tasks[2].think.min, std::chrono::seconds(1));
  EXPECT_EQ(s.tasks[2].think.max, std::chrono::minutes(1));
  EXPECT_NE(Error(R"({"think": {"min": "1s"}, "tasks": []})").find("think: needs both"),
            std::string::npos);
  EXPECT_NE(Error(R"({"think": "2h", "tasks": []})").find("think: think times are at most 1h"),
            std::string::npos);
}

TEST_F(ScenarioTest, OneTaskAfterOnStartIsNoChoice) {
  Scenario s = Parse(R"({"on_start": {"requests": [{"path": "/login"}]}, "tasks": [
      {"name": "a", "requests": [{"path": "/"}]}]})");
  EXPECT_FALSE(s.HasChoice()) << "on_start is never picked, so one task is left";
  EXPECT_EQ(s.PickTask(0.0), 1U);
  EXPECT_EQ(s.PickTask(0.999), 1U);
}

TEST_F(ScenarioTest, PickTaskFollowsWeights) {
  Scenario s = Parse(R"({"on_start": {"requests": [{"path": "/login"}]}, "tasks": [
      {"name": "a", "weight": 45, "requests": [{"path": "/"}]},
      {"name": "b", "weight": 35, "requests": [{"path": "/"}]},
      {"name": "c", "weight": 0.5, "requests": [{"path": "/"}]},
      {"name": "d", "weight": 19.5, "requests": [{"path": "/"}]}]})");
  ASSERT_TRUE(s.has_on_start);
  EXPECT_EQ(s.tasks[0].name, "on_start");
  EXPECT_TRUE(s.HasChoice());
  EXPECT_EQ(s.FirstPickable(), 1U);
  EXPECT_EQ(s.PickTask(0.0), 1U);
  EXPECT_EQ(s.PickTask(0.4499), 1U);
  EXPECT_EQ(s.PickTask(0.4501), 2U);
  EXPECT_EQ(s.PickTask(0.7999), 2U);
  EXPECT_EQ(s.PickTask(0.8001), 3U);
  EXPECT_EQ(s.PickTask(0.8051), 4U);
  EXPECT_EQ(s.PickTask(0.99999999), 4U);
  EXPECT_EQ(s.PickTask(1.0), 4U);

  std::vector<int> counts(s.tasks.size());
  std::mt19937_64 rng(5);
  std::uniform_real_distribution<double> uniform(0.0, 1.0);
  constexpr int kDraws = 200'000;
  for (int i = 0; i < kDraws; ++i) ++counts[s.PickTask(uniform(rng))];
  EXPECT_EQ(counts[0], 0);  // never the on_start task
  EXPECT_NEAR(counts[1] / double{kDraws}, 0.45, 0.01);
  EXPECT_NEAR(counts[2] / double{kDraws}, 0.35, 0.01);
  EXPECT_NEAR(counts[3] / double{kDraws}, 0.005, 0.002);
  EXPECT_NEAR(counts[4] / double{kDraws}, 0.195, 0.01);
}

TEST_F(ScenarioTest, TooLargeText) {
  const std::string big(16 * 1024 * 1024 + 1, ' ');
  EXPECT_NE(Error(big).find("at most 16 MiB"), std::string::npos);
}

TEST_F(ScenarioTest, SingleRequestScenario) {
  Scenario s = SingleRequestScenario("POST", "/api/users?limit=20&q={{x}}",
                                     {{"Authorization", "Bearer t"}}, "{\"a\":1}", true);
  ASSERT_EQ(s.tasks.size(), 1U);
  EXPECT_FALSE(s.has_on_start);
  EXPECT_EQ(s.tasks[0].name, "POST /api/users");
  EXPECT_EQ(s.PickTask(0.5), 0U);
  const RequestSpec& r = s.tasks[0].requests[0];
  EXPECT_EQ(r.method, "POST");
  std::vector<std::string> vars;
  EXPECT_EQ(Render(s, r.path, vars), "/api/users?limit=20&q={{x}}");  // literal, not a template
  ASSERT_EQ(r.headers.size(), 1U);
  EXPECT_EQ(r.headers[0].first, "Authorization");
  EXPECT_EQ(Render(s, r.headers[0].second, vars), "Bearer t");
  EXPECT_TRUE(r.has_body);
  EXPECT_EQ(Render(s, r.body, vars), "{\"a\":1}");
}

}  // namespace
}  // namespace myriad::load

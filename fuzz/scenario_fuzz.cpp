// Fuzzes the scenario parser (a user-supplied file whose strings are templates): any bytes
// either parse or are rejected with a message, never crash or throw. A parsed scenario has
// at least one task, each with at least one request; its shared state is sized to its names;
// and every request's path, headers and body render with a seeded context, the path starting
// with "/". List files resolve against a folder that does not exist, so they fail cleanly.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <random>
#include <string>
#include <string_view>
#include <vector>

#include "loadgen/scenario.hpp"

namespace {

#define FUZZ_CHECK(cond)       \
  do {                         \
    if (!(cond)) std::abort(); \
  } while (false)

constexpr std::string_view kBaseDir = "/nonexistent/myriad-scenario-fuzz";

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  auto parsed = myriad::load::ParseScenario(text, "fuzz.json", kBaseDir);
  if (!parsed) {
    FUZZ_CHECK(!parsed.error().empty());
    return 0;
  }
  myriad::load::Scenario& scenario = *parsed;
  FUZZ_CHECK(!scenario.tasks.empty());
  FUZZ_CHECK(scenario.tasks.size() > (scenario.has_on_start ? 1U : 0U));
  FUZZ_CHECK(scenario.initial_variables.size() == scenario.names.variables.size());
  FUZZ_CHECK(scenario.shared != nullptr);
  FUZZ_CHECK(scenario.shared->lists.size() == scenario.names.lists.size());
  FUZZ_CHECK(scenario.shared->counter_count ==
             scenario.names.counters.size() + scenario.names.lists.size());
  for (const auto& list : scenario.shared->lists) FUZZ_CHECK(!list.empty());

  std::mt19937_64 rng(12345);
  std::vector<std::string> variables = scenario.initial_variables;
  myriad::load::RenderContext context;
  context.rng = &rng;
  context.shared = scenario.shared.get();
  context.user = 1;
  context.variables = &variables;
  std::string out;
  for (const myriad::load::Task& task : scenario.tasks) {
    FUZZ_CHECK(!task.name.empty());
    FUZZ_CHECK(!task.requests.empty());
    FUZZ_CHECK(task.think.min <= task.think.max);
    for (const myriad::load::RequestSpec& request : task.requests) {
      FUZZ_CHECK(!request.method.empty());
      out.clear();
      request.path.Render(context, out);
      FUZZ_CHECK(!out.empty() && out[0] == '/');
      for (const auto& [name, value] : request.headers) {
        FUZZ_CHECK(!name.empty());
        out.clear();
        value.Render(context, out);
      }
      out.clear();
      request.body.Render(context, out);
      for (const myriad::load::Capture& capture : request.captures) {
        FUZZ_CHECK(capture.variable < variables.size());
        FUZZ_CHECK(!capture.path.empty());
      }
      for (const int status : request.expect) FUZZ_CHECK(status >= 100 && status <= 599);
    }
  }
  const std::size_t first = scenario.has_on_start ? 1 : 0;
  for (const double u : {0.0, 0.25, 0.5, 0.999999, 1.0}) {
    const std::size_t picked = scenario.PickTask(u);
    FUZZ_CHECK(picked >= first && picked < scenario.tasks.size());
  }
  return 0;
}

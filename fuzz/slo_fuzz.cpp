// Fuzzes the --slo parser (command-line text, but also what CI pipelines paste in): any bytes
// either parse or are rejected with a message, never crash. A successful parse gives at least
// one objective, each with a non-empty normalised text and a finite, non-negative limit, and
// parsing the normalised texts joined by commas gives the same objectives again.
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>
#include <vector>

#include "loadgen/slo.hpp"

namespace {

#define FUZZ_CHECK(cond)       \
  do {                         \
    if (!(cond)) std::abort(); \
  } while (false)

bool SameObjective(const myriad::load::Objective& a, const myriad::load::Objective& b) {
  return a.metric == b.metric && a.percentile == b.percentile && a.inclusive == b.inclusive &&
         a.at_least == b.at_least && a.limit == b.limit && a.text == b.text;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  const auto parsed = myriad::load::ParseSlo(text);
  if (!parsed) {
    FUZZ_CHECK(!parsed.error().empty());
    return 0;
  }
  const std::vector<myriad::load::Objective>& objectives = *parsed;
  FUZZ_CHECK(!objectives.empty());
  std::string joined;
  for (const myriad::load::Objective& o : objectives) {
    FUZZ_CHECK(!o.text.empty());
    FUZZ_CHECK(std::isfinite(o.limit) && o.limit >= 0);
    if (o.metric == myriad::load::Objective::Metric::kPercentile) {
      FUZZ_CHECK(o.percentile > 0 && o.percentile <= 100);
    }
    if (o.metric == myriad::load::Objective::Metric::kErrorRate) FUZZ_CHECK(o.limit <= 1);
    FUZZ_CHECK(o.at_least == (o.metric == myriad::load::Objective::Metric::kRequestsPerSecond));
    if (!joined.empty()) joined += ',';
    joined += o.text;
  }

  const auto again = myriad::load::ParseSlo(joined);
  FUZZ_CHECK(again && again->size() == objectives.size());
  for (std::size_t i = 0; i < objectives.size(); ++i) {
    FUZZ_CHECK(SameObjective((*again)[i], objectives[i]));
  }
  return 0;
}

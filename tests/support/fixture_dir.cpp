#include "support/fixture_dir.hpp"

#include <cstdlib>

namespace myriad::testing {

std::string FixtureDir(const char* dir_variable, const char* stack_folder) {
  if (const char* dir = std::getenv(dir_variable); dir != nullptr && *dir != '\0') return dir;
  if (const char* stack = std::getenv("MYRIAD_STACKTEST_DIR"); stack != nullptr && *stack != '\0') {
    return std::string(stack) + "/" + stack_folder;
  }
  return {};
}

}  // namespace myriad::testing

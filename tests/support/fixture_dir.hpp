#pragma once

#include <string>

namespace myriad::testing {

/// The folder of the server a CTest fixture started for this test: $`dir_variable`
/// (MYRIAD_PGTEST_DIR, MYRIAD_REDISTEST_DIR), else $MYRIAD_STACKTEST_DIR/`stack_folder` for
/// *_stacktest tests, whose one fixture starts PostgreSQL and Redis together (a test can
/// take only one environment variable through gtest discovery); empty when neither is set.
std::string FixtureDir(const char* dir_variable, const char* stack_folder);

}  // namespace myriad::testing

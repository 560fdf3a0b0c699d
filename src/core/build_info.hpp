#pragma once

#include <string_view>

namespace myriad::core {

/// Facts fixed at build time, for `myriad version` and the myriad_build_info metric.
struct BuildInfo {
  std::string_view version;
  std::string_view commit;
  std::string_view compiler;
  std::string_view build_type;
};

const BuildInfo& GetBuildInfo();

}  // namespace myriad::core

// libFuzzer target: the scenario loader with --set overrides. The input's leading lines "#set
// key=value" are overrides; the rest is the scenario file, written to a folder whose platforms/
// links to the project's, so that seeds from scenarios/ find their platforms. Every bad input must
// end in a ScenarioError (exit 2 in the CLI); anything else is a finding.
#include <unistd.h>

#include <cstdint>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "sim/scenario/scenario.hpp"

namespace fs = std::filesystem;

namespace {
const fs::path& folder() {
  static const fs::path dir = [] {
    const fs::path d = fs::temp_directory_path() / ("dipaco-fuzz-scenario-" + std::to_string(getpid()));
    fs::create_directories(d / "scenarios");
    std::error_code ec;
    fs::create_directory_symlink(fs::path(DIPACO_SOURCE_DIR) / "platforms", d / "platforms", ec);
    return d;
  }();
  return dir;
}
}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string text(reinterpret_cast<const char*>(data), size);
  std::vector<std::string> overrides;
  while (text.rfind("#set ", 0) == 0) {
    const auto end = text.find('\n');
    overrides.push_back(text.substr(5, end == std::string::npos ? std::string::npos : end - 5));
    text = end == std::string::npos ? "" : text.substr(end + 1);
  }
  const fs::path file = folder() / "scenarios" / "fuzz.yaml";
  std::ofstream(file, std::ios::binary | std::ios::trunc) << text;
  try {
    const auto s = dipaco::sim::load_scenario(file, overrides);
    (void)dipaco::sim::scenario_to_yaml(s);  // what a run writes back out
  } catch (const dipaco::sim::ScenarioError&) {
  }
  return 0;
}

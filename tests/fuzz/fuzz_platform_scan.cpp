// libFuzzer target: the platform check that runs before SimGrid reads the XML (every *_file
// attribute found, its trace read and checked), on the input as the platform file. Trace files it
// names resolve in the project's platforms/ folder, so that seeds find theirs.
#include <unistd.h>

#include <cstdint>
#include <filesystem>
#include <fstream>
#include <string>

#include "sim/platform/link_traces.hpp"
#include "sim/scenario/scenario.hpp"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  namespace fs = std::filesystem;
  static const fs::path dir = [] {
    const fs::path d = fs::temp_directory_path() / ("dipaco-fuzz-platform-" + std::to_string(getpid()));
    fs::create_directories(d);
    std::error_code ec;
    fs::create_directory_symlink(fs::path(DIPACO_SOURCE_DIR) / "platforms" / "traces", d / "traces", ec);
    return d;
  }();
  const fs::path file = dir / "platform.xml";
  std::ofstream(file, std::ios::binary | std::ios::trunc).write(reinterpret_cast<const char*>(data), static_cast<std::streamsize>(size));
  try {
    (void)dipaco::sim::scan_platform_traces(file);
  } catch (const dipaco::sim::ScenarioError&) {
  }
  return 0;
}

// libFuzzer target: the report's reader of a run directory. The input is split at lines "=====" into
// summary.json, metrics.csv and scenario.yaml (in that order), written into a run directory that
// read_inputs then reads as `dipaco-sim report` does.
#include <unistd.h>

#include <cstdint>
#include <filesystem>
#include <fstream>
#include <string>

#include "reports/report_inputs.hpp"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  namespace fs = std::filesystem;
  static const fs::path dir = fs::temp_directory_path() / ("dipaco-fuzz-run-" + std::to_string(getpid()));
  fs::remove_all(dir);
  fs::create_directories(dir);
  std::string text(reinterpret_cast<const char*>(data), size);
  const char* names[] = {"summary.json", "metrics.csv", "scenario.yaml"};
  for (const char* name : names) {
    const auto cut = text.find("\n=====\n");
    std::ofstream(dir / name, std::ios::binary) << text.substr(0, cut);
    if (cut == std::string::npos) break;
    text = text.substr(cut + 7);
  }
  try {
    (void)dipaco::reports::read_inputs({dir});
  } catch (const dipaco::reports::ReportError&) {
  }
  return 0;
}

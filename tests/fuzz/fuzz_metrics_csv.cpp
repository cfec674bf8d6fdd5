// libFuzzer target: the report's reader of a run directory's metrics.csv.
#include <cstdint>
#include <string>

#include "reports/report_inputs.hpp"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  try {
    (void)dipaco::reports::parse_metrics_csv(std::string(reinterpret_cast<const char*>(data), size), "fuzz/metrics.csv");
  } catch (const dipaco::reports::ReportError&) {
  }
  return 0;
}

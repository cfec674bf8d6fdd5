// libFuzzer target: the sweep grid parser (--grid key=v1,v2,...).
#include <cstdint>
#include <string>

#include "sim/scenario/scenario.hpp"
#include "sim/sweep/sweep_grid.hpp"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  try {
    (void)dipaco::sim::parse_grid_argument(std::string(reinterpret_cast<const char*>(data), size));
  } catch (const dipaco::sim::ScenarioError&) {
  }
  return 0;
}

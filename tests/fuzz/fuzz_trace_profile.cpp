// libFuzzer target: the platform trace-file reader (a link's or host's profile: DATE VALUE lines,
// LOOPAFTER), which must reject what SimGrid would abort on.
#include <cstdint>
#include <string>

#include "sim/platform/link_traces.hpp"
#include "sim/scenario/scenario.hpp"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string text(reinterpret_cast<const char*>(data), size);
  for (const char* attribute : {"bandwidth_file", "latency_file", "state_file", "speed_file"}) {
    try {
      (void)dipaco::sim::parse_profile(text, attribute, "fuzz");
    } catch (const dipaco::sim::ScenarioError&) {
    }
  }
  return 0;
}

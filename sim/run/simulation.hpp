// One run: data, platform, actors, simulation, outputs.
#pragma once

#include <filesystem>
#include <string>
#include <vector>

#include "sim/scenario/scenario.hpp"

namespace dipaco::sim {

struct RunOptions {
  int threads = 1;                       // training threads (pool size)
  std::vector<std::string> simgrid_args;  // "--cfg=..." and "--log=..." passed to SimGrid
  std::filesystem::path out_dir;
  bool progress_line = false;  // a \r progress line instead of one log line per outer step
  bool inspect_only = false;   // DiPaCo: print the structure and placement, write DOT files, do not run
};

struct RunOutcome {
  std::filesystem::path out_dir;
  double simulated_seconds = 0.0;
  double wan_bytes = 0.0;
  double final_val_perplexity = 0.0;  // 0 without training
  double initial_val_perplexity = 0.0;
};

// Throws ScenarioError for bad input (platform, hosts, data sizes, SimGrid flags) and
// std::runtime_error when the run itself fails (no progress possible, a deadlock): its outputs are
// still written, with summary.json's "error", so that the partial metrics can be read.
RunOutcome run_scenario(Scenario scenario, const RunOptions& options);

}  // namespace dipaco::sim

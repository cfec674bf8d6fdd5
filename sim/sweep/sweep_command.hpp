// `dipaco-sim sweep`: expands the grid, writes the manifest, then runs every point locally (or
// writes a Slurm array script), and gathers sweep.csv. Also the two halves a Slurm array needs:
// `--task I` runs one point, `--collect` gathers the table.
#pragma once

#include <filesystem>
#include <functional>
#include <optional>
#include <string>
#include <vector>

namespace dipaco::sim {

struct SweepArgs {
  std::filesystem::path scenario;  // empty with --task and --collect (read from the manifest)
  std::vector<std::string> grids;  // "key=v1,v2"
  std::vector<std::string> overrides;
  std::optional<int> repeat;
  int jobs = 1;
  std::optional<int> threads;  // cores to split between runs (default: all)
  std::filesystem::path out;
  bool resume = false;
  std::string executor = "local";
  std::optional<int> task;
  bool collect = false;
  bool progress_line = false;
  // Writes the report of a sweep directory and returns its index.html; empty: --no-report.
  std::function<std::filesystem::path(const std::filesystem::path&)> report;
};

// Exit code: 0 every run ok, 1 some run failed, 2 bad input (ScenarioError is thrown), 130 stopped
// by SIGINT or SIGTERM.
int sweep_command(const SweepArgs& args);

}  // namespace dipaco::sim

// A sweep's grid: scenario keys and the values each takes, from `--grid key=v1,v2` arguments and
// from the scenario's own `sweep:` section, expanded into one run per combination and seed.
// Plain data plus load_scenario (to reject a bad key or value before any run starts).
#pragma once

#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

namespace dipaco::sim {

struct GridAxis {
  std::string key;                  // dotted scenario key, e.g. algorithm.tau
  std::vector<std::string> values;  // YAML text, as --set takes it: "10", "inf", "[a0, b0]"
};

struct SweepSpec {
  std::filesystem::path scenario;
  std::vector<std::string> overrides;  // --set for every run
  std::vector<GridAxis> axes;          // in order: the first varies slowest
  int repeat = 1;                      // seeds per grid point: seed, seed + 1, ...
};

struct SweepPoint {
  int index = 0;
  std::string name;                 // "003-tau=10-mtbf_hours=2-seed=1": the run's directory
  std::vector<std::string> values;  // one per axis
  uint64_t seed = 0;
  std::vector<std::string> overrides;  // everything `dipaco-sim run` gets: --set values
};

// "key=v1,v2,...": commas inside [], {} or quotes do not split. Throws ScenarioError.
GridAxis parse_grid_argument(const std::string& arg);

// The scenario's `sweep:` section, if any: {grid: {key: [values] or value}, repeat: n}.
// Axes come in file order; `repeat` is left as given (1) when the section has none.
// Throws ScenarioError naming the file, the line and the key.
void read_sweep_section(const std::filesystem::path& scenario, std::vector<GridAxis>& axes, int& repeat);

// Axes from the command line replace the file's axis of the same key and come after the others.
// Throws ScenarioError on a key given twice on the command line.
std::vector<GridAxis> merge_axes(const std::vector<GridAxis>& from_file, const std::vector<GridAxis>& from_command_line);

// Every combination of the axes' values, each `repeat` times with consecutive seeds, the first
// axis varying slowest and the seed fastest. Each point is checked with load_scenario, so an
// unknown key or a bad value is a ScenarioError naming the point before anything runs.
std::vector<SweepPoint> expand_sweep(const SweepSpec& spec);

// A key's short form for names and legends: its last dotted part, or the whole key if another
// axis shares that last part.
std::string short_key(const std::vector<GridAxis>& axes, size_t axis);

}  // namespace dipaco::sim

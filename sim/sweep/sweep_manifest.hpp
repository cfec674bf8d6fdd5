// A sweep directory's records. sweep.json (the manifest) says what the sweep runs: the scenario,
// the grid, and each run's name, values, seed and --set overrides; every executor (local, or one
// Slurm array task per run) works from it. Each run directory gets a status.json once its process
// has ended; a run is complete only if status.json says ok (written atomically, after the run's
// own outputs), so a run killed at any point is re-run by --resume.
//
//   DIR/sweep.json  DIR/sweep.csv  DIR/runs/<name>/{status.json, log.txt, metrics.csv, ...}
#pragma once

#include <filesystem>
#include <optional>
#include <string>
#include <vector>

#include "sim/sweep/sweep_grid.hpp"

namespace dipaco::sim {

struct SweepManifest {
  SweepSpec spec;  // scenario as an absolute path
  int threads_per_run = 1;
  std::vector<SweepPoint> points;
};

struct RunStatus {
  std::string status;  // ok | failed | interrupted
  int exit_code = 0;   // the run's exit code; 128 + n if killed by signal n
  std::string error;   // one line; empty if ok
  double real_seconds = 0.0;
};

std::filesystem::path run_dir(const std::filesystem::path& sweep_dir, const SweepPoint& p);

void write_manifest(const std::filesystem::path& sweep_dir, const SweepManifest& m);
// Throws ScenarioError naming the file if it is missing or malformed.
SweepManifest read_manifest(const std::filesystem::path& sweep_dir);
// The same runs (names and overrides), i.e. a sweep that --resume may continue.
bool same_runs(const SweepManifest& a, const SweepManifest& b);

void write_status(const std::filesystem::path& run_dir, const RunStatus& s);
// Empty if there is no readable status.json (never run, or killed before it ended).
std::optional<RunStatus> read_status(const std::filesystem::path& run_dir);
bool is_complete(const std::filesystem::path& run_dir);

}  // namespace dipaco::sim

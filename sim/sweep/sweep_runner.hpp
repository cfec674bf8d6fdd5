// Runs a sweep's points, each as its own `dipaco-sim run` process (SimGrid's engine is one per
// process), up to `jobs` at once, each with `threads` training threads, so that jobs × threads
// stays within the cores. A run that fails does not stop the others. SIGINT or SIGTERM stops the
// sweep cleanly: nothing new starts, running runs are terminated and marked interrupted, and the
// caller still writes sweep.csv; --resume later re-runs exactly the unfinished runs.
#pragma once

#include <filesystem>
#include <ostream>
#include <vector>

#include "sim/sweep/sweep_manifest.hpp"

namespace dipaco::sim {

struct LaunchOptions {
  std::filesystem::path binary;  // the dipaco-sim executable
  int jobs = 1;
  bool progress_line = false;  // a terminal: one redrawn progress bar; else a line per finished run
};

struct SweepTally {
  int ok = 0, failed = 0, skipped = 0, interrupted = 0;
  bool stopped = false;  // SIGINT or SIGTERM arrived
};

// Runs manifest.points[i] for every i in `todo` (skipping completed runs if `skip_complete`),
// writing each run's log.txt and status.json. Progress and per-run results go to `out`.
SweepTally run_points(const std::filesystem::path& sweep_dir, const SweepManifest& manifest, const std::vector<int>& todo,
                      bool skip_complete, const LaunchOptions& options, std::ostream& out);

}  // namespace dipaco::sim

// sweep.csv: one row per run of a sweep, from each run directory's status.json and summary.json;
// sweep_points.csv: one row per grid point, each metric summarised over the point's seeds.
#pragma once

#include <filesystem>
#include <string>

#include "sim/sweep/sweep_manifest.hpp"

namespace dipaco::sim {

// The CSV text. Columns: run, one per swept key, seed, status (ok | failed | interrupted |
// incomplete: started but never ended | pending: never started), final_val_perplexity,
// simulated_wall_clock_s, wan_bytes, lost_compute_s, time_to_target_s, real_seconds, error.
// Numbers are printed exactly (shortest round trip); unknown or null values are empty.
std::string sweep_table(const std::filesystem::path& sweep_dir, const SweepManifest& m);

// The per-point CSV text, points in grid order. Columns: one per swept key, runs (how many runs
// the point has), ok (how many finished), then for each metric of sweep.csv (final_val_perplexity,
// simulated_wall_clock_s, wan_bytes, lost_compute_s, time_to_target_s): <metric>_n (finished runs
// with a value), _mean, _sd (sample) and _ci95 (half-width of the 95 % confidence interval of the
// mean, Student's t; empty below 2 values). reports/statistics.hpp computes them.
std::string sweep_point_table(const std::filesystem::path& sweep_dir, const SweepManifest& m);

// Writes DIR/sweep.csv and DIR/sweep_points.csv atomically.
void write_sweep_table(const std::filesystem::path& sweep_dir, const SweepManifest& m);

}  // namespace dipaco::sim

// sweep.csv: one row per run of a sweep, from each run directory's status.json and summary.json.
#pragma once

#include <filesystem>
#include <string>

#include "sim/sweep_manifest.hpp"

namespace dipaco::sim {

// The CSV text. Columns: run, one per swept key, seed, status (ok | failed | interrupted |
// incomplete: started but never ended | pending: never started), final_val_perplexity,
// simulated_wall_clock_s, wan_bytes, lost_compute_s, time_to_target_s, real_seconds, error.
// Numbers are printed exactly (shortest round trip); unknown or null values are empty.
std::string sweep_table(const std::filesystem::path& sweep_dir, const SweepManifest& m);

// Writes DIR/sweep.csv atomically.
void write_sweep_table(const std::filesystem::path& sweep_dir, const SweepManifest& m);

}  // namespace dipaco::sim

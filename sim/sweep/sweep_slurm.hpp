// `dipaco-sim sweep --executor slurm`: a Slurm job-array script with one array task per run. Each
// task runs `dipaco-sim sweep --out DIR --task I`, which does exactly what the local executor does
// for that run (the same run directory, log.txt and status.json, and a completed run is skipped,
// so resubmitting the array finishes a sweep as --resume would). `--collect` then writes sweep.csv.
#pragma once

#include <filesystem>
#include <string>

#include "sim/sweep/sweep_manifest.hpp"

namespace dipaco::sim {

// The script's text. `binary` and `sweep_dir` should be absolute paths on a shared filesystem;
// `max_parallel` > 0 caps the tasks running at once (sbatch's --array=0-N%max).
std::string slurm_script(const std::filesystem::path& binary, const std::filesystem::path& sweep_dir, const SweepManifest& m,
                         int max_parallel);

}  // namespace dipaco::sim

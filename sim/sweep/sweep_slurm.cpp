#include "sim/sweep/sweep_slurm.hpp"

#include <fmt/format.h>

namespace dipaco::sim {

namespace {

// Single-quoted for bash: safe for any path.
std::string quoted(const std::string& s) {
  std::string out = "'";
  for (const char c : s) out += c == '\'' ? std::string("'\\''") : std::string(1, c);
  return out + "'";
}

}  // namespace

std::string slurm_script(const std::filesystem::path& binary, const std::filesystem::path& sweep_dir, const SweepManifest& m,
                         int max_parallel) {
  const std::string dir = sweep_dir.string();
  std::string s = "#!/bin/bash\n";
  s += fmt::format("# dipaco-sim sweep of {} as a Slurm job array: one task per run, {} runs.\n", m.spec.scenario.string(), m.points.size());
  s += "# Submit it:            sbatch " + (sweep_dir / "sweep.slurm").string() + "\n";
  s += "# Gather the results:   " + binary.string() + " sweep --out " + dir + " --collect\n";
  s += "# Resubmitting re-runs only the runs that did not complete (a completed task exits at once).\n";
  s += "# Add your site's lines (--partition, --account, --time, --mem) below.\n";
  s += fmt::format("#SBATCH --job-name=dipaco-sweep\n#SBATCH --array=0-{}{}\n", m.points.size() - 1,
                   max_parallel > 0 ? fmt::format("%{}", max_parallel) : "");
  s += fmt::format("#SBATCH --ntasks=1\n#SBATCH --cpus-per-task={}\n", m.threads_per_run);
  s += "#SBATCH --output=" + (sweep_dir / "runs" / "slurm-%a.out").string() + "\n";
  s += "set -euo pipefail\n";
  s += fmt::format("exec {} sweep --out {} --task \"${{SLURM_ARRAY_TASK_ID:?run this script with sbatch, or set SLURM_ARRAY_TASK_ID}}\" "
                   "--threads \"${{SLURM_CPUS_PER_TASK:-{}}}\"\n",
                   quoted(binary.string()), quoted(dir), m.threads_per_run);
  return s;
}

}  // namespace dipaco::sim

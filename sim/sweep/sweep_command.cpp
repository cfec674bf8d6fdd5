#include "sim/sweep/sweep_command.hpp"

#include <fmt/format.h>

#include <ctime>
#include <iostream>
#include <thread>

#include "reports/atomic_file.hpp"
#include "sim/scenario/scenario.hpp"
#include "sim/sweep/sweep_grid.hpp"
#include "sim/sweep/sweep_manifest.hpp"
#include "sim/sweep/sweep_runner.hpp"
#include "sim/sweep/sweep_slurm.hpp"
#include "sim/sweep/sweep_table.hpp"

namespace dipaco::sim {

namespace {

std::filesystem::path self_binary() {
  std::error_code ec;
  auto p = std::filesystem::read_symlink("/proc/self/exe", ec);
  if (ec) throw std::runtime_error("cannot find the dipaco-sim executable (/proc/self/exe): " + ec.message());
  return p;
}

std::filesystem::path default_out(const std::filesystem::path& scenario) {
  const std::time_t now = std::time(nullptr);
  char stamp[32];
  std::strftime(stamp, sizeof stamp, "%Y%m%d-%H%M%S", std::localtime(&now));
  return std::filesystem::path("runs") / ("sweep-" + scenario.stem().string() + "-" + stamp);
}

// Writes sweep.csv (and the report), prints where; returns the number of runs not ok.
int gather(const std::filesystem::path& dir, const SweepManifest& m, const SweepArgs& a) {
  write_sweep_table(dir, m);
  int not_ok = 0;
  for (const auto& p : m.points)
    if (!is_complete(run_dir(dir, p))) {
      ++not_ok;
      if (const auto s = read_status(run_dir(dir, p)); s && s->status == "failed")
        std::cout << fmt::format("failed: {}: {}\n", p.name, s->error);
    }
  std::cout << fmt::format("sweep: {} of {} runs complete; table: {}\n", m.points.size() - not_ok, m.points.size(),
                           (dir / "sweep.csv").string());
  if (a.report) std::cout << fmt::format("report: {}\n", a.report(dir).string());
  return not_ok;
}

}  // namespace

int sweep_command(const SweepArgs& a) {
  if (a.task || a.collect) {
    if (a.out.empty()) throw ScenarioError(fmt::format("sweep {}: needs --out, the sweep's folder", a.task ? "--task" : "--collect"));
    if (!a.scenario.empty() || !a.grids.empty())
      throw ScenarioError("sweep --task/--collect: give only --out; the scenario and grid come from its sweep.json");
    SweepManifest m = read_manifest(a.out);
    if (a.collect) return gather(a.out, m, a) > 0 ? 1 : 0;
    if (*a.task < 0 || *a.task >= static_cast<int>(m.points.size()))
      throw ScenarioError(fmt::format("sweep --task {}: out of range; {} has runs 0 to {}", *a.task, (a.out / "sweep.json").string(),
                                      m.points.size() - 1));
    if (a.threads) m.threads_per_run = *a.threads;
    const auto tally = run_points(a.out, m, {*a.task}, true, {self_binary(), 1, false}, std::cout);
    return tally.stopped ? 130 : tally.failed > 0 ? 1 : 0;
  }

  if (a.scenario.empty()) throw ScenarioError("sweep: give a scenario file (dipaco-sim sweep SCENARIO.yaml --grid key=v1,v2)");
  if (a.executor != "local" && a.executor != "slurm")
    throw ScenarioError(fmt::format("--executor {}: unknown (choose local or slurm)", a.executor));
  SweepManifest m;
  m.spec.scenario = std::filesystem::absolute(a.scenario).lexically_normal();
  m.spec.overrides = a.overrides;
  std::vector<GridAxis> file_axes, cli_axes;
  read_sweep_section(a.scenario, file_axes, m.spec.repeat);
  for (const auto& g : a.grids) cli_axes.push_back(parse_grid_argument(g));
  m.spec.axes = merge_axes(file_axes, cli_axes);
  if (a.repeat) m.spec.repeat = *a.repeat;
  {
    // Errors name the scenario as the user wrote it, not the absolute path.
    SweepSpec as_given = m.spec;
    as_given.scenario = a.scenario;
    m.points = expand_sweep(as_given);
  }

  const int cores = a.threads.value_or(static_cast<int>(std::max(1u, std::thread::hardware_concurrency())));
  int jobs = a.jobs;
  if (a.executor == "local" && jobs > cores) {
    std::cout << fmt::format("sweep: -j {} is more than the {} cores; running {} at once so that no core is oversubscribed\n", jobs, cores,
                             cores);
    jobs = cores;
  }
  m.threads_per_run = std::max(1, cores / std::max(1, jobs));

  const std::filesystem::path dir = a.out.empty() ? default_out(a.scenario) : a.out;
  if (std::filesystem::exists(dir / "sweep.json")) {
    if (!a.resume)
      throw ScenarioError(fmt::format("--out {}: already holds a sweep; add --resume to finish it, or choose another --out", dir.string()));
    if (!same_runs(read_manifest(dir), m))
      throw ScenarioError(fmt::format("--resume: {} holds a different sweep (scenario, grid, repeat or --set changed); choose another --out",
                                      dir.string()));
  }
  std::error_code ec;
  std::filesystem::create_directories(dir / "runs", ec);
  if (ec) throw ScenarioError(fmt::format("--out {}: cannot create the sweep folder: {}", dir.string(), ec.message()));
  write_manifest(dir, m);

  if (a.executor == "slurm") {
    const auto script = dir / "sweep.slurm";
    reports::write_atomically(script, slurm_script(self_binary(), std::filesystem::absolute(dir), m, a.jobs > 1 ? a.jobs : 0));
    std::filesystem::permissions(script, std::filesystem::perms::owner_exec | std::filesystem::perms::group_exec,
                                 std::filesystem::perm_options::add);
    std::cout << fmt::format("sweep: {} runs; submit with: sbatch {}\nthen gather with: dipaco-sim sweep --out {} --collect\n",
                             m.points.size(), script.string(), dir.string());
    return 0;
  }

  std::string grid;
  for (const auto& ax : m.spec.axes) grid += fmt::format("{}{} x{}", grid.empty() ? "" : ", ", ax.key, ax.values.size());
  std::cout << fmt::format("sweep: {} runs ({}{}), {} at a time with {} training threads each -> {}\n", m.points.size(),
                           grid.empty() ? "no grid" : grid, m.spec.repeat > 1 ? fmt::format(", {} seeds", m.spec.repeat) : "", jobs,
                           m.threads_per_run, dir.string())
            << std::flush;
  std::vector<int> all(m.points.size());
  for (size_t i = 0; i < all.size(); ++i) all[i] = static_cast<int>(i);
  const auto tally = run_points(dir, m, all, a.resume, {self_binary(), jobs, a.progress_line}, std::cout);
  if (tally.stopped) {
    write_sweep_table(dir, m);
    std::cout << fmt::format("sweep: stopped; {} ok, {} failed, {} interrupted; continue with --resume --out {}\n", tally.ok, tally.failed,
                             tally.interrupted, dir.string());
    return 130;
  }
  return gather(dir, m, a) > 0 ? 1 : 0;
}

}  // namespace dipaco::sim

// `dipaco-sim sweep SCENARIO --grid key=v1,v2 ...` (the sweep itself: sim/sweep/).
#include <unistd.h>

#include "reports/report.hpp"
#include "sim/app/commands.hpp"

namespace dipaco::app {

void SweepCommand::add(CLI::App& app) {
  sweep = app.add_subcommand("sweep", "Run a scenario over a grid of keys, each run its own process; write sweep.csv and a report");
  sweep->add_option("scenario", scenario, "Scenario YAML file (its sweep: section holds a grid too)");
  sweep->add_option("--grid", args.grids, "key=v1,v2,...: a scenario key and its values (repeatable; any key, e.g. algorithm.tau=10,50)");
  sweep->add_option("--set", args.overrides, "Override a scenario key for every run (repeatable)");
  sweep->add_option("--repeat", repeat, "Seeds per grid point: seed, seed+1, ... (default 1, or sweep.repeat)")->check(CLI::Range(1, 10000));
  sweep->add_option("-j,--jobs", args.jobs, "Runs at once; the cores are split between them (default 1)")->check(CLI::Range(1, 1024));
  sweep->add_option("--threads", threads, "Cores to use in all (default: all); with --task, this run's threads")->check(CLI::Range(1, 1024));
  sweep->add_option("--out", out, "Sweep folder (default: runs/sweep-<scenario>-<date>-<time>)");
  sweep->add_flag("--resume", args.resume, "Continue the sweep in --out: skip completed runs, redo failed and partial ones");
  sweep->add_flag("--no-report", no_report, "Do not write the HTML report");
  sweep->add_option("--executor", args.executor, "local (run here) or slurm (write a job-array script, DIR/sweep.slurm)");
  sweep->add_option("--task", task, "Run only run I of the sweep in --out (what each Slurm array task does)")->check(CLI::Range(0, 1000000));
  sweep->add_flag("--collect", args.collect, "Only gather --out's runs into sweep.csv (and the report)");
}

int SweepCommand::operator()() {
  args.scenario = scenario;
  args.out = out;
  if (task >= 0) args.task = task;
  if (repeat > 0) args.repeat = repeat;
  if (threads > 0) args.threads = threads;
  args.progress_line = ::isatty(STDOUT_FILENO) != 0;
  if (!no_report) args.report = [](const std::filesystem::path& dir) { return reports::write_report({dir}, dir / "report"); };
  return exit_code("sweep", [this] { return sim::sweep_command(args); });
}

}  // namespace dipaco::app

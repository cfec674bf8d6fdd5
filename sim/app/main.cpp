// dipaco-sim: the command line. Parses, loads the scenario, runs, prints where the outputs are.
// Exit codes: 0 success, 1 the run failed, 2 bad input (flag, scenario, platform).
#include <CLI/CLI.hpp>
#include <fmt/format.h>
#include <yaml-cpp/yaml.h>
#include <unistd.h>

#include <chrono>
#include <ctime>
#include <fstream>
#include <sstream>
#include <iostream>
#include <thread>

#include "engine/allocator.hpp"
#include "engine/blas_kernel.hpp"
#include "reports/ledger.hpp"
#include "reports/report.hpp"
#include "sim/run/data_setup.hpp"
#include "sim/scenario/scenario.hpp"
#include "sim/run/simulation.hpp"
#include "sim/sweep/sweep_command.hpp"

namespace {

std::string default_out_dir(const std::filesystem::path& scenario) {
  const std::time_t now = std::time(nullptr);
  char stamp[32];
  std::strftime(stamp, sizeof stamp, "%Y%m%d-%H%M%S", std::localtime(&now));
  return (std::filesystem::path("runs") / (scenario.stem().string() + "-" + stamp)).string();
}

// `dipaco-sim check RUN_DIR`: the ledger's exactly-once invariants (reports/ledger.hpp).
int check_run(const std::filesystem::path& dir) {
  std::ifstream events(dir / "events.csv"), scenario(dir / "scenario.yaml");
  if (!events || !scenario) {
    std::cerr << "dipaco-sim: error: " << dir.string() << ": no events.csv and scenario.yaml (give the directory of a diloco or dipaco run)\n";
    return 2;
  }
  std::stringstream text, yaml;
  text << events.rdbuf();
  yaml << scenario.rdbuf();
  try {
    const auto rows = dipaco::reports::parse_ledger_csv(text.str());
    // The resolved scenario names its phase policy: wait_all runs must have heard from every task.
    const YAML::Node policy = YAML::Load(yaml.str())["dipaco"]["phase_policy"];
    const bool wait_all = !policy || policy.as<std::string>() == "wait_all";
    const auto bad = dipaco::reports::check_ledger(rows, wait_all);
    for (const auto& b : bad) std::cout << "violation: " << b << "\n";
    fmt::print("{}: {} ledger rows, {} violations\n", (dir / "events.csv").string(), rows.size(), bad.size());
    return bad.empty() ? 0 : 1;
  } catch (const std::exception& e) {
    std::cerr << "dipaco-sim: error: " << (dir / "events.csv").string() << ": " << e.what() << "\n";
    return 2;
  }
}

}  // namespace

int main(int argc, char** argv) {
  dipaco::engine::select_blas_kernel(argv);  // may run this process again with the right kernel
  dipaco::engine::keep_freed_memory_for_reuse();
  CLI::App app{"dipaco-sim: geo-distributed training (DiLoCo, DiPaCo, synchronous data parallelism) simulated with SimGrid,\n"
               "with real LibTorch training inside the simulated hosts."};
  app.require_subcommand(1);

  std::string scenario_path, out_dir;
  std::vector<std::string> overrides, cfgs, logs;
  int threads = static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
  auto* run = app.add_subcommand("run", "Run one scenario and write metrics.csv, summary.json and scenario.yaml");
  run->add_option("scenario", scenario_path, "Scenario YAML file (schema: scenarios/README.md)")->required();
  run->add_option("--out", out_dir, "Run directory (default: runs/<scenario>-<date>-<time>)");
  run->add_option("--set", overrides, "Override a scenario key, e.g. --set algorithm.tau=100 (repeatable)");
  run->add_option("--threads", threads, "Training threads; results are identical for every value (default: all cores)")
      ->check(CLI::Range(1, 1024));
  run->add_option("--cfg", cfgs, "SimGrid option as --cfg=key:value, e.g. --cfg=network/model:LV08 (repeatable)");
  run->add_option("--log", logs, "SimGrid log setting, e.g. --log=dipaco_run.thres:warning (repeatable)");
  bool no_report = false;
  run->add_flag("--no-report", no_report, "Do not write the HTML report (report/index.html in the run directory)");

  dipaco::sim::SweepArgs sweep_args;
  std::string sweep_scenario, sweep_out;
  int sweep_task = -1, sweep_repeat = 0, sweep_threads = 0;
  auto* sweep = app.add_subcommand("sweep", "Run a scenario over a grid of keys, each run its own process; write sweep.csv and a report");
  sweep->add_option("scenario", sweep_scenario, "Scenario YAML file (its sweep: section holds a grid too)");
  sweep->add_option("--grid", sweep_args.grids, "key=v1,v2,...: a scenario key and its values (repeatable; any key, e.g. algorithm.tau=10,50)");
  sweep->add_option("--set", sweep_args.overrides, "Override a scenario key for every run (repeatable)");
  sweep->add_option("--repeat", sweep_repeat, "Seeds per grid point: seed, seed+1, ... (default 1, or sweep.repeat)")->check(CLI::Range(1, 10000));
  sweep->add_option("-j,--jobs", sweep_args.jobs, "Runs at once; the cores are split between them (default 1)")->check(CLI::Range(1, 1024));
  sweep->add_option("--threads", sweep_threads, "Cores to use in all (default: all); with --task, this run's threads")->check(CLI::Range(1, 1024));
  sweep->add_option("--out", sweep_out, "Sweep folder (default: runs/sweep-<scenario>-<date>-<time>)");
  sweep->add_flag("--resume", sweep_args.resume, "Continue the sweep in --out: skip completed runs, redo failed and partial ones");
  sweep->add_flag("--no-report", no_report, "Do not write the HTML report");
  sweep->add_option("--executor", sweep_args.executor, "local (run here) or slurm (write a job-array script, DIR/sweep.slurm)");
  sweep->add_option("--task", sweep_task, "Run only run I of the sweep in --out (what each Slurm array task does)")->check(CLI::Range(0, 1000000));
  sweep->add_flag("--collect", sweep_args.collect, "Only gather --out's runs into sweep.csv (and the report)");

  // CLI11 would only say "a subcommand is required"; name the word it did not know.
  const std::string command = argc > 1 ? argv[1] : "";
  if (argc > 1 && argv[1][0] != '-' && command != "run" && command != "sweep" && command != "report" && command != "data" &&
      command != "inspect" && command != "check") {
    std::cerr << "dipaco-sim: error: unknown command '" << argv[1]
              << "' (commands: run, sweep, report, data, inspect, check; see dipaco-sim --help)\n";
    return 2;
  }
  std::string run_dir;
  auto* check = app.add_subcommand("check", "Verify a DiPaCo run's events.csv: every module update counts each accepted contribution once");
  check->add_option("run_dir", run_dir, "Run directory holding events.csv and scenario.yaml")->required();
  auto* inspect = app.add_subcommand("inspect", "DiPaCo: print levels, modules, paths, placement and WAN bytes per phase; write DOT graphs");
  inspect->add_option("scenario", scenario_path, "Scenario YAML file")->required();
  inspect->add_option("--set", overrides, "Override a scenario key (repeatable)");
  inspect->add_option("--out", out_dir, "Folder for the DOT files (default: runs/<scenario>-inspect)");

  std::vector<std::string> report_dirs;
  std::string report_out;
  auto* report = app.add_subcommand("report", "Write an HTML report with plots (gnuplot) of run and sweep directories");
  report->add_option("dirs", report_dirs, "Run directories (summary.json) and sweep directories (sweep.json)")->required();
  report->add_option("-o,--out", report_out, "Report folder (default: DIR/report for one directory, else report-<date>-<time>)");

  auto* data = app.add_subcommand("data", "Build or inspect a scenario's tokenizer and token caches");
  data->require_subcommand(1);
  int samples = 3;
  auto* prepare = data->add_subcommand("prepare", "Build the tokenizer and token caches, with a progress line");
  auto* stats = data->add_subcommand("stats", "Documents and tokens per domain and split, plus decoded samples");
  for (auto* cmd : {prepare, stats}) {
    cmd->add_option("scenario", scenario_path, "Scenario YAML file")->required();
    cmd->add_option("--set", overrides, "Override a scenario key (repeatable)");
    cmd->add_option("--threads", threads, "Tokenizer threads (default: all cores)")->check(CLI::Range(1, 1024));
  }
  stats->add_option("--samples", samples, "Decoded training sequences to print (default 3)")->check(CLI::Range(0, 1000));

  try {
    app.parse(argc, argv);
  } catch (const CLI::CallForHelp& e) {
    return app.exit(e);
  } catch (const CLI::CallForAllHelp& e) {
    return app.exit(e);
  } catch (const CLI::ParseError& e) {
    std::cerr << "dipaco-sim: error: " << e.what() << " (see dipaco-sim --help)\n";
    return 2;
  }

  if (check->parsed()) return check_run(run_dir);
  if (report->parsed()) return dipaco::reports::report_command(report_dirs, report_out, std::cout, std::cerr);

  if (sweep->parsed()) {
    sweep_args.scenario = sweep_scenario;
    sweep_args.out = sweep_out;
    if (sweep_task >= 0) sweep_args.task = sweep_task;
    if (sweep_repeat > 0) sweep_args.repeat = sweep_repeat;
    if (sweep_threads > 0) sweep_args.threads = sweep_threads;
    sweep_args.progress_line = ::isatty(STDOUT_FILENO) != 0;
    if (!no_report)
      sweep_args.report = [](const std::filesystem::path& dir) { return dipaco::reports::write_report({dir}, dir / "report"); };
    try {
      return dipaco::sim::sweep_command(sweep_args);
    } catch (const dipaco::sim::ScenarioError& e) {
      std::cerr << "dipaco-sim: error: " << e.what() << "\n";
      return 2;
    } catch (const std::exception& e) {
      std::cerr << "dipaco-sim: sweep failed: " << e.what() << "\n";
      return 1;
    }
  }

  if (data->parsed()) {
    try {
      const auto scenario = dipaco::sim::load_scenario(scenario_path, overrides);
      const auto dataset = dipaco::sim::load_dataset(scenario, threads, true);
      if (stats->parsed()) dipaco::sim::print_data_stats(scenario, dataset, samples, std::cout);
      else fmt::print("cache: {}\n", dataset.cache_file.empty() ? "none (synthetic data is generated in memory)" : dataset.cache_file.string());
      return 0;
    } catch (const dipaco::sim::ScenarioError& e) {
      std::cerr << "dipaco-sim: error: " << e.what() << "\n";
      return 2;
    } catch (const std::exception& e) {
      std::cerr << "dipaco-sim: data failed: " << e.what() << "\n";
      return 1;
    }
  }

  std::filesystem::path created_dir;  // removed again if the run never writes into it
  auto remove_if_empty = [&created_dir] {
    std::error_code ignored;
    if (!created_dir.empty() && std::filesystem::is_empty(created_dir, ignored)) std::filesystem::remove(created_dir, ignored);
  };
  try {
    const auto scenario = dipaco::sim::load_scenario(scenario_path, overrides);
    dipaco::sim::RunOptions options;
    options.threads = threads;
    for (const auto& c : cfgs) {
      // SimGrid aborts on a setting without "key:value"; catch it here with a clear message.
      if (c.find(':') == std::string::npos || c.front() == ':')
        throw dipaco::sim::ScenarioError("--cfg " + c + ": expected key:value, e.g. --cfg=network/model:LV08");
      options.simgrid_args.push_back("--cfg=" + c);
    }
    for (const auto& l : logs) options.simgrid_args.push_back("--log=" + l);
    options.inspect_only = inspect->parsed();
    options.out_dir = !out_dir.empty() ? std::filesystem::path(out_dir)
                      : options.inspect_only ? std::filesystem::path("runs") / (std::filesystem::path(scenario_path).stem().string() + "-inspect")
                                             : std::filesystem::path(default_out_dir(scenario_path));
    std::error_code ec;
    std::filesystem::create_directories(options.out_dir, ec);
    if (ec) throw dipaco::sim::ScenarioError("--out " + options.out_dir.string() + ": cannot create the run directory: " + ec.message());
    created_dir = options.out_dir;
    options.progress_line = ::isatty(STDERR_FILENO) != 0;
    const auto outcome = dipaco::sim::run_scenario(scenario, options);
    if (options.inspect_only) return 0;
    if (scenario.training)
      fmt::print("validation perplexity {:.3f} -> {:.3f}\n", outcome.initial_val_perplexity, outcome.final_val_perplexity);
    fmt::print("simulated wall-clock {:.1f} s ({:.2f} h), WAN bytes {:.3g}\n", outcome.simulated_seconds,
               outcome.simulated_seconds / 3600.0, outcome.wan_bytes);
    fmt::print("outputs: {}/{{metrics.csv,summary.json,scenario.yaml{}{}}}\n", outcome.out_dir.string(),
               scenario.algorithm.name != dipaco::sim::Algorithm::Sync ? ",events.csv" : "", scenario.trace ? ",trace.json" : "");
    if (!no_report) {
      std::cout << std::flush;
      try {
        fmt::print("report: {}\n", dipaco::reports::write_report({outcome.out_dir}, outcome.out_dir / "report").string());
      } catch (const std::exception& e) {
        // The run's own outputs are complete; only the report is missing.
        std::cerr << "dipaco-sim: report failed (the run's outputs are complete): " << e.what() << "\n";
        return 1;
      }
    }
    return 0;
  } catch (const dipaco::sim::ScenarioError& e) {
    remove_if_empty();
    std::cerr << "dipaco-sim: error: " << e.what() << "\n";
    return 2;
  } catch (const std::exception& e) {
    remove_if_empty();
    std::cerr << "dipaco-sim: run failed: " << e.what() << "\n";
    return 1;
  }
}

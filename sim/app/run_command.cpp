// `dipaco-sim run SCENARIO` and `dipaco-sim inspect SCENARIO`.
#include <fmt/format.h>
#include <unistd.h>

#include <ctime>
#include <filesystem>
#include <iostream>

#include "reports/report.hpp"
#include "sim/app/commands.hpp"
#include "sim/platform/network_model.hpp"
#include "sim/run/simulation.hpp"

namespace dipaco::app {
namespace {

std::string default_out_dir(const std::filesystem::path& scenario) {
  const std::time_t now = std::time(nullptr);
  char stamp[32];
  std::strftime(stamp, sizeof stamp, "%Y%m%d-%H%M%S", std::localtime(&now));
  return (std::filesystem::path("runs") / (scenario.stem().string() + "-" + stamp)).string();
}

}  // namespace

void RunCommand::add(CLI::App& app) {
  run = app.add_subcommand("run", "Run one scenario and write metrics.csv, summary.json and scenario.yaml");
  run->add_option("scenario", scenario, "Scenario YAML file (schema: scenarios/README.md)")->required();
  run->add_option("--out", out, "Run directory (default: runs/<scenario>-<date>-<time>)");
  run->add_option("--set", overrides, "Override a scenario key, e.g. --set algorithm.tau=100 (repeatable)");
  run->add_option("--threads", threads, "Training threads; results are identical for every value (default: all cores)")
      ->check(CLI::Range(1, 1024));
  run->add_option("--cfg", cfgs, "SimGrid option as --cfg=key:value, e.g. --cfg=network/model:LV08 (repeatable)");
  run->add_option("--log", logs, "SimGrid log setting, e.g. --log=dipaco_run.thres:warning (repeatable)");
  run->add_flag("--no-report", no_report, "Do not write the HTML report (report/index.html in the run directory)");
  inspect = app.add_subcommand("inspect", "Print levels, modules, paths, placement and WAN bytes per phase (any algorithm); write DOT graphs");
  inspect->add_option("scenario", scenario, "Scenario YAML file")->required();
  inspect->add_option("--set", overrides, "Override a scenario key (repeatable)");
  inspect->add_option("--out", out, "Folder for the DOT files (default: runs/<scenario>-inspect)");
}

int RunCommand::operator()() const {
  std::filesystem::path created_dir;  // removed again if the run never writes into it
  const auto remove_if_empty = [&created_dir] {
    std::error_code ignored;
    if (!created_dir.empty() && std::filesystem::is_empty(created_dir, ignored)) std::filesystem::remove(created_dir, ignored);
  };
  return exit_code("run", [&] {
    const auto loaded = sim::load_scenario(scenario, overrides);
    sim::RunOptions options;
    options.threads = threads;
    for (const auto& c : cfgs) {
      sim::check_simgrid_cfg(c);  // SimGrid aborts on some bad settings: refuse them first
      options.simgrid_args.push_back("--cfg=" + c);
    }
    for (const auto& l : logs) options.simgrid_args.push_back("--log=" + l);
    options.inspect_only = inspect->parsed();
    options.out_dir = !out.empty() ? std::filesystem::path(out)
                      : options.inspect_only ? std::filesystem::path("runs") / (std::filesystem::path(scenario).stem().string() + "-inspect")
                                             : std::filesystem::path(default_out_dir(scenario));
    std::error_code ec;
    std::filesystem::create_directories(options.out_dir, ec);
    if (ec) throw sim::ScenarioError("--out " + options.out_dir.string() + ": cannot create the run directory: " + ec.message());
    created_dir = options.out_dir;
    options.progress_line = ::isatty(STDERR_FILENO) != 0;
    const auto outcome = sim::run_scenario(loaded, options);
    if (options.inspect_only) return 0;
    if (loaded.training)
      fmt::print("validation perplexity {:.3f} -> {:.3f}\n", outcome.initial_val_perplexity, outcome.final_val_perplexity);
    fmt::print("simulated wall-clock {:.1f} s ({:.2f} h), WAN bytes {:.3g}\n", outcome.simulated_seconds,
               outcome.simulated_seconds / 3600.0, outcome.wan_bytes);
    fmt::print("outputs: {}/{{metrics.csv,summary.json,scenario.yaml{}{}}}\n", outcome.out_dir.string(),
               loaded.algorithm.name == sim::Algorithm::Sync          ? ""
               : loaded.algorithm.name == sim::Algorithm::AsyncDiloco || loaded.algorithm.name == sim::Algorithm::Halos ||
                       loaded.algorithm.name == sim::Algorithm::DecoupledDiloco
                   ? ",updates.csv"
                                                                      : ",events.csv",
               loaded.trace ? ",trace.json" : "");
    if (no_report) return 0;
    std::cout << std::flush;
    try {
      fmt::print("report: {}\n", reports::write_report({outcome.out_dir}, outcome.out_dir / "report").string());
    } catch (const std::exception& e) {
      // The run's own outputs are complete; only the report is missing.
      std::cerr << "dipaco-sim: report failed (the run's outputs are complete): " << e.what() << "\n";
      return 1;
    }
    return 0;
  }, remove_if_empty);
}

}  // namespace dipaco::app

// dipaco-sim: the command line. One file per subcommand (sim/app/*_command.cpp, sweep_cli.cpp);
// exit codes are mapped once, in commands.hpp: 0 success, 1 the command failed, 2 bad input.
#include <CLI/CLI.hpp>

#include <algorithm>
#include <iostream>
#include <string>
#include <thread>

#include "engine/train/allocator.hpp"
#include "engine/train/blas_kernel.hpp"
#include "sim/app/commands.hpp"

int main(int argc, char** argv) {
  dipaco::engine::select_blas_kernel(argv);  // may run this process again with the right kernel
  dipaco::engine::keep_freed_memory_for_reuse();
  CLI::App app{"dipaco-sim: geo-distributed training (DiLoCo, DiPaCo, synchronous data parallelism) simulated with SimGrid,\n"
               "with real LibTorch training inside the simulated hosts."};
  app.require_subcommand(1);

  // CLI11 would only say "a subcommand is required"; name the word it did not know.
  const std::string command = argc > 1 ? argv[1] : "";
  const std::vector<std::string> commands{"run", "sweep", "report", "data", "inspect", "check"};
  if (argc > 1 && argv[1][0] != '-' && std::find(commands.begin(), commands.end(), command) == commands.end()) {
    std::cerr << "dipaco-sim: error: unknown command '" << argv[1]
              << "' (commands: run, sweep, report, data, inspect, check; see dipaco-sim --help)\n";
    return 2;
  }

  const int cores = static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
  dipaco::app::RunCommand run;
  run.threads = cores;
  dipaco::app::SweepCommand sweep;
  dipaco::app::DataCommand data;
  data.threads = cores;
  dipaco::app::CheckCommand check;
  dipaco::app::ReportCommand report;
  run.add(app);  // run and inspect
  sweep.add(app);
  check.add(app);
  report.add(app);
  data.add(app);

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
  if (check.check->parsed()) return check();
  if (report.report->parsed()) return report();
  if (sweep.sweep->parsed()) return sweep();
  if (data.data->parsed()) return data();
  return run();
}

// `dipaco-sim report DIR...`: the HTML report of run and sweep directories (reports/).
#include <iostream>

#include "reports/report.hpp"
#include "sim/app/commands.hpp"

namespace dipaco::app {

void ReportCommand::add(CLI::App& app) {
  report = app.add_subcommand("report", "Write an HTML report with plots (gnuplot) of run and sweep directories");
  report->add_option("dirs", dirs, "Run directories (summary.json) and sweep directories (sweep.json)")->required();
  report->add_option("-o,--out", out, "Report folder (default: DIR/report for one directory, else report-<date>-<time>)");
}

int ReportCommand::operator()() const { return reports::report_command(dirs, out, std::cout, std::cerr); }

}  // namespace dipaco::app

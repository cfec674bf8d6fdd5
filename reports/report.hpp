// `dipaco-sim report DIR... [-o OUT]`: an HTML report with gnuplot plots of run and sweep
// directories. Also called by `run` and `sweep` once their outputs are written.
#pragma once

#include <filesystem>
#include <iosfwd>
#include <string>
#include <vector>

#include "reports/report_inputs.hpp"  // ReportError

namespace dipaco::reports {

// Reads `dirs` (run and sweep directories, all their runs in one report), writes into `out`
// (created if needed) index.html, plots.gp and an SVG and a PNG per plot, each file atomically.
// Returns the path of index.html. Throws ReportError on bad input, std::runtime_error if gnuplot
// is missing or fails or a file cannot be written.
std::filesystem::path write_report(const std::vector<std::filesystem::path>& dirs, const std::filesystem::path& out);

// <dir>/report for one directory, else report-<date>-<time> in the current directory.
std::filesystem::path default_report_dir(const std::vector<std::filesystem::path>& dirs);

// The command line's part: writes the report, prints where it is (or a one-line error on `err`)
// and returns the exit code: 0 written, 2 bad input, 1 anything else.
int report_command(const std::vector<std::string>& dirs, const std::string& out, std::ostream& stdout_, std::ostream& err);

}  // namespace dipaco::reports

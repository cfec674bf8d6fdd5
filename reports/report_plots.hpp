// The report's plots: one gnuplot script (data inline, so `gnuplot plots.gp` in the report folder
// redraws everything) drawing each plot as SVG for the HTML and PNG for markdown.
#pragma once

#include <filesystem>
#include <string>
#include <vector>

#include "reports/report_inputs.hpp"

namespace dipaco::reports {

struct PlotFile {
  std::string stem;     // <stem>.svg and <stem>.png
  std::string caption;  // plain text
};

struct PlotSet {
  std::string script;              // gnuplot, writing <stem>.svg.partial and <stem>.png.partial
  std::vector<PlotFile> plots;     // in page order
  std::vector<std::string> notes;  // plain-text sentences: plots left out and why
};

// `labels`: one legend label per run of `in`. Pure: same inputs, same script.
PlotSet plan_plots(const ReportInputs& in, const std::vector<std::string>& labels);

// Writes out/plots.gp and runs gnuplot in `out`; each image is renamed into place only once
// gnuplot has drawn them all. Throws std::runtime_error if gnuplot is missing or fails.
void draw_plots(const PlotSet& set, const std::filesystem::path& out);

}  // namespace dipaco::reports

// index.html of a report: the plots, a sortable table of runs and the scenario differences.
// Self-contained (inline CSS and JS, nothing fetched) and deterministic: no dates, no absolute paths
// beyond the directories given.
#pragma once

#include <string>
#include <vector>

#include "reports/report_inputs.hpp"
#include "reports/report_plots.hpp"

namespace dipaco::reports {

// `keys`: the scenario keys that differ between the runs (scenario_diff.hpp), "seed" last if it does.
std::string render_html(const ReportInputs& in, const std::vector<std::string>& keys, const PlotSet& plots);

}  // namespace dipaco::reports

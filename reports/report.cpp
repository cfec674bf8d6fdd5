#include "reports/report.hpp"

#include <ctime>
#include <ostream>

#include "reports/atomic_file.hpp"
#include "reports/report_html.hpp"
#include "reports/report_plots.hpp"
#include "reports/scenario_diff.hpp"

namespace dipaco::reports {

namespace fs = std::filesystem;

fs::path write_report(const std::vector<fs::path>& dirs, const fs::path& out) {
  const ReportInputs in = read_inputs(dirs);

  std::vector<Settings> settings;
  std::vector<bool> complete;
  std::vector<std::string> names, sweep_keys;
  for (const auto& r : in.runs) {
    settings.push_back(r.settings);
    complete.push_back(r.has_scenario);
    names.push_back(r.name);
  }
  for (const auto& s : in.sweeps) sweep_keys.insert(sweep_keys.end(), s.keys.begin(), s.keys.end());
  const auto keys = differing_keys(settings, complete, sweep_keys);
  const auto labels = run_labels(settings, names, keys);

  std::error_code ec;
  fs::create_directories(out, ec);
  if (ec || !fs::is_directory(out))
    throw ReportError(out.string() + ": cannot create the report directory" + (ec ? ": " + ec.message() : "") + " (choose another with -o)");
  const PlotSet plots = plan_plots(in, labels);
  draw_plots(plots, out);
  write_atomically(out / "index.html", render_html(in, keys, plots));
  return out / "index.html";
}

fs::path default_report_dir(const std::vector<fs::path>& dirs) {
  if (dirs.size() == 1) return dirs.front() / "report";
  const std::time_t now = std::time(nullptr);
  char stamp[32];
  std::strftime(stamp, sizeof stamp, "%Y%m%d-%H%M%S", std::localtime(&now));
  return fs::path(std::string("report-") + stamp);
}

int report_command(const std::vector<std::string>& dirs, const std::string& out, std::ostream& stdout_, std::ostream& err) {
  const std::vector<fs::path> paths(dirs.begin(), dirs.end());
  try {
    const fs::path index = write_report(paths, out.empty() ? default_report_dir(paths) : fs::path(out));
    stdout_ << "report: " << index.string() << "\n";
    return 0;
  } catch (const ReportError& e) {
    err << "dipaco-sim: error: " << e.what() << "\n";
    return 2;
  } catch (const std::exception& e) {
    err << "dipaco-sim: report failed: " << e.what() << "\n";
    return 1;
  }
}

}  // namespace dipaco::reports

// What `dipaco-sim report` reads: run directories (metrics.csv, summary.json, scenario.yaml,
// optionally status.json) and sweep directories (sweep.json + runs/<name>/), all their runs
// gathered into one list in the order given. No SimGrid, no torch.
#pragma once

#include <cstdint>
#include <filesystem>
#include <map>
#include <optional>
#include <stdexcept>
#include <string>
#include <vector>

namespace dipaco::reports {

// Bad input to the report: a one-line message naming the file or directory and the fix.
class ReportError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// Flattened scenario: dotted key -> value as written ("algorithm.tau" -> "50").
using Settings = std::map<std::string, std::string>;

// One whole-model row of metrics.csv (path = all).
struct CurvePoint {
  double sim_time_s = 0.0;
  double tokens = 0.0;
  std::optional<double> val_perplexity;  // absent when not evaluated or timing-only
  double wan_bytes = 0.0;                // cumulative
};

// Fractions of worker host-time; they sum to 1.
struct UtilisationBreakdown {
  double compute = 0.0, communication = 0.0, idle = 0.0, down = 0.0;
  bool measured = true;  // false: summary.json had no utilisation_breakdown; compute_utilisation, the rest as idle
};

struct RunRecord {
  std::string name;  // the directory's name, or the sweep's name for the run
  std::filesystem::path dir;
  bool ok = false;         // finished: summary.json present, and status.json (if any) says ok
  std::string status;      // ok, failed, not run, or status.json's word (interrupted)
  std::string error;       // why not ok (one line)
  bool has_scenario = false;
  Settings settings;  // scenario.yaml flattened; a sweep's values and seed override their keys
  std::vector<CurvePoint> curve;
  std::optional<double> final_val_perplexity, simulated_wall_clock_s, wan_bytes, lost_compute_s,
      time_to_target_s, real_seconds;
  std::string algorithm;
  std::optional<int64_t> workers;
  std::optional<UtilisationBreakdown> utilisation;
  int sweep = -1;  // index into ReportInputs::sweeps, -1 for a run given directly

  std::string seed() const;  // settings["seed"], "" if unknown
};

struct SweepRecord {
  std::filesystem::path dir;
  std::string scenario;
  std::vector<std::string> keys;
  std::vector<std::vector<std::string>> values;  // per key: its values in grid order ("grid" in sweep.json, else as runs list them)
  int repeat = 1;
  std::vector<size_t> runs;  // indices into ReportInputs::runs
};

struct ReportInputs {
  std::vector<std::filesystem::path> dirs;  // as given
  std::vector<RunRecord> runs;              // in the order given, a sweep's in its own order
  std::vector<SweepRecord> sweeps;
};

// Throws ReportError for a missing directory, one that is neither kind, or a malformed file.
ReportInputs read_inputs(const std::vector<std::filesystem::path>& dirs);

// The whole-model rows of a metrics.csv; throws ReportError naming `file` and the line.
std::vector<CurvePoint> parse_metrics_csv(const std::string& text, const std::string& file);

}  // namespace dipaco::reports

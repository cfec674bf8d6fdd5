#include "reports/report_inputs.hpp"

#include <nlohmann/json.hpp>

#include <algorithm>
#include <cerrno>
#include <cstdlib>
#include <fstream>
#include <sstream>

#include "reports/scenario_diff.hpp"

namespace dipaco::reports {

namespace fs = std::filesystem;
using nlohmann::json;

namespace {

std::optional<std::string> read_text(const fs::path& path) {
  std::error_code ec;
  if (!fs::is_regular_file(path, ec)) return std::nullopt;
  std::ifstream in(path, std::ios::binary);
  if (!in) throw ReportError(path.string() + ": cannot read (check its permissions)");
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

std::string fmt_line(const std::string& file, int line) { return file + ":" + std::to_string(line); }

std::vector<std::string> split_csv_line(const std::string& line) {
  std::vector<std::string> fields;
  size_t start = 0;
  for (size_t comma; (comma = line.find(',', start)) != std::string::npos; start = comma + 1) fields.push_back(line.substr(start, comma - start));
  fields.push_back(line.substr(start));
  return fields;
}

json parse_json_file(const fs::path& path, const std::string& text, const std::string& fix) {
  try {
    return json::parse(text);
  } catch (const json::parse_error& e) {
    throw ReportError(path.string() + ": not valid JSON at byte " + std::to_string(e.byte) + " (" + fix + ")");
  } catch (const json::exception& e) {  // a number too large for a double (found by tests/fuzz/fuzz_run_dir)
    throw ReportError(path.string() + ": not valid JSON: " + e.what() + " (" + fix + ")");
  }
}

// A number at a dotted path of a JSON object; absent, null or not a number gives nothing.
std::optional<double> number_at(const json& j, const std::string& dotted) {
  const json* node = &j;
  size_t start = 0;
  while (true) {
    const size_t dot = dotted.find('.', start);
    const std::string key = dotted.substr(start, dot == std::string::npos ? std::string::npos : dot - start);
    if (!node->is_object() || !node->contains(key)) return std::nullopt;
    node = &(*node)[key];
    if (dot == std::string::npos) break;
    start = dot + 1;
  }
  if (!node->is_number()) return std::nullopt;
  return node->get<double>();
}

std::string string_at(const json& j, const std::string& key) {
  return j.is_object() && j.contains(key) && j[key].is_string() ? j[key].get<std::string>() : std::string();
}

std::string dir_name(const fs::path& dir) {
  const fs::path clean = dir.lexically_normal();
  std::string name = clean.filename().string();
  if (name.empty()) name = clean.parent_path().filename().string();  // "runs/x/"
  if (name.empty() || name == ".") name = fs::absolute(dir).lexically_normal().filename().string();
  return name.empty() ? dir.string() : name;
}

void read_summary(RunRecord& run, const fs::path& path, const std::string& text) {
  const json s = parse_json_file(path, text, "it is written by dipaco-sim run; rerun it or leave this run out");
  if (!s.is_object()) throw ReportError(path.string() + ": expected a JSON object (rerun the run or leave it out)");
  run.final_val_perplexity = number_at(s, "final_val_perplexity");
  run.simulated_wall_clock_s = number_at(s, "simulated_wall_clock_s");
  run.wan_bytes = number_at(s, "wan_bytes");
  // Only DiPaCo runs with failures write the object; no failures means nothing lost.
  run.lost_compute_s = s.contains("failures") ? number_at(s, "failures.lost_compute_s") : std::optional<double>(0.0);
  run.time_to_target_s = number_at(s, "time_to_target_s");
  run.real_seconds = number_at(s, "real_seconds");
  run.algorithm = string_at(s, "algorithm");
  if (const auto w = number_at(s, "workers")) run.workers = static_cast<int64_t>(*w);
  const auto compute = number_at(s, "utilisation_breakdown.compute");
  if (compute) {
    UtilisationBreakdown u;
    u.compute = *compute;
    u.communication = number_at(s, "utilisation_breakdown.communication").value_or(0.0);
    u.idle = number_at(s, "utilisation_breakdown.idle").value_or(0.0);
    u.down = number_at(s, "utilisation_breakdown.down").value_or(0.0);
    run.utilisation = u;
  } else if (const auto c = number_at(s, "compute_utilisation")) {
    UtilisationBreakdown u;
    u.compute = *c;
    u.idle = std::max(0.0, 1.0 - *c);
    u.measured = false;
    run.utilisation = u;
  }
  const std::string error = string_at(s, "error");
  if (!error.empty()) {
    run.ok = false;
    run.error = error;
  }
}

// Reads what there is of one run directory into `run` (name, sweep values already set).
void read_run(RunRecord& run) {
  const fs::path& dir = run.dir;
  std::error_code ec;
  if (!fs::is_directory(dir, ec)) {
    run.status = "pending";  // as in sweep.csv
    run.error = "not started: no directory " + dir.string();
    return;
  }
  if (const auto yaml = read_text(dir / "scenario.yaml")) {
    try {
      Settings flat = flatten_yaml(*yaml);
      for (const auto& kv : run.settings) flat[kv.first] = kv.second;  // the sweep's own spelling wins
      run.settings = std::move(flat);
      run.has_scenario = true;
    } catch (const std::exception& e) {
      throw ReportError((dir / "scenario.yaml").string() + ": " + e.what() + " (it is written by dipaco-sim run; rerun it or leave this run out)");
    }
  }
  const auto summary = read_text(dir / "summary.json");
  run.ok = summary.has_value();
  if (summary) read_summary(run, dir / "summary.json", *summary);
  else run.error = "no summary.json: the run did not finish (still running, or killed)";
  if (const auto status_text = read_text(dir / "status.json")) {
    const json st = parse_json_file(dir / "status.json", *status_text, "the sweep driver writes it; remove it to treat the run as finished");
    const std::string status = string_at(st, "status");
    if (status != "ok") {  // failed, interrupted
      run.ok = false;
      run.status = status.empty() ? "failed" : status;
      run.error = string_at(st, "error");
      if (run.error.empty()) {
        const auto code = number_at(st, "exit_code");
        run.error = run.status + (code ? " with exit code " + std::to_string(static_cast<int>(*code)) : "");
      }
    }
    if (!run.real_seconds) run.real_seconds = number_at(st, "real_seconds");
  }
  if (run.status.empty()) run.status = run.ok ? "ok" : summary ? "failed" : "incomplete";
  if (const auto csv = read_text(dir / "metrics.csv")) run.curve = parse_metrics_csv(*csv, (dir / "metrics.csv").string());
  // Never in plots without a finished summary; the table still lists the run.
  if (!run.ok) run.curve.clear();
  // One line in the table whatever the run printed.
  for (auto& c : run.error)
    if (c == '\n' || c == '\r') c = ' ';
}

void read_sweep(const fs::path& dir, const std::string& text, ReportInputs& inputs) {
  const fs::path file = dir / "sweep.json";
  const std::string fix = "it is written by dipaco-sim sweep; rerun the sweep";
  const json j = parse_json_file(file, text, fix);
  if (!j.is_object() || !j.contains("runs") || !j["runs"].is_array() || !j.contains("keys") || !j["keys"].is_array())
    throw ReportError(file.string() + ": expected an object with \"keys\" and \"runs\" arrays (" + fix + ")");
  SweepRecord sweep;
  sweep.dir = dir;
  sweep.scenario = string_at(j, "scenario");
  if (const auto r = number_at(j, "repeat")) sweep.repeat = static_cast<int>(*r);
  for (const auto& k : j["keys"]) {
    if (!k.is_string()) throw ReportError(file.string() + ": \"keys\" must hold strings (" + fix + ")");
    sweep.keys.push_back(k.get<std::string>());
  }
  sweep.values.resize(sweep.keys.size());
  // The grid's own order when sweep.json has it; values only seen in runs are appended below.
  if (j.contains("grid") && j["grid"].is_object())
    for (size_t k = 0; k < sweep.keys.size(); ++k)
      if (j["grid"].contains(sweep.keys[k]) && j["grid"][sweep.keys[k]].is_array())
        for (const auto& v : j["grid"][sweep.keys[k]]) sweep.values[k].push_back(v.is_string() ? v.get<std::string>() : v.dump());
  const int sweep_index = static_cast<int>(inputs.sweeps.size());
  size_t n = 0;
  for (const auto& r : j["runs"]) {
    ++n;
    const std::string name = string_at(r, "name");
    const std::string rel = string_at(r, "dir");
    if (name.empty() && rel.empty())
      throw ReportError(file.string() + ": run " + std::to_string(n) + " has neither \"name\" nor \"dir\" (" + fix + ")");
    RunRecord run;
    run.name = name.empty() ? dir_name(rel) : name;
    run.dir = rel.empty() ? dir / "runs" / name : fs::path(rel).is_absolute() ? fs::path(rel) : dir / rel;
    run.sweep = sweep_index;
    for (size_t k = 0; k < sweep.keys.size(); ++k) {
      const auto& key = sweep.keys[k];
      if (!r.contains("values") || !r["values"].is_object() || !r["values"].contains(key)) continue;
      const json& v = r["values"][key];
      const std::string value = v.is_string() ? v.get<std::string>() : v.dump();
      run.settings[key] = value;
      auto& seen = sweep.values[k];
      if (std::find(seen.begin(), seen.end(), value) == seen.end()) seen.push_back(value);
    }
    if (r.contains("seed") && (r["seed"].is_number() || r["seed"].is_string()))
      run.settings["seed"] = r["seed"].is_string() ? r["seed"].get<std::string>() : r["seed"].dump();
    read_run(run);
    sweep.runs.push_back(inputs.runs.size());
    inputs.runs.push_back(std::move(run));
  }
  inputs.sweeps.push_back(std::move(sweep));
}

}  // namespace

std::string RunRecord::seed() const {
  const auto it = settings.find("seed");
  return it == settings.end() ? std::string() : it->second;
}

std::vector<CurvePoint> parse_metrics_csv(const std::string& text, const std::string& file) {
  std::istringstream in(text);
  std::string line;
  const std::string fix = "it is written by dipaco-sim run; rerun it or leave this run out";
  if (!std::getline(in, line)) throw ReportError(file + ": empty, expected a header line (" + fix + ")");
  if (!line.empty() && line.back() == '\r') line.pop_back();
  const auto header = split_csv_line(line);
  auto column = [&](const std::string& name) {
    const auto it = std::find(header.begin(), header.end(), name);
    if (it == header.end()) throw ReportError(file + ":1: no column " + name + " in the header (" + fix + ")");
    return static_cast<size_t>(it - header.begin());
  };
  const size_t time_c = column("sim_time_s"), path_c = column("path"), tokens_c = column("tokens"),
               ppl_c = column("val_perplexity"), wan_c = column("wan_bytes");
  std::vector<CurvePoint> points;
  for (int number = 2; std::getline(in, line); ++number) {
    if (!line.empty() && line.back() == '\r') line.pop_back();
    if (line.empty()) continue;
    const auto f = split_csv_line(line);
    if (f.size() != header.size())
      throw ReportError(fmt_line(file, number) + ": expected " + std::to_string(header.size()) + " fields, found " +
                        std::to_string(f.size()) + " (" + fix + ")");
    if (f[path_c] != "all") continue;
    auto number_of = [&](size_t c, bool optional) -> std::optional<double> {
      if (f[c].empty() && optional) return std::nullopt;
      errno = 0;
      char* end = nullptr;
      const double v = std::strtod(f[c].c_str(), &end);
      if (f[c].empty() || *end != '\0' || errno == ERANGE)
        throw ReportError(fmt_line(file, number) + ": " + header[c] + " '" + f[c] + "' is not a number (" + fix + ")");
      return v;
    };
    CurvePoint p;
    p.sim_time_s = *number_of(time_c, false);
    p.tokens = *number_of(tokens_c, false);
    p.val_perplexity = number_of(ppl_c, true);
    p.wan_bytes = *number_of(wan_c, false);
    points.push_back(p);
  }
  return points;
}

ReportInputs read_inputs(const std::vector<fs::path>& dirs) {
  if (dirs.empty()) throw ReportError("no directory given (give run or sweep directories)");
  ReportInputs inputs;
  inputs.dirs = dirs;
  for (const auto& dir : dirs) {
    std::error_code ec;
    if (!fs::exists(dir, ec)) throw ReportError(dir.string() + ": no such directory (give a run or sweep directory)");
    if (!fs::is_directory(dir, ec)) throw ReportError(dir.string() + ": not a directory (give a run or sweep directory)");
    if (const auto sweep = read_text(dir / "sweep.json")) {
      read_sweep(dir, *sweep, inputs);
    } else if (fs::exists(dir / "summary.json", ec) || fs::exists(dir / "scenario.yaml", ec)) {
      RunRecord run;
      run.name = dir_name(dir);
      run.dir = dir;
      read_run(run);
      inputs.runs.push_back(std::move(run));
    } else {
      throw ReportError(dir.string() + ": neither a run directory (summary.json) nor a sweep directory (sweep.json)");
    }
  }
  return inputs;
}

}  // namespace dipaco::reports

#include "sim/sweep/sweep_manifest.hpp"

#include <fmt/format.h>

#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>

#include "reports/atomic_file.hpp"
#include "sim/scenario/scenario.hpp"

namespace dipaco::sim {

using nlohmann::json;

std::filesystem::path run_dir(const std::filesystem::path& sweep_dir, const SweepPoint& p) { return sweep_dir / "runs" / p.name; }

void write_manifest(const std::filesystem::path& sweep_dir, const SweepManifest& m) {
  json j;
  j["scenario"] = m.spec.scenario.string();
  j["set"] = m.spec.overrides;
  j["keys"] = json::array();
  j["grid"] = json::object();
  for (const auto& a : m.spec.axes) {
    j["keys"].push_back(a.key);
    j["grid"][a.key] = a.values;
  }
  j["repeat"] = m.spec.repeat;
  j["threads_per_run"] = m.threads_per_run;
  j["runs"] = json::array();
  for (const auto& p : m.points) {
    json r;
    r["name"] = p.name;
    r["dir"] = "runs/" + p.name;
    r["values"] = json::object();
    for (size_t i = 0; i < m.spec.axes.size(); ++i) r["values"][m.spec.axes[i].key] = p.values[i];
    r["seed"] = p.seed;
    r["set"] = p.overrides;
    j["runs"].push_back(r);
  }
  reports::write_atomically(sweep_dir / "sweep.json", j.dump(2) + "\n");
}

SweepManifest read_manifest(const std::filesystem::path& sweep_dir) {
  const auto file = sweep_dir / "sweep.json";
  std::ifstream in(file);
  if (!in) throw ScenarioError(fmt::format("{}: no sweep here (give the --out folder of a sweep)", file.string()));
  SweepManifest m;
  try {
    const json j = json::parse(in);
    m.spec.scenario = j.at("scenario").get<std::string>();
    m.spec.overrides = j.at("set").get<std::vector<std::string>>();
    m.spec.repeat = j.at("repeat").get<int>();
    m.threads_per_run = j.at("threads_per_run").get<int>();
    for (const auto& k : j.at("keys")) m.spec.axes.push_back({k.get<std::string>(), j.at("grid").at(k.get<std::string>()).get<std::vector<std::string>>()});
    for (const auto& r : j.at("runs")) {
      SweepPoint p;
      p.index = static_cast<int>(m.points.size());
      p.name = r.at("name").get<std::string>();
      p.seed = r.at("seed").get<uint64_t>();
      p.overrides = r.at("set").get<std::vector<std::string>>();
      for (const auto& a : m.spec.axes) p.values.push_back(r.at("values").at(a.key).get<std::string>());
      if (p.name.empty() || p.name.find('/') != std::string::npos || p.name.front() == '.')
        throw std::runtime_error(fmt::format("run name '{}' is not a plain folder name", p.name));
      m.points.push_back(std::move(p));
    }
  } catch (const std::exception& e) {
    throw ScenarioError(fmt::format("{}: not a sweep manifest written by dipaco-sim sweep: {}", file.string(), e.what()));
  }
  return m;
}

bool same_runs(const SweepManifest& a, const SweepManifest& b) {
  if (a.points.size() != b.points.size() || a.spec.scenario != b.spec.scenario) return false;
  for (size_t i = 0; i < a.points.size(); ++i)
    if (a.points[i].name != b.points[i].name || a.points[i].overrides != b.points[i].overrides) return false;
  return true;
}

void write_status(const std::filesystem::path& dir, const RunStatus& s) {
  json j;
  j["status"] = s.status;
  j["exit_code"] = s.exit_code;
  j["error"] = s.error;
  j["real_seconds"] = s.real_seconds;
  reports::write_atomically(dir / "status.json", j.dump(2) + "\n");
}

std::optional<RunStatus> read_status(const std::filesystem::path& dir) {
  std::ifstream in(dir / "status.json");
  if (!in) return std::nullopt;
  try {
    const json j = json::parse(in);
    RunStatus s;
    s.status = j.at("status").get<std::string>();
    s.exit_code = j.at("exit_code").get<int>();
    s.error = j.at("error").get<std::string>();
    s.real_seconds = j.at("real_seconds").get<double>();
    return s;
  } catch (const std::exception&) {
    return std::nullopt;  // unreadable: treated as never finished, so the run is done again
  }
}

bool is_complete(const std::filesystem::path& dir) {
  const auto s = read_status(dir);
  return s && s->status == "ok" && std::filesystem::exists(dir / "summary.json");
}

}  // namespace dipaco::sim

#include "sim/sweep/sweep_table.hpp"

#include <fmt/format.h>

#include <array>
#include <fstream>
#include <map>
#include <nlohmann/json.hpp>
#include <optional>

#include "reports/atomic_file.hpp"
#include "reports/statistics.hpp"

namespace dipaco::sim {

namespace {

std::string csv_field(const std::string& s) {
  if (s.find_first_of(",\"\n") == std::string::npos) return s;
  std::string out = "\"";
  for (const char c : s) out += c == '"' ? std::string("\"\"") : std::string(1, c == '\n' ? ' ' : c);
  return out + "\"";
}

constexpr std::array<const char*, 5> kMetrics = {"final_val_perplexity", "simulated_wall_clock_s", "wan_bytes", "lost_compute_s",
                                                 "time_to_target_s"};

// What one run of the sweep left behind.
struct RunRow {
  std::string status;  // ok | failed | interrupted | incomplete | pending
  std::array<std::optional<double>, kMetrics.size()> metrics;
  std::optional<double> real_seconds;
  std::string error;
};

std::optional<double> number_at(const nlohmann::json& j, const std::string& pointer) {
  const nlohmann::json::json_pointer ptr(pointer);
  if (!j.contains(ptr) || !j.at(ptr).is_number()) return std::nullopt;
  return j.at(ptr).get<double>();
}

RunRow read_run(const std::filesystem::path& dir) {
  RunRow r;
  const auto status = read_status(dir);
  r.status = status ? status->status : std::filesystem::exists(dir) ? "incomplete" : "pending";
  if (status) r.real_seconds = status->real_seconds, r.error = status->error;
  if (!status || status->status != "ok") return r;
  std::ifstream in(dir / "summary.json");
  const auto summary = nlohmann::json::parse(in, nullptr, false);
  if (!summary.is_object()) return r;
  for (size_t i = 0; i < kMetrics.size(); ++i) {
    const std::string key = kMetrics[i];
    r.metrics[i] = number_at(summary, key == "lost_compute_s" ? "/failures/lost_compute_s" : "/" + key);
  }
  if (!r.metrics[3]) r.metrics[3] = 0.0;  // no failure model on this code path: nothing lost
  return r;
}

std::string number(const std::optional<double>& v) { return v ? fmt::format("{}", *v) : std::string(); }

}  // namespace

std::string sweep_table(const std::filesystem::path& sweep_dir, const SweepManifest& m) {
  std::string out = "run";
  for (const auto& a : m.spec.axes) out += "," + csv_field(a.key);
  out += ",seed,status";
  for (const char* metric : kMetrics) out += std::string(",") + metric;
  out += ",real_seconds,error\n";
  for (const auto& p : m.points) {
    const RunRow r = read_run(run_dir(sweep_dir, p));
    std::string row = csv_field(p.name);
    for (const auto& v : p.values) row += "," + csv_field(v);
    row += fmt::format(",{},{}", p.seed, r.status);
    for (const auto& v : r.metrics) row += "," + number(v);
    row += "," + (r.real_seconds ? fmt::format("{:.1f}", *r.real_seconds) : std::string()) + "," + csv_field(r.error);
    out += row + "\n";
  }
  return out;
}

std::string sweep_point_table(const std::filesystem::path& sweep_dir, const SweepManifest& m) {
  std::string out;
  for (const auto& a : m.spec.axes) out += csv_field(a.key) + ",";
  out += "runs,ok";
  for (const char* metric : kMetrics) out += fmt::format(",{0}_n,{0}_mean,{0}_sd,{0}_ci95", metric);
  out += "\n";
  struct Point {
    int runs = 0, ok = 0;
    std::array<std::vector<double>, kMetrics.size()> values;
  };
  std::vector<std::vector<std::string>> order;  // grid order: first appearance
  std::map<std::vector<std::string>, Point> points;
  for (const auto& p : m.points) {
    auto [it, fresh] = points.try_emplace(p.values);
    if (fresh) order.push_back(p.values);
    const RunRow r = read_run(run_dir(sweep_dir, p));
    ++it->second.runs;
    if (r.status == "ok") ++it->second.ok;
    for (size_t i = 0; i < kMetrics.size(); ++i)
      if (r.metrics[i]) it->second.values[i].push_back(*r.metrics[i]);
  }
  for (const auto& values : order) {
    const Point& p = points.at(values);
    std::string row;
    for (const auto& v : values) row += csv_field(v) + ",";
    row += fmt::format("{},{}", p.runs, p.ok);
    for (const auto& v : p.values) {
      const auto s = reports::summarise(v);
      row += fmt::format(",{}", s.n);
      row += s.n > 0 ? fmt::format(",{}", s.mean) : ",";
      row += s.n > 1 ? fmt::format(",{},{}", s.sd, s.ci95) : ",,";
    }
    out += row + "\n";
  }
  return out;
}

void write_sweep_table(const std::filesystem::path& sweep_dir, const SweepManifest& m) {
  reports::write_atomically(sweep_dir / "sweep.csv", sweep_table(sweep_dir, m));
  reports::write_atomically(sweep_dir / "sweep_points.csv", sweep_point_table(sweep_dir, m));
}

}  // namespace dipaco::sim

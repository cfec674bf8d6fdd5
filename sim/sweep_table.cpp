#include "sim/sweep_table.hpp"

#include <fmt/format.h>

#include <fstream>
#include <nlohmann/json.hpp>

#include "reports/atomic_file.hpp"

namespace dipaco::sim {

namespace {

std::string csv_field(const std::string& s) {
  if (s.find_first_of(",\"\n") == std::string::npos) return s;
  std::string out = "\"";
  for (const char c : s) out += c == '"' ? std::string("\"\"") : std::string(1, c == '\n' ? ' ' : c);
  return out + "\"";
}

// A number at a JSON pointer, or empty if absent or null.
std::string number_at(const nlohmann::json& j, const char* pointer) {
  const nlohmann::json::json_pointer ptr(pointer);
  if (!j.contains(ptr) || !j.at(ptr).is_number()) return "";
  return fmt::format("{}", j.at(ptr).get<double>());
}

}  // namespace

std::string sweep_table(const std::filesystem::path& sweep_dir, const SweepManifest& m) {
  std::string out = "run";
  for (const auto& a : m.spec.axes) out += "," + csv_field(a.key);
  out += ",seed,status,final_val_perplexity,simulated_wall_clock_s,wan_bytes,lost_compute_s,time_to_target_s,real_seconds,error\n";
  for (const auto& p : m.points) {
    const auto dir = run_dir(sweep_dir, p);
    const auto status = read_status(dir);
    nlohmann::json summary;
    if (status && status->status == "ok") {
      std::ifstream in(dir / "summary.json");
      summary = nlohmann::json::parse(in, nullptr, false);
      if (summary.is_discarded()) summary = nlohmann::json();
    }
    std::string row = csv_field(p.name);
    for (const auto& v : p.values) row += "," + csv_field(v);
    row += fmt::format(",{},{}", p.seed, status ? status->status : std::filesystem::exists(dir) ? "incomplete" : "pending");
    std::string lost = number_at(summary, "/failures/lost_compute_s");
    if (lost.empty() && summary.is_object()) lost = "0";  // no failure model on this code path: nothing lost
    row += "," + number_at(summary, "/final_val_perplexity") + "," + number_at(summary, "/simulated_wall_clock_s") + "," +
           number_at(summary, "/wan_bytes") + "," + lost + "," + number_at(summary, "/time_to_target_s");
    row += "," + (status ? fmt::format("{:.1f}", status->real_seconds) : std::string()) + "," + csv_field(status ? status->error : "");
    out += row + "\n";
  }
  return out;
}

void write_sweep_table(const std::filesystem::path& sweep_dir, const SweepManifest& m) {
  reports::write_atomically(sweep_dir / "sweep.csv", sweep_table(sweep_dir, m));
}

}  // namespace dipaco::sim

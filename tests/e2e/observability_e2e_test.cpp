// Observability end to end: energy, per-datacentre utilisation, time to target and the Chrome
// trace, on timing-only runs of the dipaco-sim binary (each well under a second).
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <map>
#include <regex>
#include <sstream>

#include "e2e_support.hpp"

namespace {

using e2e::kSource;
using e2e::run;
using e2e::slurp;
using nlohmann::json;
const std::string kTiming = kSource + "/tests/scenarios/timing-1gbps.yaml";  // DiLoCo, 8 hosts in 2 datacentres
const std::string kFailures = kSource + "/tests/scenarios/tiny-failures.yaml";  // DiPaCo, 24 hosts, preemptions
// The wattages of tests/platforms/wan-1gbps.xml and platforms/three-continents.xml.
constexpr double kIdleW = 100.0, kBusyW = 400.0, kOffW = 10.0;

std::filesystem::path out_dir(const std::string& name) { return e2e::out_dir("obs-" + name); }

json run_summary(const std::string& args, const std::filesystem::path& dir) {
  const auto r = run("run " + args + " --out " + dir.string());
  EXPECT_EQ(r.rc, 0) << r.output;
  return json::parse(slurp(dir / "summary.json"));
}

double sum_values(const json& object) {
  double sum = 0.0;
  for (const auto& [key, value] : object.items()) sum += value.get<double>();
  return sum;
}

}  // namespace

TEST(Energy, EqualsIdlePowerOverTheRunPlusBusyPowerOverComputeSeconds) {
  // DiLoCo: only the 4 workers execute, and nothing fails, so every host draws idle power for the
  // whole run and busy power while it computes.
  const auto s = run_summary(kTiming, out_dir("energy-diloco"));
  const double wall = s["simulated_wall_clock_s"], compute = s["compute_seconds"];
  ASSERT_GT(compute, 0.0);
  const double expected = kIdleW * 8 * wall + (kBusyW - kIdleW) * compute;
  EXPECT_NEAR(s["energy_j"].get<double>(), expected, 1e-6 * expected);
  EXPECT_EQ(s["energy_at_s"].get<double>(), wall);
  EXPECT_NEAR(sum_values(s["energy_j_per_datacentre"]), s["energy_j"].get<double>(), 1e-9 * expected);
  EXPECT_EQ(s["energy_j_per_datacentre"].size(), 2u);
}

TEST(Energy, CountsPreemptedHostsAtOffPowerAndLostComputeAtBusyPower) {
  // DiPaCo with preemptions: down hosts draw wattage_off; the compute of lost attempts (and the
  // base model's pre-training, part of compute_seconds) draws busy power.
  const auto s = run_summary(kFailures, out_dir("energy-failures"));
  const double wall = s["simulated_wall_clock_s"], compute = s["compute_seconds"];
  const auto& f = s["failures"];
  const double down = f["host_seconds_down"], lost = f["lost_compute_s"];
  ASSERT_GT(down, 0.0);
  ASSERT_GT(lost, 0.0);
  const double expected = kIdleW * 24 * wall + (kBusyW - kIdleW) * (compute + lost) + (kOffW - kIdleW) * down;
  EXPECT_NEAR(s["energy_j"].get<double>(), expected, 1e-6 * expected);
  EXPECT_NEAR(sum_values(s["energy_j_per_datacentre"]), s["energy_j"].get<double>(), 1e-9 * expected);
  EXPECT_EQ(s["energy_j_per_datacentre"].size(), 3u);
}

TEST(Energy, IsUnknownOnPlatformsWithoutWattages) {
  // The same platform with its <prop> lines removed: the run still succeeds, energy is null.
  const auto dir = out_dir("energy-unknown");
  std::filesystem::create_directories(dir);
  const auto platform = dir / "no-wattage.xml";
  std::ofstream(platform) << std::regex_replace(slurp(kSource + "/tests/platforms/wan-1gbps.xml"),
                                                std::regex(".*<prop id=\"wattage[^\\n]*\\n"), "");
  ASSERT_EQ(slurp(platform).find("wattage"), std::string::npos);
  const auto s = run_summary(kTiming + " --set platform=" + platform.string(), dir / "run");
  EXPECT_TRUE(s["energy_j"].is_null());
  EXPECT_TRUE(s["energy_j_per_datacentre"].empty());
  EXPECT_EQ(s["energy_hosts_without_wattage"].get<int>(), 8);
}

TEST(Utilisation, PerDatacentreAveragesToTheOverallUtilisation) {
  // timing-1gbps has two workers in each datacentre, so the overall figure is the plain mean.
  const auto s = run_summary(kTiming, out_dir("utilisation"));
  const auto& u = s["utilisation_per_datacentre"];
  ASSERT_EQ(u.size(), 2u);
  const double a = u["dc-a"], b = u["dc-b"];
  EXPECT_GT(a, 0.0);
  EXPECT_LE(a, 1.0);
  EXPECT_NEAR((a + b) / 2, s["compute_utilisation"].get<double>(), 1e-12);
}

TEST(TimeToTarget, IsTheFirstEvaluationAtOrBelowTheTarget) {
  // A tiny real training run (about a second): first with an unreachable target, then with a
  // target halfway between its first and last validation losses.
  const std::string tiny = kSource + "/tests/scenarios/tiny-diloco.yaml";
  const auto never_dir = out_dir("target-never");
  const auto never = run_summary(tiny + " --set target_val_loss=0.001", never_dir);
  EXPECT_EQ(never["target_val_loss"].get<double>(), 0.001);
  EXPECT_TRUE(never["time_to_target_s"].is_null());
  // metrics.csv: sim_time_s is column 0, val_loss column 7.
  std::vector<std::pair<double, double>> rows;
  std::istringstream csv(slurp(never_dir / "metrics.csv"));
  std::string line;
  std::getline(csv, line);
  while (std::getline(csv, line)) {
    std::vector<std::string> cells;
    std::stringstream ss(line);
    for (std::string c; std::getline(ss, c, ',');) cells.push_back(c);
    rows.emplace_back(std::stod(cells[0]), std::stod(cells[7]));
  }
  ASSERT_GE(rows.size(), 3u);
  const double target = (rows.front().second + rows.back().second) / 2;
  double expected = -1;
  for (const auto& [t, loss] : rows)
    if (loss <= target) {
      expected = t;
      break;
    }
  ASSERT_GT(expected, 0.0);
  const auto hit = run_summary(tiny + " --set target_val_loss=" + std::to_string(target), out_dir("target-hit"));
  EXPECT_NEAR(hit["time_to_target_s"].get<double>(), expected, 1e-6);  // metrics.csv prints 6 decimals
  EXPECT_NEAR(hit["target_val_loss"].get<double>(), target, 1e-6);
}

namespace {
struct Interval {
  double begin, end;  // seconds
};
// Total length of the union of intervals, clipped to [0, until].
double covered(std::vector<Interval> v, double until) {
  std::sort(v.begin(), v.end(), [](const Interval& a, const Interval& b) { return a.begin < b.begin; });
  double total = 0.0, reach = 0.0;
  for (const auto& i : v) {
    const double b = std::max(i.begin, reach), e = std::min(i.end, until);
    if (e > b) total += e - b;
    reach = std::max(reach, std::min(i.end, until));
  }
  return total;
}
}  // namespace

TEST(Trace, IsAValidDeterministicTimelineThatAgreesWithTheSummary) {
  // DiPaCo with preemptions: compute, transfers, hosts going down, WAN links on three continents.
  const auto a = out_dir("trace-a"), b = out_dir("trace-b");
  const auto s = run_summary(kFailures, a);
  run_summary(kFailures, b);
  const std::string text = slurp(a / "trace.json");
  EXPECT_EQ(text, slurp(b / "trace.json"));  // same seed, same bytes

  const json t = json::parse(text);
  EXPECT_EQ(t["displayTimeUnit"], "ms");
  std::map<std::pair<int, int>, std::string> threads;  // (pid, tid) -> thread name
  std::map<int, std::string> processes;
  std::map<std::string, int> names;
  std::map<std::pair<int, int>, std::vector<std::pair<int64_t, int64_t>>> lanes;  // nanoseconds
  std::map<std::string, std::vector<std::pair<double, double>>> counters;  // link -> (ts, bytes)
  for (const auto& e : t["traceEvents"]) {
    const std::string ph = e["ph"];
    if (ph == "M" && e["name"] == "thread_name") threads[{e["pid"], e["tid"]}] = e["args"]["name"];
    if (ph == "M" && e["name"] == "process_name") processes[e["pid"]] = e["args"]["name"];
    if (ph == "C") counters[e["name"]].emplace_back(e["ts"], e["args"]["bytes in flight"]);
    if (ph != "X") continue;
    ++names[e["name"]];
    const double ts = e["ts"], dur = e["dur"];
    EXPECT_GE(ts, 0.0);
    EXPECT_GE(dur, 0.0);
    const int64_t begin_ns = std::llround(ts * 1000), dur_ns = std::llround(dur * 1000);
    lanes[{e["pid"], e["tid"]}].emplace_back(begin_ns, begin_ns + dur_ns);
  }
  for (const char* kind : {"compute", "send", "receive", "down", "idle"}) EXPECT_GT(names[kind], 0) << kind;
  EXPECT_EQ(processes.size(), 4u);  // three datacentres and the WAN links
  // Every lane is named and holds spans that do not overlap (times are whole nanoseconds, and a
  // span ends exactly where the next one on its lane may begin).
  for (auto& [lane, spans] : lanes) {
    EXPECT_TRUE(threads.count(lane)) << lane.first << "/" << lane.second;
    std::sort(spans.begin(), spans.end());
    for (size_t i = 1; i < spans.size(); ++i) EXPECT_GE(spans[i].first, spans[i - 1].second);
  }
  // WAN counters: one per WAN link, never negative, back to 0 at the end.
  ASSERT_FALSE(counters.empty());
  for (const auto& [link, values] : counters) {
    EXPECT_EQ(link.rfind("wan-", 0), 0u) << link << " is not a WAN link of three-continents.xml";
    for (const auto& [ts, bytes] : values) EXPECT_GE(bytes, 0.0);
    EXPECT_EQ(values.back().second, 0.0) << link;
  }

  // The timeline agrees with summary.json: down time, and energy from busy, down and idle time.
  const double wall = s["simulated_wall_clock_s"];
  std::map<std::string, std::vector<Interval>> busy, down;  // by host
  for (const auto& e : t["traceEvents"]) {
    if (e["ph"] != "X" || (e["name"] != "compute" && e["name"] != "down")) continue;
    std::string host = threads[{e["pid"], e["tid"]}];
    host = host.substr(0, host.find(' '));  // "us-gpu1 2" is us-gpu1's second lane
    const double ts = e["ts"].get<double>() / 1e6, end = ts + e["dur"].get<double>() / 1e6;
    (e["name"] == "compute" ? busy : down)[host].push_back({ts, end});
  }
  double host_seconds_down = 0.0, energy = kIdleW * 24 * wall;
  for (const auto& [host, v] : down) {
    host_seconds_down += covered(v, wall);
    energy += (kOffW - kIdleW) * covered(v, wall);
  }
  for (const auto& [host, v] : busy) energy += (kBusyW - kIdleW) * covered(v, wall);
  EXPECT_NEAR(host_seconds_down, s["failures"]["host_seconds_down"].get<double>(), 1e-6);
  EXPECT_NEAR(energy, s["energy_j"].get<double>(), 1e-6 * energy);
}

TEST(Trace, IsNotWrittenWhenTurnedOff) {
  const auto dir = out_dir("trace-off");
  run_summary(kTiming + " --set trace=off", dir);
  EXPECT_TRUE(std::filesystem::exists(dir / "summary.json"));
  EXPECT_FALSE(std::filesystem::exists(dir / "trace.json"));
}

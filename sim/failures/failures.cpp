#include "sim/failures/failures.hpp"

#include <fmt/format.h>
#include <simgrid/kernel/ProfileBuilder.hpp>
#include <simgrid/s4u/Engine.hpp>
#include <simgrid/s4u/Host.hpp>

#include <algorithm>
#include <cmath>
#include <fstream>
#include <limits>
#include <map>
#include <random>
#include <sstream>

#include "engine/train/seed.hpp"
#include "sim/platform/platform.hpp"

namespace dipaco::sim {
namespace {

constexpr double kInf = std::numeric_limits<double>::infinity();

// Uniform in (0, 1) from the top 53 bits: the transform is ours, so draws do not depend on the
// standard library's distribution algorithms.
uint64_t fnv1a(const std::string& s) {
  uint64_t h = 1469598103934665603ULL;
  for (unsigned char c : s) h = (h ^ c) * 1099511628211ULL;
  return h;
}

double uniform01(std::mt19937_64& rng) { return (static_cast<double>(rng() >> 11) + 0.5) / 9007199254740992.0; }

}  // namespace

std::vector<Interval> draw_failures(const FailureSpec& f, uint64_t seed) {
  std::vector<Interval> down;
  if (!std::isfinite(f.mtbf_s)) return down;
  std::mt19937_64 rng(seed);
  // Weibull scaled so that its mean is the MTBF: scale = mtbf / Γ(1 + 1/k).
  const double k = f.weibull ? f.weibull_shape : 1.0;
  const double scale = f.mtbf_s / std::tgamma(1.0 + 1.0 / k);
  double t = 0.0;
  while (true) {
    t += scale * std::pow(-std::log(uniform01(rng)), 1.0 / k);
    if (t >= f.horizon_s) break;
    const double repair = -std::log(uniform01(rng)) * f.mttr_s;
    down.push_back({t, t + repair});
    t += repair;
  }
  return down;
}

std::vector<Interval> merge_intervals(std::vector<Interval> down) {
  std::sort(down.begin(), down.end(), [](const Interval& a, const Interval& b) { return a.begin < b.begin; });
  std::vector<Interval> out;
  for (const auto& i : down) {
    if (!(i.end > i.begin)) continue;
    if (!out.empty() && i.begin <= out.back().end) out.back().end = std::max(out.back().end, i.end);
    else out.push_back(i);
  }
  return out;
}

std::string state_profile(const std::vector<Interval>& down) {
  std::string text;
  for (const auto& i : down) {
    text += fmt::format("{:.17g} 0\n", i.begin);
    if (std::isfinite(i.end)) text += fmt::format("{:.17g} 1\n", i.end);
  }
  return text;
}

std::vector<Interval> parse_state_profile(const std::string& text, const std::string& file) {
  std::vector<Interval> down;
  std::istringstream in(text);
  std::string line;
  int number = 0;
  double last = -1.0;
  bool is_down = false;
  while (std::getline(in, line)) {
    ++number;
    const auto first = line.find_first_not_of(" \t\r");
    if (first == std::string::npos || line[first] == '#') continue;
    std::istringstream fields(line);
    double time = 0.0, value = 0.0;
    std::string rest;
    if (!(fields >> time >> value) || (fields >> rest) || !(value == 0.0 || value == 1.0) || !(time >= 0.0) || time <= last)
      throw ScenarioError(fmt::format("{}:{}: expected 'TIME STATE' with increasing times and STATE 0 (off) or 1 (on), got '{}'",
                                      file, number, line));
    last = time;
    if (value == 0.0 && !is_down) down.push_back({time, kInf});
    if (value == 1.0 && is_down) down.back().end = time;
    is_down = value == 0.0;
  }
  return down;
}

double FailurePlan::down_for_good_at(const simgrid::s4u::Host* h) const {
  for (size_t i = 0; i < hosts.size(); ++i)
    if (hosts[i] == h && !down[i].empty() && !std::isfinite(down[i].back().end)) return down[i].back().begin;
  return kInf;
}

double FailurePlan::downtime_s(double until) const {
  double sum = 0.0;
  for (const auto& d : down)
    for (const auto& i : d) sum += std::max(0.0, std::min(i.end, until) - i.begin);
  return sum;
}

namespace {
std::vector<Interval> read_trace(const Scenario& s, size_t i) {
  const auto& tr = s.failures.traces[i];
  std::ifstream in(tr.file);
  if (!in)
    throw ScenarioError(fmt::format("{}: key 'failures.traces[{}].file': cannot read '{}'", s.file.string(), i, tr.file.string()));
  std::stringstream text;
  text << in.rdbuf();
  return parse_state_profile(text.str(), tr.file.string());
}
}  // namespace

void validate_failures(const Scenario& s) {
  std::vector<std::string> dcs;
  for (auto* h : simgrid::s4u::Engine::get_instance()->get_all_hosts()) {
    const auto dc = datacentre_of(h);
    if (std::find(dcs.begin(), dcs.end(), dc) == dcs.end()) dcs.push_back(dc);
  }
  for (size_t i = 0; i < s.failures.outages.size(); ++i)
    if (std::find(dcs.begin(), dcs.end(), s.failures.outages[i].datacentre) == dcs.end())
      throw ScenarioError(fmt::format("{}: key 'failures.outages[{}].datacentre': '{}' is not a datacentre of the platform ({})",
                                      s.file.string(), i, s.failures.outages[i].datacentre, fmt::join(dcs, ", ")));
  for (size_t i = 0; i < s.failures.traces.size(); ++i) {
    host_by_name(s.failures.traces[i].host, fmt::format("failures.traces[{}].host", i), s.file.string());
    read_trace(s, i);
  }
}

FailurePlan install_failures(const Scenario& s, const std::vector<simgrid::s4u::Host*>& preemptible,
                             const std::vector<simgrid::s4u::Host*>& backup) {
  const auto& f = s.failures;
  FailureSpec backup_spec = f;  // the backup pool's own rate model
  if (!std::isnan(f.backup_mtbf_s)) {
    backup_spec.mtbf_s = f.backup_mtbf_s;
    backup_spec.mttr_s = f.backup_mttr_s;
  }
  const auto is_backup = [&](simgrid::s4u::Host* h) { return std::find(backup.begin(), backup.end(), h) != backup.end(); };
  const std::string file = s.file.string();
  std::map<std::string, std::vector<simgrid::s4u::Host*>> by_dc;  // ordered: draws do not depend on hash order
  for (auto* h : preemptible) by_dc[datacentre_of(h)].push_back(h);
  std::map<simgrid::s4u::Host*, std::vector<Interval>> down;

  // The rate model: one process per host, or one per datacentre taking all its hosts down together.
  // Seeds come from the host's (or datacentre's) name, so adding a host does not reshuffle the others.
  const auto name_seed = [&](const std::string& name) { return engine::mix_seed(s.failures.seed, fnv1a(name)); };
  for (const auto& [dc, hosts] : by_dc) {
    if (f.per_datacentre) {  // the backup pool of a datacentre fails as its own group
      const auto d = draw_failures(f, name_seed("dc:" + dc));
      const auto b = draw_failures(backup_spec, name_seed("backup-dc:" + dc));
      for (auto* h : hosts) down[h].insert(down[h].end(), is_backup(h) ? b.begin() : d.begin(), is_backup(h) ? b.end() : d.end());
    } else {
      for (auto* h : hosts) {
        const auto d = draw_failures(is_backup(h) ? backup_spec : f, name_seed(h->get_name()));
        down[h].insert(down[h].end(), d.begin(), d.end());
      }
    }
  }
  for (size_t i = 0; i < f.outages.size(); ++i) {
    const auto& o = f.outages[i];
    const auto it = by_dc.find(o.datacentre);
    if (it == by_dc.end()) {
      std::string names;
      for (const auto& kv : by_dc) names += (names.empty() ? "" : ", ") + kv.first;
      throw ScenarioError(fmt::format("{}: key 'failures.outages[{}].datacentre': '{}' has no preemptible worker host "
                                      "(datacentres with some: {})", file, i, o.datacentre, names.empty() ? "none" : names));
    }
    for (auto* h : it->second) down[h].push_back({o.at_s, o.at_s + o.duration_s});
  }
  for (size_t i = 0; i < f.traces.size(); ++i) {
    const auto& tr = f.traces[i];
    const auto it = std::find_if(preemptible.begin(), preemptible.end(), [&](auto* h) { return h->get_name() == tr.host; });
    if (it == preemptible.end())
      throw ScenarioError(fmt::format("{}: key 'failures.traces[{}].host': '{}' is not a preemptible worker host (a worker that "
                                      "runs no executor and no scheduler)", file, i, tr.host));
    const auto d = read_trace(s, i);
    down[*it].insert(down[*it].end(), d.begin(), d.end());
  }

  FailurePlan plan;
  for (auto* h : preemptible) {  // in placement order
    auto it = down.find(h);
    if (it == down.end()) continue;
    auto merged = merge_intervals(std::move(it->second));
    down.erase(it);
    if (merged.empty()) continue;
    h->set_state_profile(simgrid::kernel::profile::ProfileBuilder::from_string(h->get_name() + "-failures", state_profile(merged), -1));
    plan.hosts.push_back(h);
    plan.down.push_back(std::move(merged));
  }
  return plan;
}

}  // namespace dipaco::sim

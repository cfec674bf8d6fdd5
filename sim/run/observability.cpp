#include "sim/run/observability.hpp"

#include "sim/platform/platform.hpp"

namespace dipaco::sim {

void add_energy(reports::JsonObject& j, const std::optional<EnergyReading>& energy) {
  if (!energy) {  // no last row (the run failed): no end of training to measure at
    j.null("energy_j").null("energy_at_s");
    return;
  }
  if (energy->total_j) j.number("energy_j", *energy->total_j);
  else j.null("energy_j");
  j.number("energy_at_s", energy->at_s);
  reports::JsonObject dcs;
  for (const auto& [dc, joules] : energy->per_datacentre_j) dcs.number(dc, joules);
  j.object("energy_j_per_datacentre", dcs);
  if (energy->hosts_without_wattage > 0) j.integer("energy_hosts_without_wattage", energy->hosts_without_wattage);
}

std::map<std::string, double> utilisation_per_datacentre(const std::vector<double>& compute_seconds,
                                                         const std::vector<std::string>& worker_datacentres, double wall) {
  std::map<std::string, std::pair<double, int>> busy;  // datacentre -> (compute seconds, workers)
  for (size_t w = 0; w < compute_seconds.size() && w < worker_datacentres.size(); ++w) {
    auto& b = busy[worker_datacentres[w]];
    b.first += compute_seconds[w];
    b.second += 1;
  }
  std::map<std::string, double> out;
  for (const auto& [dc, b] : busy) out[dc] = wall > 0 ? b.first / (wall * b.second) : 0.0;
  return out;
}

std::optional<double> time_to_target(const std::vector<reports::MetricsRow>& rows, std::optional<double> target) {
  if (!target) return std::nullopt;
  for (const auto& r : rows)
    if (r.path < 0 && r.val_loss && *r.val_loss <= *target) return r.sim_time_s;
  return std::nullopt;
}

void add_observability(reports::JsonObject& j, const RunContext& ctx, const std::vector<reports::MetricsRow>& rows,
                       double wall, const std::optional<EnergyReading>& energy) {
  std::vector<std::string> dcs;
  for (const auto* h : ctx.worker_hosts) dcs.push_back(datacentre_of(h));
  reports::JsonObject util;
  for (const auto& [dc, u] : utilisation_per_datacentre(ctx.compute_seconds, dcs, wall)) util.number(dc, u);
  j.object("utilisation_per_datacentre", util);
  if (const auto& b = ctx.utilisation_breakdown) {
    reports::JsonObject parts;
    parts.number("compute", (*b)[0]).number("communication", (*b)[1]).number("idle", (*b)[2]).number("down", (*b)[3]);
    j.object("utilisation_breakdown", parts);
  } else {
    j.null("utilisation_breakdown");  // it comes from the trace: trace is off
  }
  const auto& target = ctx.scenario.target_val_loss;
  if (target) j.number("target_val_loss", *target);
  else j.null("target_val_loss");
  if (const auto t = time_to_target(rows, target)) j.number("time_to_target_s", *t);
  else j.null("time_to_target_s");
  add_energy(j, energy);
}

}  // namespace dipaco::sim

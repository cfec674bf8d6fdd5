#include "sim/observability.hpp"

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

void add_observability(reports::JsonObject& j, const RunContext& /*ctx*/, const std::vector<reports::MetricsRow>& /*rows*/,
                       double /*wall*/, const std::optional<EnergyReading>& energy) {
  add_energy(j, energy);
}

}  // namespace dipaco::sim

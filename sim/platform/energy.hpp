// Host energy from SimGrid's host energy plugin: each host declares `wattage_per_state="idle:busy"`
// and `wattage_off` properties in the platform XML; the plugin integrates power over simulated time
// (idle watts when no execution runs, busy watts while one does, off watts while the host is down).
#pragma once

#include <map>
#include <optional>
#include <string>

namespace dipaco::sim {

// Must run before the platform is loaded: the plugin attaches itself to hosts as they are created.
void enable_energy_plugin();

struct EnergyReading {
  double at_s = 0.0;                             // simulated time of the reading
  std::optional<double> total_j;                 // unknown (empty) if any host lacks wattage_per_state
  std::map<std::string, double> per_datacentre_j;  // only datacentres whose every host has wattages
  int hosts_without_wattage = 0;
};

// Reads every host's consumed energy now. Call it from an actor (it brings the plugin's lazy
// accounting up to the current time through a simcall). Hosts without wattage_per_state are
// skipped: SimGrid 3.32 counts them as 0 W and aborts if asked for their energy directly.
EnergyReading read_energy();

// Hosts of the loaded platform that have no wattage_per_state property.
int hosts_without_wattage();

}  // namespace dipaco::sim

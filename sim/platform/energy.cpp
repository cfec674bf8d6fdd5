#include "sim/platform/energy.hpp"

#include <simgrid/plugins/energy.h>
#include <simgrid/s4u/Engine.hpp>
#include <simgrid/s4u/Host.hpp>

#include <set>

#include "sim/platform/platform.hpp"

namespace dipaco::sim {

namespace {
bool has_wattage(const simgrid::s4u::Host* h) { return h->get_property("wattage_per_state") != nullptr; }
}  // namespace

void enable_energy_plugin() { sg_host_energy_plugin_init(); }

int hosts_without_wattage() {
  int n = 0;
  for (const auto* h : simgrid::s4u::Engine::get_instance()->get_all_hosts()) n += has_wattage(h) ? 0 : 1;
  return n;
}

EnergyReading read_energy() {
  EnergyReading r;
  r.at_s = simgrid::s4u::Engine::get_clock();
  sg_host_energy_update_all();
  std::set<std::string> incomplete;  // datacentres with a host of unknown power
  double total = 0.0;
  // get_all_hosts() is ordered by name, so the sums add up in the same order every run.
  for (const auto* h : simgrid::s4u::Engine::get_instance()->get_all_hosts()) {
    const std::string dc = datacentre_of(h);
    if (!has_wattage(h)) {
      ++r.hosts_without_wattage;
      incomplete.insert(dc);
      continue;
    }
    const double j = sg_host_get_consumed_energy(h);
    total += j;
    r.per_datacentre_j[dc] += j;
  }
  for (const auto& dc : incomplete) r.per_datacentre_j.erase(dc);
  if (r.hosts_without_wattage == 0) r.total_j = total;
  return r;
}

}  // namespace dipaco::sim

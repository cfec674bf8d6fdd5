#include "sim/platform.hpp"

#include <fmt/format.h>
#include <simgrid/s4u/Engine.hpp>
#include <simgrid/s4u/Host.hpp>
#include <simgrid/s4u/NetZone.hpp>

#include "sim/scenario.hpp"

namespace dipaco::sim {

std::string datacentre_of(const simgrid::s4u::Host* host) {
  const auto* root = simgrid::s4u::Engine::get_instance()->get_netzone_root();
  const simgrid::s4u::NetZone* zone = host->get_englobing_zone();
  while (zone != root && zone->get_parent() != root) zone = zone->get_parent();
  return zone->get_name();
}

simgrid::s4u::Host* host_by_name(const std::string& name, const std::string& scenario_key, const std::string& scenario_file) {
  auto* host = simgrid::s4u::Host::by_name_or_null(name);
  if (host == nullptr) {
    std::string names;
    const auto all = simgrid::s4u::Engine::get_instance()->get_all_hosts();
    for (size_t i = 0; i < all.size() && i < 12; ++i) names += (i ? ", " : "") + all[i]->get_name();
    if (all.size() > 12) names += ", ...";
    throw ScenarioError(fmt::format("{}: key '{}': host '{}' is not in the platform (hosts: {})", scenario_file,
                                    scenario_key, name, names));
  }
  return host;
}

}  // namespace dipaco::sim

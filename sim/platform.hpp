// Platform handling: hosts by name with helpful errors, and which datacentre a host belongs to.
#pragma once

#include <simgrid/forward.h>

#include <string>
#include <vector>

namespace dipaco::sim {

// A datacentre is a zone directly below the platform's root zone; hosts directly in the root
// zone form their own datacentre named after the root.
std::string datacentre_of(const simgrid::s4u::Host* host);

// The WAN links on the route from one host to another: the links on it that are on no route
// between two hosts of either end's datacentre (a datacentre of a single host counts its own links
// as WAN). Empty within a datacentre.
std::vector<simgrid::s4u::Link*> wan_links_on_route(const simgrid::s4u::Host* from, const simgrid::s4u::Host* to);

// Every WAN link of the loaded platform, by name: those on the routes between datacentres.
std::vector<simgrid::s4u::Link*> all_wan_links();

// Throws ScenarioError naming the scenario key if `name` is not a host of the loaded platform.
simgrid::s4u::Host* host_by_name(const std::string& name, const std::string& scenario_key, const std::string& scenario_file);

}  // namespace dipaco::sim

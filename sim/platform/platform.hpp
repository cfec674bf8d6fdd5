// Platform handling: hosts by name with helpful errors, and which datacentre a host belongs to.
#pragma once

#include <simgrid/forward.h>

#include <string>
#include <vector>

namespace dipaco::sim {

// A datacentre is a zone directly below the platform's root zone; hosts directly in the root
// zone form their own datacentre named after the root.
std::string datacentre_of(const simgrid::s4u::Host* host);
// The zone just below the root that holds `host`: its datacentre, as a zone (datacentre_of's name).
const simgrid::s4u::NetZone* datacentre_zone(const simgrid::s4u::Host* host);

// The WAN links on the route from one host to another: the links on it that are on no route
// between two hosts of either end's datacentre (a datacentre of a single host counts its own links
// as WAN). Empty within a datacentre.
std::vector<simgrid::s4u::Link*> wan_links_on_route(const simgrid::s4u::Host* from, const simgrid::s4u::Host* to);

// Every WAN link of the loaded platform, by name: those on the routes between datacentres.
std::vector<simgrid::s4u::Link*> all_wan_links();

// Throws ScenarioError naming the scenario key if `name` is not a host of the loaded platform.
simgrid::s4u::Host* host_by_name(const std::string& name, const std::string& scenario_key, const std::string& scenario_file);

// placement.workers: {count: N}: N hosts spread evenly over the datacentres (a datacentre with too
// few hosts gives its share to the others), in contiguous blocks: the first datacentre's (by name)
// hosts in natural name order (gpu2 before gpu10), then the next one's. Consecutive workers share a
// datacentre, so a DiPaCo path's replicas (consecutive tasks) stay together. `reserved` hosts (the
// outer optimizer, executors, storage, backup workers) are skipped. Throws ScenarioError naming
// placement.workers.count if the platform has too few hosts.
std::vector<std::string> pick_worker_hosts(int count, const std::vector<std::string>& reserved, const std::string& scenario_file);

}  // namespace dipaco::sim

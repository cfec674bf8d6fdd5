// Platform handling: hosts by name with helpful errors, and which datacentre a host belongs to.
#pragma once

#include <simgrid/forward.h>

#include <string>
#include <vector>

namespace dipaco::sim {

// A datacentre is a zone directly below the platform's root zone; hosts directly in the root
// zone form their own datacentre named after the root.
std::string datacentre_of(const simgrid::s4u::Host* host);

// Throws ScenarioError naming the scenario key if `name` is not a host of the loaded platform.
simgrid::s4u::Host* host_by_name(const std::string& name, const std::string& scenario_key, const std::string& scenario_file);

}  // namespace dipaco::sim

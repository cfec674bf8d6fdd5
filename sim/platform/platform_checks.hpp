// Checks of a loaded platform before anything is simulated. SimGrid meets a host pair without a
// route, or a link of zero bandwidth, only once a transfer uses it, and then dies with a CRITICAL
// line and a backtrace (or "The Impossible Did Happen") deep in its solver. These find them first,
// with the file, the element and the fix.
#pragma once

#include <simgrid/forward.h>

#include <string>
#include <utility>
#include <vector>

namespace dipaco::sim {

// Every host has a speed > 0; every link a bandwidth > 0 and a latency >= 0. Throws ScenarioError:
// "<platform>: link 'x': bandwidth 0; give it a positive bandwidth (for example 10Gbps)".
void check_platform_elements(const std::string& platform_file);

// Each pair (a, b) of hosts that will talk has a route both ways (asked in a forked child process,
// since SimGrid crashes or aborts on a missing one). Throws ScenarioError naming both hosts and the
// datacentres to join with a route.
void check_routes(const std::string& platform_file,
                  const std::vector<std::pair<const simgrid::s4u::Host*, const simgrid::s4u::Host*>>& pairs);

}  // namespace dipaco::sim

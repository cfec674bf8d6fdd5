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

// ns-3 (network.model: ns-3) sees only routes of one link and flat <cluster> zones; SimGrid aborts
// on a transfer to a host it cannot place. record_ns3_routes, before the platform loads, notes the
// one-link routes as SimGrid declares them, and the platform's <cluster> ids (SimGrid 3.32 builds a
// flat cluster as a StarZone, so the zone's kind does not tell); check_ns3_hosts then throws
// ScenarioError naming the first host of `hosts` that ns-3 would not know.
void record_ns3_routes(const std::vector<std::string>& clusters);
void check_ns3_hosts(const std::string& platform_file, const std::vector<const simgrid::s4u::Host*>& hosts);

}  // namespace dipaco::sim

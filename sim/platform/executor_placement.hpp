// Where DiPaCo's outer executors run. By default each module's executor goes to the datacentre that
// minimises the time to move the module from every path that trains it: shortest transfer times over
// the platform's datacentre graph (Boost.Graph Dijkstra; edge = route latency + bytes / bottleneck
// bandwidth between the datacentres' first hosts).
#pragma once

#include <simgrid/forward.h>

#include <string>
#include <vector>

namespace dipaco::sim {

struct DatacentreGraph {
  std::vector<std::string> names;                    // sorted
  std::vector<simgrid::s4u::Host*> first_host;       // by name, per datacentre
  std::vector<std::vector<double>> latency;          // direct route latency (s)
  std::vector<std::vector<double>> bandwidth;        // direct route bottleneck (bytes/s)
  int index_of(const simgrid::s4u::Host* host) const;
};

DatacentreGraph datacentre_graph();

// Seconds to move `bytes` between every pair of datacentres along the fastest chain of routes.
std::vector<std::vector<double>> transfer_times(const DatacentreGraph& g, double bytes);

// The datacentre minimising the summed transfer time of `bytes` from each of `task_hosts`.
int best_datacentre(const DatacentreGraph& g, const std::vector<simgrid::s4u::Host*>& task_hosts, double bytes);

}  // namespace dipaco::sim

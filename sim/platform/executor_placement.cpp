#include "sim/platform/executor_placement.hpp"

#include <boost/graph/adjacency_list.hpp>
#include <boost/graph/dijkstra_shortest_paths.hpp>
#include <simgrid/s4u/Engine.hpp>
#include <simgrid/s4u/Host.hpp>
#include <simgrid/s4u/Link.hpp>

#include <algorithm>
#include <limits>
#include <map>

#include "sim/platform/platform.hpp"

namespace dipaco::sim {

int DatacentreGraph::index_of(const simgrid::s4u::Host* host) const {
  const auto name = datacentre_of(host);
  return static_cast<int>(std::lower_bound(names.begin(), names.end(), name) - names.begin());
}

DatacentreGraph datacentre_graph() {
  std::map<std::string, simgrid::s4u::Host*> first;
  for (auto* h : simgrid::s4u::Engine::get_instance()->get_all_hosts()) {
    auto& slot = first[datacentre_of(h)];
    if (slot == nullptr || h->get_name() < slot->get_name()) slot = h;
  }
  DatacentreGraph g;
  for (const auto& [name, host] : first) {
    g.names.push_back(name);
    g.first_host.push_back(host);
  }
  const size_t n = g.names.size();
  g.latency.assign(n, std::vector<double>(n, 0.0));
  g.bandwidth.assign(n, std::vector<double>(n, std::numeric_limits<double>::infinity()));
  for (size_t a = 0; a < n; ++a)
    for (size_t b = 0; b < n; ++b) {
      if (a == b) continue;
      std::vector<simgrid::s4u::Link*> links;
      double latency = 0.0;
      g.first_host[a]->route_to(g.first_host[b], links, &latency);
      g.latency[a][b] = latency;
      for (auto* l : links) g.bandwidth[a][b] = std::min(g.bandwidth[a][b], l->get_bandwidth());
    }
  return g;
}

std::vector<std::vector<double>> transfer_times(const DatacentreGraph& g, double bytes) {
  using Graph = boost::adjacency_list<boost::vecS, boost::vecS, boost::directedS, boost::no_property,
                                      boost::property<boost::edge_weight_t, double>>;
  const size_t n = g.names.size();
  Graph graph(n);
  for (size_t a = 0; a < n; ++a)
    for (size_t b = 0; b < n; ++b)
      if (a != b) boost::add_edge(a, b, g.latency[a][b] + bytes / g.bandwidth[a][b], graph);
  std::vector<std::vector<double>> out(n, std::vector<double>(n));
  for (size_t a = 0; a < n; ++a)
    boost::dijkstra_shortest_paths(graph, a, boost::distance_map(out[a].data()));
  return out;
}

int best_datacentre(const DatacentreGraph& g, const std::vector<simgrid::s4u::Host*>& task_hosts, double bytes) {
  const auto t = transfer_times(g, bytes);
  int best = 0;
  double best_cost = std::numeric_limits<double>::infinity();
  for (size_t d = 0; d < g.names.size(); ++d) {
    double cost = 0.0;
    for (auto* h : task_hosts) cost += t[static_cast<size_t>(g.index_of(h))][d];
    if (cost < best_cost - 1e-12) {
      best_cost = cost;
      best = static_cast<int>(d);
    }
  }
  return best;
}

}  // namespace dipaco::sim

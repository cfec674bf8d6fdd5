#include "sim/run/inspect.hpp"

#include <boost/graph/adjacency_list.hpp>
#include <boost/graph/graphviz.hpp>
#include <fmt/format.h>
#include <simgrid/s4u/Engine.hpp>
#include <simgrid/s4u/Host.hpp>
#include <simgrid/s4u/Link.hpp>

#include <map>
#include <ostream>
#include <set>
#include <sstream>

#include "reports/atomic_file.hpp"
#include "sim/platform/executor_placement.hpp"
#include "sim/platform/platform.hpp"

namespace dipaco::sim {
namespace {

struct Labelled {
  std::string label;
};
struct EdgeLabel {
  std::string label;
};
using Graph = boost::adjacency_list<boost::vecS, boost::vecS, boost::undirectedS, Labelled, EdgeLabel>;

}  // namespace

void write_inspection(const RunContext& ctx, const RunState& state, const std::filesystem::path& out_dir, std::ostream& out) {
  const auto& st = state.structure;
  const auto& layout = *state.layout;
  out << fmt::format("{} paths, {} modules, {} tasks on {} workers; {} parameters per path, {} stored once per module\n", st.paths(),
                     st.module_count(), state.tasks.size(), ctx.worker_hosts.size(), layout.path_params(), [&] {
                       int64_t n = 0;
                       for (int m = 0; m < st.module_count(); ++m) n += layout.module_params(m);
                       return n;
                     }());
  out << "levels:\n";
  for (size_t l = 0; l < st.levels.size(); ++l)
    out << fmt::format("  L{}: {} block(s), {} module(s){}\n", l, st.levels[l].blocks, st.levels[l].modules,
                       st.levels[l].path_specific ? ", path-specific" : "");
  out << "modules (executor host, datacentre, parameters, simulated bytes, paths through it):\n";
  for (int m = 0; m < st.module_count(); ++m) {
    std::string paths;
    for (int p : st.paths_through(m)) paths += (paths.empty() ? "" : " ") + std::to_string(p);
    // Synchronous DP has no executor: its ranks all-reduce over a ring.
    auto* host = state.executor_hosts.empty() ? nullptr : state.executor_hosts[static_cast<size_t>(m)];
    out << fmt::format("  {:<10} {:<12} {:<10} {:>10} {:>12.4g}  [{}]\n", st.module_name(m), host ? host->get_name() : "(ring)",
                       host ? datacentre_of(host) : "-", layout.module_params(m), state.module_bytes[static_cast<size_t>(m)], paths);
  }
  out << "tasks (path, host, datacentre):\n";
  for (size_t t = 0; t < state.tasks.size(); ++t) {
    auto* host = state.task_hosts[t];
    out << fmt::format("  task {:<4} path {:<4} {:<12} {}\n", t, state.tasks[t].path, host->get_name(), datacentre_of(host));
  }

  // Bytes per phase on each WAN link: every module goes to each of its tasks and comes back.
  const auto g = datacentre_graph();
  std::set<std::string> wan;  // the one WAN rule (sim/platform/platform.hpp)
  for (const auto* l : all_wan_links()) wan.insert(l->get_name());
  std::map<std::string, double> bytes;
  const size_t k = state.tasks.size();
  if (state.executor_hosts.empty())  // the ring: τ all-reduces, each 2(k-1) chunks of 1/k from a rank to the next
    for (size_t t = 0; t < k && k > 1; ++t)
      for (auto* l : wan_links_on_route(state.task_hosts[t], state.task_hosts[(t + 1) % k]))
        bytes[l->get_name()] += ctx.scenario.algorithm.tau * 2.0 * static_cast<double>(k - 1) / static_cast<double>(k) * state.module_bytes[0];
  for (int m = 0; m < static_cast<int>(state.executor_hosts.size()); ++m)
    for (int t : state.tasks_through_module[static_cast<size_t>(m)])
      for (auto* l : wan_links_on_route(state.task_hosts[static_cast<size_t>(t)], state.executor_hosts[static_cast<size_t>(m)]))
        bytes[l->get_name()] += 2 * state.module_bytes[static_cast<size_t>(m)];
  out << "bytes per phase on each WAN link:\n";
  for (const auto& name : wan) out << fmt::format("  {:<20} {:.4g}\n", name, bytes[name]);

  // Graphviz: modules <-> paths, and the datacentres with their direct WAN routes.
  std::filesystem::create_directories(out_dir);
  {
    const int modules = st.module_count();
    Graph graph(static_cast<size_t>(modules + st.paths()));
    for (int m = 0; m < modules; ++m) graph[static_cast<size_t>(m)].label = st.module_name(m);
    for (int p = 0; p < st.paths(); ++p) graph[static_cast<size_t>(modules + p)].label = "path " + std::to_string(p);
    for (int p = 0; p < st.paths(); ++p)
      for (int m : st.modules_of(p)) boost::add_edge(static_cast<size_t>(m), static_cast<size_t>(modules + p), graph);
    std::ostringstream dot;
    boost::write_graphviz(dot, graph, boost::make_label_writer(boost::get(&Labelled::label, graph)));
    reports::write_atomically(out_dir / "modules_paths.dot", dot.str());
  }
  {
    Graph graph(g.names.size());
    for (size_t a = 0; a < g.names.size(); ++a) graph[a].label = g.names[a];
    for (size_t a = 0; a < g.names.size(); ++a)
      for (size_t b = a + 1; b < g.names.size(); ++b)
        boost::add_edge(a, b, EdgeLabel{fmt::format("{:.3g} Gbit/s, {:.3g} ms", g.bandwidth[a][b] * 8 / 1e9, g.latency[a][b] * 1e3)}, graph);
    std::ostringstream dot;
    boost::write_graphviz(dot, graph, boost::make_label_writer(boost::get(&Labelled::label, graph)),
                          boost::make_label_writer(boost::get(&EdgeLabel::label, graph)));
    reports::write_atomically(out_dir / "datacentres.dot", dot.str());
  }
  out << fmt::format("graphs: {}/{{modules_paths.dot,datacentres.dot}}\n", out_dir.string());
}

}  // namespace dipaco::sim

#include "sim/platform/platform_checks.hpp"

#include <fmt/format.h>
#include <simgrid/s4u/Engine.hpp>
#include <simgrid/s4u/Host.hpp>
#include <simgrid/s4u/Link.hpp>
#include <simgrid/kernel/routing/NetPoint.hpp>
#include <simgrid/kernel/routing/NetZoneImpl.hpp>

#include <fcntl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmath>
#include <cstdio>
#include <set>

#include "sim/platform/platform.hpp"
#include "sim/scenario/scenario.hpp"

namespace dipaco::sim {
namespace s4u = simgrid::s4u;

void check_platform_elements(const std::string& platform_file) {
  const auto* e = s4u::Engine::get_instance();
  for (const auto* h : e->get_all_hosts())
    if (!(h->get_speed() > 0) || !std::isfinite(h->get_speed()))
      throw ScenarioError(fmt::format("{}: host '{}': speed {} flop/s; give it a positive speed (for example speed=\"312Tf\")", platform_file,
                                      h->get_name(), h->get_speed()));
  for (const auto* l : e->get_all_links()) {
    if (!(l->get_bandwidth() > 0) || !std::isfinite(l->get_bandwidth()))
      throw ScenarioError(fmt::format("{}: link '{}': bandwidth {} B/s; give it a positive bandwidth (for example bandwidth=\"10Gbps\")",
                                      platform_file, l->get_name(), l->get_bandwidth()));
    if (!(l->get_latency() >= 0) || !std::isfinite(l->get_latency()))
      throw ScenarioError(fmt::format("{}: link '{}': latency {} s; give it a latency of 0 or more (for example latency=\"10ms\")",
                                      platform_file, l->get_name(), l->get_latency()));
  }
}

namespace {

// Whether every pair has a route, asked in a forked child: SimGrid 3.32 does not fail cleanly on a
// missing route (a Full zone's missing zoneRoute crashes route_to; Floyd and Dijkstra zones abort),
// so the child may die. It writes the index of each pair before asking for it; the last index the
// parent reads is the culprit if the child does not end well. -1: all pairs have a route.
long first_pair_without_route(const std::vector<std::pair<const s4u::Host*, const s4u::Host*>>& pairs) {
  int fds[2];
  if (pipe(fds) != 0) return -1;  // cannot check: SimGrid will say it later
  std::fflush(nullptr);
  const pid_t child = fork();
  if (child < 0) {
    close(fds[0]);
    close(fds[1]);
    return -1;
  }
  if (child == 0) {
    close(fds[0]);
    const int null = open("/dev/null", O_WRONLY);  // SimGrid's CRITICAL line and backtrace stay out of sight
    if (null >= 0) {
      dup2(null, STDOUT_FILENO);
      dup2(null, STDERR_FILENO);
    }
    for (long i = 0; i < static_cast<long>(pairs.size()); ++i) {
      if (write(fds[1], &i, sizeof i) != sizeof i) _exit(0);
      std::vector<s4u::Link*> links;
      double latency = 0.0;
      pairs[static_cast<size_t>(i)].first->route_to(pairs[static_cast<size_t>(i)].second, links, &latency);
      if (links.empty() && latency <= 0.0) _exit(1);  // an empty route between two hosts: none
    }
    _exit(0);
  }
  close(fds[1]);
  long last = -1, i = 0;
  while (read(fds[0], &i, sizeof i) == sizeof i) last = i;
  close(fds[0]);
  int status = 0;
  waitpid(child, &status, 0);
  return WIFEXITED(status) && WEXITSTATUS(status) == 0 ? -1 : last;
}

}  // namespace

void check_routes(const std::string& platform_file, const std::vector<std::pair<const s4u::Host*, const s4u::Host*>>& pairs) {
  std::set<std::pair<const s4u::Host*, const s4u::Host*>> seen;
  std::vector<std::pair<const s4u::Host*, const s4u::Host*>> both_ways;
  for (const auto& [a, b] : pairs)
    for (const auto& p : {std::make_pair(a, b), std::make_pair(b, a)})
      if (p.first != p.second && seen.insert(p).second) both_ways.push_back(p);
  const long bad = first_pair_without_route(both_ways);
  if (bad < 0) return;
  const auto* from = both_ways[static_cast<size_t>(bad)].first;
  const auto* to = both_ways[static_cast<size_t>(bad)].second;
  throw ScenarioError(fmt::format("{}: no route from host '{}' ({}) to host '{}' ({}), which the scenario makes talk; add a "
                                  "<zoneRoute> (or <route>) between them",
                                  platform_file, from->get_name(), datacentre_of(from), to->get_name(), datacentre_of(to)));
}

namespace {
std::set<const simgrid::kernel::routing::NetPoint*>& one_link_ends() {  // one platform per process
  static std::set<const simgrid::kernel::routing::NetPoint*> ends;
  return ends;
}
std::set<std::string>& cluster_ids() {
  static std::set<std::string> ids;
  return ids;
}
}  // namespace

void record_ns3_routes(const std::vector<std::string>& clusters) {
  cluster_ids().insert(clusters.begin(), clusters.end());
  // The signal SimGrid's ns-3 binding builds its topology from: it keeps the routes of one link.
  simgrid::kernel::routing::NetZoneImpl::on_route_creation.connect(
      [](bool, const simgrid::kernel::routing::NetPoint* src, const simgrid::kernel::routing::NetPoint* dst,
         const simgrid::kernel::routing::NetPoint*, const simgrid::kernel::routing::NetPoint*,
         std::vector<simgrid::kernel::resource::StandardLinkImpl*> const& links) {
        if (links.size() != 1 || src == nullptr || dst == nullptr) return;
        one_link_ends().insert(src);
        one_link_ends().insert(dst);
      });
}

void check_ns3_hosts(const std::string& platform_file, const std::vector<const s4u::Host*>& hosts) {
  for (const auto* h : hosts) {
    // A <cluster> is wired into ns-3 whole (check_ns3_scenario has refused the kinds it cannot wire).
    if (cluster_ids().count(h->get_englobing_zone()->get_name()) > 0) continue;
    if (one_link_ends().count(h->get_netpoint()) > 0) continue;
    throw ScenarioError(fmt::format("{}: host '{}' has no route of one link, and ns-3 sees only those (and flat <cluster> zones); "
                                    "join it to a router or host with a one-link <route>, or use network.model: analytic",
                                    platform_file, h->get_name()));
  }
}

}  // namespace dipaco::sim

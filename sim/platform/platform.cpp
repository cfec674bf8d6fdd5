#include "sim/platform/platform.hpp"

#include <fmt/format.h>
#include <simgrid/s4u/Engine.hpp>
#include <simgrid/s4u/Host.hpp>
#include <simgrid/s4u/Link.hpp>
#include <simgrid/s4u/NetZone.hpp>

#include <algorithm>
#include <cctype>
#include <map>
#include <set>

#include "sim/scenario/scenario.hpp"

namespace dipaco::sim {

const simgrid::s4u::NetZone* datacentre_zone(const simgrid::s4u::Host* host) {
  const auto* root = simgrid::s4u::Engine::get_instance()->get_netzone_root();
  const simgrid::s4u::NetZone* zone = host->get_englobing_zone();
  while (zone != root && zone->get_parent() != root) zone = zone->get_parent();
  return zone;
}

std::string datacentre_of(const simgrid::s4u::Host* host) { return datacentre_zone(host)->get_name(); }

namespace {

// Links on the routes, both ways, between `h` and another host of its datacentre.
std::set<const simgrid::s4u::Link*> local_links(const simgrid::s4u::Host* h) {
  std::set<const simgrid::s4u::Link*> out;
  const std::string dc = datacentre_of(h);
  for (const auto* other : simgrid::s4u::Engine::get_instance()->get_all_hosts()) {
    if (other == h || datacentre_of(other) != dc) continue;
    for (const auto& [a, b] : {std::make_pair(h, other), std::make_pair(other, h)}) {
      std::vector<simgrid::s4u::Link*> links;
      double latency = 0;
      a->route_to(b, links, &latency);
      out.insert(links.begin(), links.end());
    }
    break;  // hosts of a datacentre share its local links (a cluster's private links aside, which are on this route too)
  }
  return out;
}

}  // namespace

std::vector<simgrid::s4u::Link*> wan_links_on_route(const simgrid::s4u::Host* from, const simgrid::s4u::Host* to) {
  std::vector<simgrid::s4u::Link*> out;
  if (datacentre_of(from) == datacentre_of(to)) return out;
  std::vector<simgrid::s4u::Link*> links;
  double latency = 0;
  from->route_to(to, links, &latency);
  const auto a = local_links(from);
  const auto b = local_links(to);
  for (auto* l : links)
    if (!a.count(l) && !b.count(l)) out.push_back(l);
  return out;
}

std::vector<simgrid::s4u::Link*> all_wan_links() {
  std::map<std::string, const simgrid::s4u::Host*> first_host;  // datacentre -> a host of it
  for (const auto* h : simgrid::s4u::Engine::get_instance()->get_all_hosts()) first_host.try_emplace(datacentre_of(h), h);
  std::map<std::string, simgrid::s4u::Link*> by_name;
  for (const auto& [dc_a, a] : first_host)
    for (const auto& [dc_b, b] : first_host)
      if (dc_a != dc_b)
        for (auto* l : wan_links_on_route(a, b)) by_name.emplace(l->get_name(), l);
  std::vector<simgrid::s4u::Link*> out;
  for (const auto& [name, l] : by_name) out.push_back(l);
  return out;
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

namespace {

// "usw-gpu12" -> ("usw-gpu", 12); a name without a trailing number gets -1.
std::pair<std::string, long long> natural_key(const std::string& name) {
  size_t digits = name.size();
  while (digits > 0 && std::isdigit(static_cast<unsigned char>(name[digits - 1]))) --digits;
  if (digits == name.size() || name.size() - digits > 15) return {name, -1};
  return {name.substr(0, digits), std::stoll(name.substr(digits))};
}

}  // namespace

std::vector<std::string> pick_worker_hosts(int count, const std::vector<std::string>& reserved, const std::string& scenario_file) {
  const std::set<std::string> skip(reserved.begin(), reserved.end());
  std::map<std::string, std::vector<std::pair<std::pair<std::string, long long>, std::string>>> by_dc;  // in name order
  size_t total = 0;
  for (const auto* h : simgrid::s4u::Engine::get_instance()->get_all_hosts()) {
    if (skip.count(h->get_name())) continue;
    by_dc[datacentre_of(h)].push_back({natural_key(h->get_name()), h->get_name()});
    ++total;
  }
  if (total < static_cast<size_t>(count))
    throw ScenarioError(fmt::format("{}: key 'placement.workers.count': {} workers, but the platform has {} hosts besides the outer "
                                    "optimizer, executors, storage and backup workers; lower the count or use a larger platform",
                                    scenario_file, count, total));
  // Each datacentre's share: one worker at a time to each datacentre with hosts left, in turn.
  std::vector<size_t> quota(by_dc.size(), 0);
  for (int placed = 0; placed < count;) {
    size_t d = 0;
    for (const auto& [dc, hosts] : by_dc) {
      if (placed < count && quota[d] < hosts.size()) {
        ++quota[d];
        ++placed;
      }
      ++d;
    }
  }
  std::vector<std::string> out;
  size_t d = 0;
  for (auto& [dc, hosts] : by_dc) {
    std::sort(hosts.begin(), hosts.end());
    for (size_t i = 0; i < quota[d]; ++i) out.push_back(hosts[i].second);
    ++d;
  }
  return out;
}

}  // namespace dipaco::sim

#include "sim/platform/network_model.hpp"

#include <fmt/format.h>
#include <fmt/ranges.h>
#include <simgrid/s4u/Link.hpp>
#include <xbt/config.hpp>

#include <algorithm>
#include <map>

#include "sim/platform/platform.hpp"

namespace dipaco::sim {

void check_simgrid_cfg(const std::string& setting) {
  const auto colon = setting.find(':');
  if (colon == std::string::npos || colon == 0)
    throw ScenarioError("--cfg " + setting + ": expected key:value, e.g. --cfg=network/model:LV08");
  const std::string key = setting.substr(0, colon), value = setting.substr(colon + 1);
  // The choices SimGrid 3.32 declares (src/surf/surf_interface.cpp); any other value aborts it.
  static const std::map<std::string, std::vector<std::string>> choices{
      {"network/model", {"LV08", "Constant", "SMPI", "IB", "CM02", "ns-3"}},
      {"cpu/model", {"Cas01"}},
      {"disk/model", {"default"}},
      {"host/model", {"default", "compound", "ptask_L07"}},
      {"network/optim", {"Lazy", "Full"}},
      {"cpu/optim", {"Lazy", "TI", "Full"}},
      {"plugin", {}},  // dipaco-sim loads the energy plugin itself
  };
  const auto it = choices.find(key);
  if (it == choices.end()) return;
  if (std::find(it->second.begin(), it->second.end(), value) != it->second.end()) return;
  if (it->second.empty()) throw ScenarioError(fmt::format("--cfg {}: dipaco-sim sets {} itself; leave it out", setting, key));
  throw ScenarioError(fmt::format("--cfg {}: '{}' is not a {} SimGrid knows; use one of: {}", setting, value, key, fmt::join(it->second, ", ")));
}

std::vector<std::string> network_config(NetworkModel model) {
  // SimGrid's lazy, selective update of the max-min system re-solves only the links it marks as
  // touched. When a flow becomes active (its latency paid) and the first link of its route is
  // already marked, its other links are not (lmm::System::update_modified_cnst_set_from_variable,
  // in 3.32 and still in SimGrid's master): the flow then runs faster than a narrower link on its
  // route allows. Seen here: two flows from one host, one behind a 20 MB/s WAN link, both got
  // 50 MB/s. Solving the whole system at every change is exact (tests/e2e/closed_form_test.cpp).
  if (model == NetworkModel::Ns3) return {"network/model:ns-3"};  // packets, not a max-min system
  std::vector<std::string> exact = {"network/optim:Full", "network/maxmin-selective-update:0"};
  if (model == NetworkModel::Analytic)
    exact.insert(exact.begin(), {"network/model:CM02", "network/TCP-gamma:0", "network/crosstraffic:0"});
  return exact;  // simgrid: otherwise SimGrid's defaults
}

void check_ns3_scenario(const Scenario& s, const PlatformTraces& traces) {
  const std::string file = s.file.string();
  const auto refuse = [&](const std::string& key, const std::string& why) {
    throw ScenarioError(fmt::format("{}: key '{}': {} under network.model: ns-3 (SimGrid's ns-3 binding cannot change a link or "
                                    "suspend a flow); use network.model: analytic for it",
                                    file, key, why));
  };
  if (!traces.traces.empty())
    throw ScenarioError(fmt::format("{}: key 'network.model': ns-3 cannot follow the platform's trace files ({} of {} '{}'); "
                                    "use network.model: analytic, or a platform without *_file attributes",
                                    file, traces.traces.front().attribute, traces.traces.front().element, traces.traces.front().id));
  // ns-3 wires a <cluster> as one CSMA segment at the backbone's rate (0 without bb_bw: it divides
  // by zero), and aborts on any topology but FLAT.
  for (const auto& c : traces.clusters) {
    if (!c.topology.empty() && c.topology != "FLAT")
      throw ScenarioError(fmt::format("{}:{}: cluster '{}': topology {} under network.model: ns-3, which takes FLAT clusters only; "
                                      "remove the topology attribute, or use network.model: analytic",
                                      s.platform.string(), c.line, c.id, c.topology));
    if (!c.has_backbone)
      throw ScenarioError(fmt::format("{}:{}: cluster '{}' has no backbone (bb_bw), which ns-3 needs to wire it; add bb_bw and "
                                      "bb_lat (for example bb_bw=\"400Gbps\" bb_lat=\"1us\"), or use network.model: analytic",
                                      s.platform.string(), c.line, c.id));
  }
  if (s.wan_bandwidth_scale != 1.0) refuse("network.wan_bandwidth_scale", "scaling links is not possible");
  if (s.wan_latency_scale != 1.0) refuse("network.wan_latency_scale", "scaling links is not possible");
  if (s.failures.host_failures()) refuse("failures", "host failures are not possible");
}

void check_coarse_scenario(const Scenario& s, const PlatformTraces& traces) {
  if (!s.network_coarse) return;
  const std::string file = s.file.string();
  // The scenario keys check network.model; --cfg=network/model:... can still change it.
  if (const auto model = simgrid::config::get_value<std::string>("network/model"); model != "CM02")
    throw ScenarioError(fmt::format("{}: key 'network.coarse': --cfg set network/model:{}, but a shared flow is weighed as the "
                                    "analytic model (CM02) weighs flows; drop that --cfg, or set network.coarse: off",
                                    file, model));
  if (s.failures.host_failures())
    throw ScenarioError(fmt::format("{}: key 'network.coarse': a shared flow cannot follow one member's host failure; remove the "
                                    "failures section, or set network.coarse: off",
                                    file));
  if (s.streaming.overlap_steps > 0)
    throw ScenarioError(fmt::format("{}: key 'network.coarse': streaming.overlap_steps needs a worker to post its receive for its "
                                    "next task early, which the coarse mode's hand-over does not model; set streaming.overlap_steps: 0, "
                                    "or network.coarse: off",
                                    file));
  for (const auto& t : traces.traces)
    if (t.element == "link" && (t.attribute == "state_file" || t.attribute == "latency_file"))
      throw ScenarioError(fmt::format("{}: key 'network.coarse': link '{}' of {} follows a {}, which a shared flow cannot follow for "
                                      "one member; use a platform without it, or set network.coarse: off",
                                      file, t.id, s.platform.string(), t.attribute));
}

void scale_wan_links(const Scenario& s, const PlatformTraces& traces) {
  const struct {
    double scale;
    const char* key;
    const char* trace;
  } scales[] = {{s.wan_bandwidth_scale, "network.wan_bandwidth_scale", "bandwidth_file"},
                {s.wan_latency_scale, "network.wan_latency_scale", "latency_file"}};
  if (scales[0].scale == 1.0 && scales[1].scale == 1.0) return;
  for (auto* link : all_wan_links()) {
    for (const auto& sc : scales)
      if (sc.scale != 1.0 && traces.link(link->get_name(), sc.trace) != nullptr)
        throw ScenarioError(fmt::format("{}: key '{}': WAN link '{}' of {} follows a {} (absolute values), which a scale cannot "
                                        "apply to; scale the trace file or leave {} at 1",
                                        s.file.string(), sc.key, link->get_name(), s.platform.string(), sc.trace, sc.key));
    link->set_bandwidth(link->get_bandwidth() * s.wan_bandwidth_scale);
    link->set_latency(link->get_latency() * s.wan_latency_scale);
  }
}

}  // namespace dipaco::sim

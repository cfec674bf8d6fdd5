// Which SimGrid network model a scenario runs on, as --cfg settings applied before the platform loads.
#pragma once

#include <string>
#include <vector>

#include "sim/platform/link_traces.hpp"
#include "sim/scenario/scenario.hpp"

namespace dipaco::sim {

// analytic: a transfer takes exactly latency + size / bandwidth on an idle path (CM02 with TCP-gamma
// and cross-traffic off). Flows that share a link get weighted max-min shares: each flow's weight
// is 1 / (its route's latency), so on a shared bottleneck a 30 ms route gets twice the bandwidth
// of a 60 ms one (a route of zero latency weighs as if it were 1 s). A flow pays its latency
// first, with no bandwidth, then moves its bytes at its share. simgrid: SimGrid's default LV08
// model, which multiplies latency by 13.01, bandwidth by 0.97, caps each flow at TCP-gamma /
// (2 × latency), and models reverse-path traffic. Both solve the whole max-min system at every
// change (network_model.cpp says why).
// ns-3: packet-level TCP (CUBIC, network.ns3's window and segment size) over the platform's links,
// through SimGrid's ns-3 binding. It sees only routes of one link, and <cluster> zones.
std::vector<std::string> network_config(NetworkModel model);

// What SimGrid's ns-3 binding cannot run (it aborts): link trace files, scaled links, host
// failures. Throws ScenarioError naming the key.
void check_ns3_scenario(const Scenario& s, const PlatformTraces& traces);

// What network.coarse cannot follow (sim/platform/flow_groups.hpp): ns-3 (no max-min weights), host
// failures and link state or latency traces (they would change one member's flow, not the group's).
// Throws ScenarioError naming the key.
void check_coarse_scenario(const Scenario& s, const PlatformTraces& traces);

// A --cfg setting ("key:value") checked before SimGrid sees it: SimGrid 3.32 aborts the process
// (exit 134, a CRITICAL line) on an unknown model or optimisation level rather than throwing.
// Throws ScenarioError naming the setting and the values it accepts; other keys are SimGrid's to
// check (it throws on an unknown key or a value of the wrong type, which the run reports).
void check_simgrid_cfg(const std::string& setting);

// Multiplies every WAN link's bandwidth and latency (sim/platform/platform.hpp: all_wan_links) by the
// scenario's network.wan_bandwidth_scale and wan_latency_scale. Call once the platform is loaded,
// before anything reads link properties. A WAN link whose bandwidth (or latency) follows a trace
// file cannot be scaled (the trace's values are absolute): a ScenarioError naming the link.
void scale_wan_links(const Scenario& s, const PlatformTraces& traces);

}  // namespace dipaco::sim

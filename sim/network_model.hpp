// Which SimGrid network model a scenario runs on, as --cfg settings applied before the platform loads.
#pragma once

#include <string>
#include <vector>

#include "sim/link_traces.hpp"
#include "sim/scenario.hpp"

namespace dipaco::sim {

// analytic: a transfer takes exactly latency + size / bandwidth on an idle path (CM02 with TCP-gamma
// and cross-traffic off). simgrid: SimGrid's default LV08 model, which multiplies latency by 13.01,
// bandwidth by 0.97, caps each flow at TCP-gamma / (2 × latency), and models reverse-path traffic.
std::vector<std::string> network_config(NetworkModel model);

// Multiplies every WAN link's bandwidth and latency (sim/platform.hpp: all_wan_links) by the
// scenario's network.wan_bandwidth_scale and wan_latency_scale. Call once the platform is loaded,
// before anything reads link properties. A WAN link whose bandwidth (or latency) follows a trace
// file cannot be scaled (the trace's values are absolute): a ScenarioError naming the link.
void scale_wan_links(const Scenario& s, const PlatformTraces& traces);

}  // namespace dipaco::sim

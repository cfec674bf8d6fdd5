// Which SimGrid network model a scenario runs on, as --cfg settings applied before the platform loads.
#pragma once

#include <string>
#include <vector>

#include "sim/scenario.hpp"

namespace dipaco::sim {

// analytic: a transfer takes exactly latency + size / bandwidth on an idle path (CM02 with TCP-gamma
// and cross-traffic off). simgrid: SimGrid's default LV08 model, which multiplies latency by 13.01,
// bandwidth by 0.97, caps each flow at TCP-gamma / (2 × latency), and models reverse-path traffic.
std::vector<std::string> network_config(NetworkModel model);

}  // namespace dipaco::sim

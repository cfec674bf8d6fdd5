// ns-3's TCP settings for network.model: ns-3, set through ns-3's own attribute defaults (as
// SimGrid's ns-3 binding sets its own). The only translation unit that includes ns-3.
#pragma once

#include "sim/scenario/scenario.hpp"

namespace dipaco::sim {

// CUBIC. Before the platform loads: each ns-3 node's TCP takes its congestion control as it is made.
// SimGrid 3.32's own choice (--cfg=ns3/TcpModel) offers only Reno, NewReno and Tahoe; ns-3.37 has
// no Reno or Tahoe class, and NewReno stalled a 100 MB transfer here.
void ns3_set_congestion_control();

// network.ns3's window (send and receive buffers) and segment size. After the platform loads:
// SimGrid sets a 1000-byte segment as it loads, and sockets take these as each transfer starts.
void ns3_set_socket_sizes(const Ns3Spec& spec);

}  // namespace dipaco::sim

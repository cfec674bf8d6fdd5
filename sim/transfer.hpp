// Simulated messages that account for their bytes: those between datacentres count as WAN bytes.
#pragma once

#include <simgrid/s4u/Comm.hpp>
#include <simgrid/s4u/Mailbox.hpp>

#include "sim/run_context.hpp"

namespace dipaco::sim {

// Starts sending `payload` (simulated size `bytes`) to `to`, which `receiver` listens on.
simgrid::s4u::CommPtr send_async(RunContext& ctx, simgrid::s4u::Mailbox* to, simgrid::s4u::Host* receiver,
                                 void* payload, double bytes);

}  // namespace dipaco::sim

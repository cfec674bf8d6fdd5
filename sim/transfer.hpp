// Simulated messages that account for their bytes: those between datacentres count as WAN bytes.
#pragma once

#include <simgrid/s4u/Comm.hpp>

#include <functional>
#include <simgrid/s4u/Mailbox.hpp>

#include "sim/run_context.hpp"

namespace dipaco::sim {

// Starts sending `payload` (simulated size `bytes`) to `to`, which `receiver` listens on.
simgrid::s4u::CommPtr send_async(RunContext& ctx, simgrid::s4u::Mailbox* to, simgrid::s4u::Host* receiver,
                                 void* payload, double bytes);

}  // namespace dipaco::sim

namespace dipaco::sim {

// Starts a bulk transfer of `bytes` from host `from` to host `to` with no actor at the sending
// end (a worker pulling a module from its executor's host).
// Sends `payload` without waiting for it: `cleanup` frees it if no one ever receives it.
void send_detached(RunContext& ctx, simgrid::s4u::Mailbox* to, simgrid::s4u::Host* receiver, void* payload, double bytes,
                   const std::function<void(void*)>& cleanup);

// Throws simgrid::NetworkFailureException at once if either host is off.
simgrid::s4u::CommPtr pull_async(RunContext& ctx, simgrid::s4u::Host* from, simgrid::s4u::Host* to, double bytes);

}  // namespace dipaco::sim

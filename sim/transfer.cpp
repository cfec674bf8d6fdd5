#include "sim/transfer.hpp"

#include <simgrid/s4u/Actor.hpp>
#include <simgrid/s4u/Host.hpp>

#include "sim/platform.hpp"

namespace dipaco::sim {

simgrid::s4u::CommPtr send_async(RunContext& ctx, simgrid::s4u::Mailbox* to, simgrid::s4u::Host* receiver,
                                 void* payload, double bytes) {
  ctx.total_bytes += bytes;
  if (datacentre_of(simgrid::s4u::this_actor::get_host()) != datacentre_of(receiver)) ctx.wan_bytes += bytes;
  return to->put_async(payload, static_cast<uint64_t>(bytes));
}

}  // namespace dipaco::sim

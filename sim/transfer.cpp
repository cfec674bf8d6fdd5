#include "sim/transfer.hpp"

#include <simgrid/Exception.hpp>
#include <simgrid/s4u/Actor.hpp>
#include <simgrid/s4u/Host.hpp>

#include "sim/platform.hpp"

namespace dipaco::sim {

namespace {
void count(RunContext& ctx, simgrid::s4u::Host* from, simgrid::s4u::Host* to, double bytes) {
  ctx.total_bytes += bytes;
  if (datacentre_of(from) != datacentre_of(to)) ctx.wan_bytes += bytes;
}
}  // namespace

simgrid::s4u::CommPtr send_async(RunContext& ctx, simgrid::s4u::Mailbox* to, simgrid::s4u::Host* receiver,
                                 void* payload, double bytes) {
  count(ctx, simgrid::s4u::this_actor::get_host(), receiver, bytes);
  return to->put_async(payload, static_cast<uint64_t>(bytes));
}

void send_detached(RunContext& ctx, simgrid::s4u::Mailbox* to, simgrid::s4u::Host* receiver, void* payload, double bytes,
                   const std::function<void(void*)>& cleanup) {
  count(ctx, simgrid::s4u::this_actor::get_host(), receiver, bytes);
  to->put_init(payload, static_cast<uint64_t>(bytes))->detach(cleanup);
}

}  // namespace dipaco::sim

namespace dipaco::sim {

simgrid::s4u::CommPtr pull_async(RunContext& ctx, simgrid::s4u::Host* from, simgrid::s4u::Host* to, double bytes) {
  // SimGrid asserts (aborts) on a transfer from a host that is off: fail it the way a transfer
  // whose host dies midway fails.
  if (!from->is_on() || !to->is_on())
    throw simgrid::NetworkFailureException(XBT_THROW_POINT, "transfer from " + from->get_name() + " to " + to->get_name() + ": a host is off");
  count(ctx, from, to, bytes);
  return simgrid::s4u::Comm::sendto_async(from, to, static_cast<uint64_t>(bytes));
}

}  // namespace dipaco::sim

#include "sim/transfer.hpp"

#include <simgrid/s4u/Actor.hpp>
#include <simgrid/s4u/Host.hpp>

#include "sim/platform.hpp"
#include "sim/trace_recorder.hpp"

namespace dipaco::sim {

namespace {
void count(RunContext& ctx, simgrid::s4u::Host* from, simgrid::s4u::Host* to, double bytes) {
  ctx.total_bytes += bytes;
  if (datacentre_of(from) != datacentre_of(to)) ctx.wan_bytes += bytes;
}
// Registers the transfer with the trace timeline, if one is recorded (sim/trace_recorder.hpp says
// why transfers are registered here rather than picked up from a SimGrid signal).
simgrid::s4u::CommPtr traced(RunContext& ctx, simgrid::s4u::CommPtr comm, simgrid::s4u::Host* from, simgrid::s4u::Host* to,
                             uint64_t bytes) {
  if (ctx.trace) ctx.trace->comm(comm, from, to, bytes);
  return comm;
}
}  // namespace

simgrid::s4u::CommPtr send_async(RunContext& ctx, simgrid::s4u::Mailbox* to, simgrid::s4u::Host* receiver,
                                 void* payload, double bytes) {
  count(ctx, simgrid::s4u::this_actor::get_host(), receiver, bytes);
  return traced(ctx, to->put_async(payload, static_cast<uint64_t>(bytes)), simgrid::s4u::this_actor::get_host(), receiver,
                static_cast<uint64_t>(bytes));
}

void send_detached(RunContext& ctx, simgrid::s4u::Mailbox* to, simgrid::s4u::Host* receiver, void* payload, double bytes,
                   const std::function<void(void*)>& cleanup) {
  count(ctx, simgrid::s4u::this_actor::get_host(), receiver, bytes);
  auto comm = to->put_init(payload, static_cast<uint64_t>(bytes));
  comm->detach(cleanup);
  traced(ctx, comm, simgrid::s4u::this_actor::get_host(), receiver, static_cast<uint64_t>(bytes));
}

}  // namespace dipaco::sim

namespace dipaco::sim {

simgrid::s4u::CommPtr pull_async(RunContext& ctx, simgrid::s4u::Host* from, simgrid::s4u::Host* to, double bytes) {
  count(ctx, from, to, bytes);
  return traced(ctx, simgrid::s4u::Comm::sendto_async(from, to, static_cast<uint64_t>(bytes)), from, to,
                static_cast<uint64_t>(bytes));
}

}  // namespace dipaco::sim

#include "sim/algorithms/ring_allreduce.hpp"

#include <simgrid/Exception.hpp>
#include <simgrid/s4u/Comm.hpp>
#include <simgrid/s4u/Actor.hpp>
#include <simgrid/s4u/Host.hpp>
#include <simgrid/s4u/Mailbox.hpp>

#include <memory>
#include <string>

#include "sim/platform/transfer.hpp"

namespace dipaco::sim {
namespace s4u = simgrid::s4u;

namespace {
// What a ring message says: which step and ring message it is, so that the receiver drops a
// message it has already counted (one sent again after a failure that had in fact arrived) rather
// than count it twice and fall out of step with the ring.
struct Chunk {
  int step = 0, j = 0;
};
}

void ring_allreduce(RunContext& ctx, RunState& state, int rank, double bytes) {
  const int k = static_cast<int>(state.ring.size());
  if (k < 2) return;
  const int next = (rank + 1) % k;
  auto* inbox = s4u::Mailbox::by_name("ring-" + std::to_string(rank));
  auto* outbox = s4u::Mailbox::by_name("ring-" + std::to_string(next));
  auto& progress = state.ring[static_cast<size_t>(rank)];
  const auto& receiver = state.ring[static_cast<size_t>(next)];
  // Whether the next rank has our ring message `j` of this step. The receiver's count is the truth:
  // a worker killed while waiting for its own send cannot have recorded that it arrived.
  const auto delivered = [&](int j) {
    return receiver.step > progress.step || (receiver.step == progress.step && receiver.received > j);
  };
  const auto send = [&](int j) {
    return Transfer::message(ctx, outbox, state.ring_host[static_cast<size_t>(next)], new Chunk{progress.step, j}, bytes / k,
                             [](void* p) { delete static_cast<Chunk*>(p); });
  };
  // The gradient values themselves are reduced by the engine (one large-batch step equals the
  // average of the k workers' gradients); these messages carry the time and the bytes.
  for (int j = 0; j < 2 * (k - 1); ++j) {
    if (delivered(j) && progress.received > j) continue;  // done before this worker took the rank
    std::vector<Transfer> sending;
    if (!delivered(j)) sending.push_back(send(j));
    s4u::CommPtr receive;
    Chunk* got = nullptr;
    if (progress.received <= j) receive = inbox->get_async<Chunk>(&got);
    while (receive) {  // a sender that died mid-transfer: its replacement sends again
      try {
        receive->wait();
        const std::unique_ptr<Chunk> chunk(got);
        const bool stale = chunk->step < progress.step || (chunk->step == progress.step && chunk->j < j);
        receive = stale ? inbox->get_async<Chunk>(&got) : nullptr;
      } catch (const simgrid::NetworkFailureException&) {
        receive = inbox->get_async<Chunk>(&got);
      }
    }
    progress.received = j + 1;
    while (!sending.empty()) {  // a receiver that died mid-transfer: send again, to its replacement
      wait_all(ctx, sending);
      if (!sending.front().failed() || delivered(j)) break;
      // Its host is off: look again a heartbeat later (by then a backup may run the rank elsewhere).
      if (!state.ring_host[static_cast<size_t>(next)]->is_on()) s4u::this_actor::sleep_for(ctx.scenario.failures.heartbeat_s);
      sending = {send(j)};
    }
  }
}

}  // namespace dipaco::sim

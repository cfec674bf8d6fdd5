#include "sim/ring_allreduce.hpp"

#include <simgrid/s4u/Mailbox.hpp>

#include <string>

#include "sim/transfer.hpp"

namespace dipaco::sim {

void ring_allreduce(RunContext& ctx, int rank, double bytes) {
  const int k = static_cast<int>(ctx.worker_hosts.size());
  if (k < 2) return;
  const int next = (rank + 1) % k;
  auto* inbox = simgrid::s4u::Mailbox::by_name("ring-" + std::to_string(rank));
  auto* outbox = simgrid::s4u::Mailbox::by_name("ring-" + std::to_string(next));
  // The gradient values themselves are reduced by the engine (one large-batch step equals the
  // average of the k workers' gradients); these messages carry the time and the bytes.
  static char chunk_token;
  for (int phase = 0; phase < 2 * (k - 1); ++phase) {
    auto send = send_async(ctx, outbox, ctx.worker_hosts[static_cast<size_t>(next)], &chunk_token, bytes / k);
    inbox->get<char>();
    send->wait();
  }
}

}  // namespace dipaco::sim

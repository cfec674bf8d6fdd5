#include "sim/algorithms/ring_allreduce.hpp"

#include <simgrid/Exception.hpp>
#include <simgrid/s4u/Comm.hpp>
#include <simgrid/s4u/Actor.hpp>
#include <simgrid/s4u/Engine.hpp>
#include <simgrid/s4u/Host.hpp>
#include <simgrid/s4u/Mailbox.hpp>

#include <cstdint>
#include <stdexcept>
#include <string>

#include <fmt/format.h>

#include "sim/platform/transfer.hpp"

namespace dipaco::sim {
namespace s4u = simgrid::s4u;

namespace {
// What a ring message says: which generation (rollbacks so far), step and ring message it is, so
// that the receiver drops a message it has already counted (one sent again after a failure that had
// in fact arrived, or one from before a rollback) rather than count it twice and fall out of step.
struct Chunk {
  int generation = 0, step = 0, j = 0;
};
enum class Age { Old, Current, Newer };

// A ring message is its header alone, carried in the payload pointer itself: it owns no memory, so
// a message abandoned at a rollback (which may never be received) leaks nothing. 15 bits of
// generation, 28 of step and 20 of message index; the top bit keeps it non-null.
constexpr uint64_t kGenerationBits = 15, kStepBits = 28, kIndexBits = 20;
void* encode(const Chunk& c) {
  if (c.generation >= (1 << kGenerationBits) || c.step >= (1 << kStepBits) || c.j >= (1 << kIndexBits))
    throw std::runtime_error(fmt::format("ring message header out of range (generation {}, step {}, message {})", c.generation, c.step, c.j));
  const uint64_t bits = (uint64_t{1} << 63) | (static_cast<uint64_t>(c.generation) << (kStepBits + kIndexBits)) |
                        (static_cast<uint64_t>(c.step) << kIndexBits) | static_cast<uint64_t>(c.j);
  return reinterpret_cast<void*>(static_cast<uintptr_t>(bits));
}
Chunk decode(const void* p) {
  const auto bits = static_cast<uint64_t>(reinterpret_cast<uintptr_t>(p));
  const auto field = [&](uint64_t shift, uint64_t width) { return static_cast<int>((bits >> shift) & ((uint64_t{1} << width) - 1)); };
  return {field(kStepBits + kIndexBits, kGenerationBits), field(kIndexBits, kStepBits), field(0, kIndexBits)};
}
static_assert(sizeof(uintptr_t) == 8, "ring message headers need 64-bit pointers");
}  // namespace

bool ring_allreduce(RunContext& ctx, RunState& state, int rank, double bytes, int generation) {
  auto& rollback = state.ring_rollback;
  const int k = static_cast<int>(state.ring.size());
  if (k < 2) return rollback.generation == generation;
  const int next = (rank + 1) % k;
  auto* inbox = s4u::Mailbox::by_name("ring-" + std::to_string(rank));
  auto* outbox = s4u::Mailbox::by_name("ring-" + std::to_string(next));
  auto& progress = state.ring[static_cast<size_t>(rank)];
  const auto& receiver = state.ring[static_cast<size_t>(next)];
  // Only a rollback interrupts a step from outside: then waits look up once a heartbeat (without
  // one they need no deadline, and add no events).
  const bool watch = state.policy.ring_recovery == AlgorithmPolicy::RingRecovery::Rollback;
  const double poll = ctx.scenario.failures.heartbeat_s;
  const auto rolled_back = [&] { return rollback.generation != generation; };
  // Whether the next rank has our ring message `j` of this step. The receiver's count is the truth:
  // a worker killed while waiting for its own send cannot have recorded that it arrived.
  const auto delivered = [&](int j) {
    return receiver.step > progress.step || (receiver.step == progress.step && receiver.received > j);
  };
  const auto send = [&](int j) {
    return Transfer::message(ctx, outbox, state.ring_host[static_cast<size_t>(next)], encode({generation, progress.step, j}), bytes / k, nullptr);
  };
  const auto age = [&](const Chunk& c, int j) {
    if (c.generation != generation) return c.generation < generation ? Age::Old : Age::Newer;
    return c.step < progress.step || (c.step == progress.step && c.j < j) ? Age::Old : Age::Current;
  };
  // A message of the ring's next generation that reached this rank before it saw the rollback: its
  // sender counts it as sent, so the rank keeps it for its first receive after the restore.
  const auto keep_early = [&](const Chunk& c) { rollback.early[static_cast<size_t>(rank)] = {c.generation, c.step, c.j}; };
  // Abandons the step's sends: the receiver drops them as old, if they ever reach it.
  const auto abandon = [&](std::vector<Transfer>& sending) {
    for (auto& t : sending) t.orphan();
    return false;
  };
  // The gradient values themselves are reduced by the engine (one large-batch step equals the
  // average of the k workers' gradients); these messages carry the time and the bytes.
  for (int j = 0; j < 2 * (k - 1); ++j) {
    if (watch && rolled_back()) return false;
    if (delivered(j) && progress.received > j) continue;  // done before this worker took the rank
    std::vector<Transfer> sending;
    if (!delivered(j)) sending.push_back(send(j));
    auto& early = rollback.early[static_cast<size_t>(rank)];
    const bool kept = early.generation == generation && early.step == progress.step && early.j == j;
    if (early.generation <= generation) early = {};
    s4u::CommPtr receive;
    void* got = nullptr;
    if (progress.received <= j && !kept) receive = inbox->get_async<void>(&got);
    while (receive) {  // a sender that died mid-transfer: its replacement sends again
      try {
        if (!watch) {
          receive->wait();
        } else if (s4u::Comm::wait_any_for({receive}, poll) < 0) {
          if (!rolled_back()) continue;
          // Abandoned: a receive nobody has matched is withdrawn; one on its way is let arrive
          // (cancelling it would throw at its sender).
          if (receive->get_sender() == nullptr) {
            receive->cancel();
          } else {
            try {
              receive->wait();
              if (age(decode(got), j) == Age::Newer) keep_early(decode(got));
            } catch (const simgrid::NetworkFailureException&) {
            }
          }
          return abandon(sending);
        }
        const Chunk chunk = decode(got);
        const Age a = age(chunk, j);
        if (a == Age::Newer) {
          keep_early(chunk);
          return abandon(sending);
        }
        receive = a == Age::Old ? inbox->get_async<void>(&got) : nullptr;
      } catch (const simgrid::NetworkFailureException&) {
        receive = inbox->get_async<void>(&got);
      }
    }
    if (watch && rolled_back()) return abandon(sending);
    progress.received = j + 1;
    while (!sending.empty()) {  // a receiver that died mid-transfer: send again, to its replacement
      if (!watch) {
        wait_all(ctx, sending);
      } else if (!wait_all_until(ctx, sending, s4u::Engine::get_clock() + poll)) {
        if (rolled_back()) return abandon(sending);
        continue;
      }
      if (!sending.front().failed() || delivered(j)) break;
      // Its host is off: look again a heartbeat later (by then a backup may run the rank elsewhere).
      if (!state.ring_host[static_cast<size_t>(next)]->is_on()) s4u::this_actor::sleep_for(ctx.scenario.failures.heartbeat_s);
      if (watch && rolled_back()) return false;
      sending = {send(j)};
    }
  }
  return true;
}

}  // namespace dipaco::sim

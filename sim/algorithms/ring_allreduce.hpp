// Ring all-reduce made of real simulated messages: 2(k-1) ring steps; in each, rank r sends
// bytes/k to rank r+1 and receives bytes/k from rank r-1 (reduce-scatter, then all-gather).
#pragma once

#include "sim/run/run_state.hpp"

namespace dipaco::sim {

// One all-reduce by `rank`, from where its progress says it stopped (a worker that replaces a
// preempted one resumes there). A message broken by its peer's death is sent, or waited for,
// again: the ring stalls until the rank's replacement joins it. False when the ring has rolled
// back to a checkpoint since `generation` (RingRecovery::Rollback): the rank abandoned its step.
bool ring_allreduce(RunContext& ctx, RunState& state, int rank, double bytes, int generation);

}  // namespace dipaco::sim

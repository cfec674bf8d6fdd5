// Ring all-reduce made of real simulated messages: 2(k-1) phases; in each, rank r sends
// bytes/k to rank r+1 and receives bytes/k from rank r-1 (reduce-scatter, then all-gather).
#pragma once

#include "sim/run_context.hpp"

namespace dipaco::sim {

// Called by every rank of the ring at the same logical step; returns when this rank is done.
void ring_allreduce(RunContext& ctx, int rank, double bytes);

}  // namespace dipaco::sim

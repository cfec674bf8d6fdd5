// Discriminative routing, the paper's one EM step (its Table 5): after a first training phase,
// score every path on the router split, label each sequence with the path that predicts it best,
// fit a linear softmax router with a learned bias on the base model's router features, and
// re-shard the training and validation data with it.
#pragma once

#include "sim/run/run_state.hpp"

namespace dipaco::sim {

// Runs inside the actor that closed `phase`: the scoring's simulated flops run on its host. The
// real scoring runs on the pool and blocks the simulation until it is done.
void discriminative_reshard(RunContext& ctx, RunState& state, int phase);

// Per-sequence mean loss over the scored targets (those at or after the routing prefix) from
// token_losses rows of seq_len floats.
std::vector<float> sequence_losses(const std::vector<float>& token_losses, int seq_len, int prefix_tokens);

}  // namespace dipaco::sim

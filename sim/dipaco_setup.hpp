// DiPaCo's setup before the simulation starts: structure, routing (base model + k-means), tasks and
// their workers, shards, and executor placement.
#pragma once

#include <cstdint>
#include <vector>

#include "sim/dipaco_actors.hpp"

namespace simgrid::s4u {
class Host;
}

namespace dipaco::sim {

void setup_dipaco(const Scenario& s, RunContext& ctx, DipacoState& state, const std::vector<simgrid::s4u::Host*>& hosts);

// Gives each path its data: its training sequences (less every k-th for early stopping) split over
// its replicas' tasks, and its evaluation sample of `val_ids`. Throws ScenarioError when a path
// gets less than a batch per replica.
void assign_path_data(const Scenario& s, RunContext& ctx, DipacoState& state, const std::vector<std::vector<int64_t>>& train_ids,
                      const std::vector<std::vector<int64_t>>& val_ids);

// The fewest training sequences a path may be routed: a batch per replica, plus its held-out share.
int64_t min_path_sequences(const Scenario& s);

}  // namespace dipaco::sim

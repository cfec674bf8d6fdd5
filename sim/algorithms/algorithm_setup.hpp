// The task infrastructure's setup before the simulation starts. DiPaCo: structure, routing (base
// model + k-means), tasks and their workers, shards, and executor placement. DiLoCo: one module.
#pragma once

#include <cstdint>
#include <vector>

#include "sim/run/run_state.hpp"

namespace simgrid::s4u {
class Host;
}

namespace dipaco::sim {

void setup_dipaco(const Scenario& s, RunContext& ctx, RunState& state, const std::vector<simgrid::s4u::Host*>& hosts);
// DiLoCo: the whole model as one module on placement.outer, one task per worker on its own shard.
void setup_diloco(const Scenario& s, RunContext& ctx, RunState& state, const std::vector<simgrid::s4u::Host*>& hosts);

// Synchronous DP: the whole model on k ranks that all-reduce every step over a ring.
void setup_sync(const Scenario& s, RunContext& ctx, RunState& state, const std::vector<simgrid::s4u::Host*>& hosts);

// The pieces they share: `workers` primary workers cycling over `hosts`, then the backup pool;
// which tasks go through each module and each module's message size; the executors' state and the
// checkpoint store.
void place_workers(const Scenario& s, RunContext& ctx, RunState& state, const std::vector<simgrid::s4u::Host*>& hosts, int workers);
void index_modules(const RunContext& ctx, RunState& state);
void init_module_state(const Scenario& s, RunState& state);

// Gives each path its data: its training sequences (less every k-th for early stopping) split over
// its replicas' tasks, and its evaluation sample of `val_ids`. Throws ScenarioError when a path
// gets less than a batch per replica.
void assign_path_data(const Scenario& s, RunContext& ctx, RunState& state, const std::vector<std::vector<int64_t>>& train_ids,
                      const std::vector<std::vector<int64_t>>& val_ids);

// The fewest training sequences a path may be routed: a batch per replica, plus its held-out share.
int64_t min_path_sequences(const Scenario& s);

}  // namespace dipaco::sim

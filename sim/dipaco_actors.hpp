// DiPaCo over the simulated platform: one task actor per (path, replica) and one outer executor per
// module. Each phase, every executor sends its module to the tasks whose path contains it; a task
// composes its path, runs τ inner steps (simulated compute, real training on the pool), and sends each
// module's new version back to that module's executor, which averages them (weighted by shard size,
// optionally rescaled by √paths) and takes the module's own Nesterov step.
#pragma once

#include <map>
#include <memory>
#include <optional>
#include <vector>

#include "engine/kmeans.hpp"
#include "engine/paths.hpp"
#include "sim/run_context.hpp"

namespace dipaco::sim {

struct DipacoState {
  engine::PathStructure structure;
  std::unique_ptr<engine::PathLayout> layout;
  std::unique_ptr<engine::ModuleStore> store;  // null without training

  struct Task {
    int path = 0;
    std::shared_ptr<const engine::Shard> shard;
    double weight = 1.0;  // shard size
  };
  std::vector<Task> tasks;
  std::vector<std::vector<int>> tasks_through_module;
  std::vector<simgrid::s4u::Host*> executor_hosts;  // per module
  std::vector<double> module_bytes;                 // simulated size of each module's message
  std::vector<std::vector<int64_t>> validation_ids;  // per path, the sequences its evaluation uses
  std::vector<int64_t> shard_sizes;                  // per path
  double start_time = 0.0;  // phases start once the base model is trained

  // Per open phase: module snapshots and the tasks' training losses.
  struct Phase {
    std::map<int, std::shared_ptr<const engine::ParamVector>> modules;
    std::map<int, std::vector<double>> losses;  // path -> losses of its replicas
  };
  std::map<int, Phase> phases;

  // Test-time re-routing of the final model (dipaco.reroute_every > 0).
  std::vector<engine::KMeans> routers;
  std::shared_ptr<const engine::ParamVector> base_params;
  std::vector<int64_t> reroute_ids;  // validation sequences scored
  std::vector<int> reroute_starts;   // first target position of each window
  std::vector<std::shared_future<std::vector<float>>> reroute_losses;  // per path
  std::shared_future<std::vector<float>> reroute_features;
};

// Mean loss over scored tokens of the final model when routing once per sequence (on the prefix)
// and when re-routing every dipaco.reroute_every tokens; nullopt unless re-routing was requested.
struct RerouteResult {
  double once = 0.0;
  double every_window = 0.0;
};
std::optional<RerouteResult> rerouted_losses(const DipacoState& state, const Scenario& s);

class DipacoTask {
 public:
  DipacoTask(RunContext& ctx, DipacoState& state, int task) : ctx_(ctx), state_(state), task_(task) {}
  void operator()();

 private:
  void run();
  RunContext& ctx_;
  DipacoState& state_;
  int task_;
};

class DipacoExecutor {
 public:
  DipacoExecutor(RunContext& ctx, DipacoState& state, int module) : ctx_(ctx), state_(state), module_(module) {}
  void operator()();

 private:
  void run();
  void finish_phase(int phase);
  RunContext& ctx_;
  DipacoState& state_;
  int module_;
};

// Records the routed row and the per-path rows for `phase` from the modules' snapshots.
void record_dipaco_phase(RunContext& ctx, DipacoState& state, int phase);

}  // namespace dipaco::sim

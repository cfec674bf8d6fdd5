// A module's executor: gathers the phase's uploads of the tasks through its module, averages them
// online (weighted by shard size, optionally rescaled by √paths), closes the phase under the
// scenario's policy (wait_all, quorum, deadline), takes the module's own outer step, and saves and
// restores module checkpoints. DiLoCo's outer optimiser is the executor of its one module.
#pragma once

#include "sim/run/run_state.hpp"

namespace dipaco::sim {

class Executor {
 public:
  Executor(RunContext& ctx, RunState& state, int module) : ctx_(ctx), state_(state), module_(module) {}
  void operator()();

 private:
  void run();
  void run_async();  // asynchronous DiLoCo: each outer gradient applied as it arrives (executor_async.cpp)
  void run_decoupled();  // Decoupled DiLoCo's synchroniser: merges each fragment on a quorum (executor_decoupled.cpp)
  void merge_fragment(int fragment);
  int recover();  // after a restart: restores the last checkpoint, returns the phase to gather
  // A task's trained version of this module as the executor decodes it from the outer gradient the
  // worker sent (communication.outer_gradient).
  engine::ParamVector as_received(engine::ParamVector version) const;
  void finish_phase(int phase);
  void save_checkpoint(int phase);
  double checkpoint_bytes() const;
  RunContext& ctx_;
  RunState& state_;
  int module_;
};

}  // namespace dipaco::sim

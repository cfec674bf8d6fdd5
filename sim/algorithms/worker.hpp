// The one worker actor of every algorithm. It takes a task from the scheduler (or, as a replica of
// a static assignment, is handed its next one), gets the task's modules, runs its τ inner steps
// (simulated compute; real training on the thread pool meanwhile) and uploads each module to its
// executor; as a sync rank it runs its rank's steps with a ring all-reduce after each. Its host's
// preemption kills it; it restarts when the host comes back and asks for work.
#pragma once

#include "sim/algorithms/messages.hpp"
#include "sim/run/run_state.hpp"

namespace dipaco::sim {

class Worker {
 public:
  Worker(RunContext& ctx, RunState& state, int worker) : ctx_(ctx), state_(state), worker_(worker) {}
  void operator()();

 private:
  void run();
  // None, or why the task could not start (ExecutorLost: its modules were out of reach).
  FailureCause run_task(const Assignment& a);
  FailureCause run_rank(const Assignment& a);  // synchronous DP: a ring rank, to the end of the run
  // Rollback recovery of the ring (sim/algorithms/algorithm_policy.hpp): rank 0 writes the training
  // state after `steps` steps; a rank pulls the last checkpoint before redoing the steps since.
  void write_ring_checkpoint(int steps);
  void restore_ring_checkpoint(int rank);
  RunContext& ctx_;
  RunState& state_;
  int worker_;
};

}  // namespace dipaco::sim

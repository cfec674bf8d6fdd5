// The one worker actor of every algorithm. It takes a task from the scheduler (or, as a replica of
// a static assignment, is handed its next one), gets the task's modules, runs its τ inner steps
// (simulated compute; real training on the thread pool meanwhile) and uploads each module to its
// executor; as a sync rank it runs its rank's steps with a ring all-reduce after each. Its host's
// preemption kills it; it restarts when the host comes back and asks for work.
#pragma once

#include <simgrid/s4u/Comm.hpp>

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
  // Asynchronous DiLoCo: the replica's rounds, each from the θ it last received, to the end of the
  // run or of this worker (worker_async.cpp).
  FailureCause run_async(const Assignment& a);
  // Decoupled DiLoCo: the learner's phases, to the end of the run or of this worker; it never
  // waits for its uploads or for the synchroniser (worker_decoupled.cpp).
  FailureCause run_decoupled(const Assignment& a);
  // Rollback recovery of the ring (sim/algorithms/algorithm_policy.hpp): rank 0 writes the training
  // state after `steps` steps; a rank pulls the last checkpoint before redoing the steps since.
  void write_ring_checkpoint(int steps);
  void restore_ring_checkpoint(int rank);
  // Streaming DiLoCo: the real training of a task, from the replica's own parameters with the
  // fragment the last phase synchronised mixed in (or from the global fragments after a death).
  // `head`: the steps of this phase already run (overlap), from head_.
  std::shared_future<engine::TrainResult> submit_streaming(const Assignment& a, bool holds, int head,
                                                           const std::vector<std::shared_ptr<const engine::ParamVector>>& versions);
  // Streaming DiLoCo with overlap: the first streaming.overlap_steps steps of the replica's next
  // phase, run while its uploads and the outer step travel. Lost with the worker.
  struct Head {
    int task = -1, phase = 0, incarnation = 0;
    std::shared_future<engine::TrainResult> job;  // invalid without training
  } head_;
  // The receive of the next assignment, posted before the head so that its download (the outer
  // update) flows while the head computes; null when none is posted.
  simgrid::s4u::CommPtr next_;
  void* next_payload_ = nullptr;
  int next_incarnation_ = 0;
  Assignment* next_assignment(int incarnation);
  RunContext& ctx_;
  RunState& state_;
  int worker_;
};

}  // namespace dipaco::sim

// Fully synchronous data parallelism: every inner step, the k workers all-reduce their gradients
// across datacentres with a ring of simulated messages. The real training runs as one job per
// evaluation interval with a k-fold batch, which equals the average of the k workers' gradients.
#pragma once

#include "sim/run_context.hpp"

namespace dipaco::sim {

class SyncWorker {
 public:
  SyncWorker(RunContext& ctx, int rank) : ctx_(ctx), rank_(rank) {}
  void operator()();

 private:
  void run();
  RunContext& ctx_;
  int rank_;
};

}  // namespace dipaco::sim

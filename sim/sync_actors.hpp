// Fully synchronous data parallelism: every inner step, the k workers all-reduce their gradients
// across datacentres with a ring of simulated messages. The real training runs as one job per
// evaluation interval with a k-fold batch, which equals the average of the k workers' gradients.
#pragma once

#include <map>
#include <memory>
#include <optional>

#include "sim/run_context.hpp"

namespace dipaco::sim {

// What the workers share: per interval of τ steps, the model after it (from rank 0, which owns the
// real training) and how many workers have finished it. The last one to finish records the row:
// an interval ends when the ring's last chunk reaches its last worker, not when rank 0 is done.
struct SyncIntervals {
  struct Interval {
    int finished = 0;
    std::shared_ptr<const engine::ParamVector> params;
    std::optional<double> train_loss;
  };
  std::map<int, Interval> open;
};

class SyncWorker {
 public:
  SyncWorker(RunContext& ctx, int rank, std::shared_ptr<SyncIntervals> intervals)
      : ctx_(ctx), rank_(rank), intervals_(std::move(intervals)) {}
  void operator()();

 private:
  void run();
  RunContext& ctx_;
  int rank_;
  std::shared_ptr<SyncIntervals> intervals_;
};

}  // namespace dipaco::sim

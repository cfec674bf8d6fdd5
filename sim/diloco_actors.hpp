// DiLoCo over the simulated platform: one worker actor per replica and one outer-optimizer actor.
// Each round the outer actor broadcasts θ, every worker runs τ inner steps (charged as simulated
// compute, really trained on the pool meanwhile) and sends θ_i back; the outer actor averages,
// takes the Nesterov step and starts the next round.
#pragma once

#include "sim/run_context.hpp"

namespace dipaco::sim {

class DilocoWorker {
 public:
  DilocoWorker(RunContext& ctx, int rank) : ctx_(ctx), rank_(rank) {}
  void operator()();

 private:
  void run();
  RunContext& ctx_;
  int rank_;
};

class DilocoOuter {
 public:
  explicit DilocoOuter(RunContext& ctx) : ctx_(ctx) {}
  void operator()();

 private:
  void run();
  RunContext& ctx_;
};

}  // namespace dipaco::sim

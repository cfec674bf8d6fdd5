// The memory guard: before any training state is allocated, an estimate of the run's peak memory
// against what the machine (or its cgroup) has, so that a model too large for it ends in a one-line
// error naming the keys to change rather than in the kernel's OOM killer hours later.
#pragma once

#include <cstdint>
#include <string>

#include "sim/scenario/scenario.hpp"

namespace dipaco::sim {

struct MemoryEstimate {
  double params_bytes = 0;       // one copy of the trained model (fp32)
  double state_bytes = 0;        // what the algorithm keeps between jobs (replicas, moments, store)
  double jobs_bytes = 0;         // training jobs in flight: model, gradients, moments, activations
  double total_bytes = 0;        // all of it, on top of what the process already holds
};

// The estimate for `params` trained parameters, `replicas` tasks (workers × paths' replicas) and
// `threads` jobs in flight at once.
MemoryEstimate estimate_training_memory(const Scenario& s, int64_t params, int64_t replicas, int threads);

// Memory the run may still take: MemAvailable, or less if the cgroup's memory.max says so
// (bytes; infinity when neither can be read).
double available_memory_bytes();

// Throws ScenarioError with the estimate and the keys to change when `needed` exceeds
// `available` (DIPACO_MEMORY_LIMIT_BYTES, when set, stands in for the available memory: tests).
void check_memory(const Scenario& s, const MemoryEstimate& needed, double available);

}  // namespace dipaco::sim

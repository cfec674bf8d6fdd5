#include "sim/scenario/compute_schedule.hpp"

#include <algorithm>

namespace dipaco::sim {

int active_replicas(ComputeSchedule schedule, int replicas, int phase, int phases) {
  const int half = (replicas + 1) / 2;
  const bool first_half = 2 * (phase - 1) < phases;  // phases 1..ceil(K/2)
  // Linear position in [0, 1] across the run; one phase is all at once.
  const long long span = std::max(phases - 1, 1);
  const int ramp = 1 + static_cast<int>(static_cast<long long>(replicas - 1) * (phase - 1) / span);
  switch (schedule) {
    case ComputeSchedule::Constant: return replicas;
    case ComputeSchedule::Doubling: return first_half ? half : replicas;
    case ComputeSchedule::Halving: return first_half ? replicas : half;
    case ComputeSchedule::RampUp: return ramp;
    case ComputeSchedule::RampDown: return replicas + 1 - ramp;
  }
  return replicas;
}

long long replica_phases_until(ComputeSchedule schedule, int replicas, int phase, int phases) {
  long long sum = 0;
  for (int k = 1; k <= phase; ++k) sum += active_replicas(schedule, replicas, k, phases);
  return sum;
}

const char* to_string(ComputeSchedule c) {
  switch (c) {
    case ComputeSchedule::Constant: return "constant";
    case ComputeSchedule::Doubling: return "doubling";
    case ComputeSchedule::Halving: return "halving";
    case ComputeSchedule::RampUp: return "ramp_up";
    case ComputeSchedule::RampDown: return "ramp_down";
  }
  return "?";
}

}  // namespace dipaco::sim

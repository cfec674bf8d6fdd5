// Adaptive compute (DiLoCo's Fig. 7): how many replicas of each path train in each phase. The
// replicas that sit a phase out are simply not queued; the executors average over those that ran.
#pragma once

namespace dipaco::sim {

enum class ComputeSchedule { Constant, Doubling, Halving, RampUp, RampDown };

// Active replicas per path in `phase` (1-based) of `phases`, out of `replicas`:
//  - constant: all of them;
//  - doubling / halving: half (rounded up) in the first half of the phases, then all (and the reverse);
//  - ramp_up / ramp_down: linear from 1 to all (and the reverse), rounded down.
int active_replicas(ComputeSchedule schedule, int replicas, int phase, int phases);

// Sum of active_replicas over phases 1..phase: the replica-phases of training done by then.
long long replica_phases_until(ComputeSchedule schedule, int replicas, int phase, int phases);

const char* to_string(ComputeSchedule c);

}  // namespace dipaco::sim

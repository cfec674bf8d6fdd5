// Host failures as SimGrid state profiles, drawn before the run starts so that a seed fixes them:
// a rate model (MTBF/MTTR, exponential or Weibull, per host or per datacentre), whole-datacentre
// outages, and trace files in SimGrid's profile format. Only preemptible hosts get profiles: worker
// and backup hosts that run no executor, the scheduler or the checkpoint store, plus the executors'
// hosts with failures.executors_fail (they recover from their module checkpoints).
#pragma once

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "sim/scenario/scenario.hpp"

namespace simgrid::s4u {
class Host;
}

namespace dipaco::sim {

struct Interval {
  double begin = 0.0;
  double end = 0.0;  // infinity: down for good
};

// Down intervals of one failure process: up-times drawn from the MTBF distribution, down-times
// exponential with mean MTTR, until `horizon` seconds.
std::vector<Interval> draw_failures(const FailureSpec& f, uint64_t seed);

// Sorted, disjoint, non-empty union of `down`.
std::vector<Interval> merge_intervals(std::vector<Interval> down);

// SimGrid's state profile text for these down intervals ("time value" lines, 0 = off, 1 = on).
std::string state_profile(const std::vector<Interval>& down);

// Parses a state profile file's text back into down intervals; throws ScenarioError naming `file`
// and the line for anything else.
std::vector<Interval> parse_state_profile(const std::string& text, const std::string& file);

struct FailurePlan {
  std::vector<simgrid::s4u::Host*> hosts;      // preemptible hosts with at least one failure
  std::vector<std::vector<Interval>> down;     // per host in `hosts`
  double down_for_good_at(const simgrid::s4u::Host* h) const;  // infinity if it always comes back
  double downtime_s(double until) const;       // total host-seconds down before `until`
};

// Checks what can be checked once the platform is loaded (datacentres and trace hosts exist, trace
// files parse), so that bad failure settings fail before any data is prepared.
void validate_failures(const Scenario& s);

// Draws every preemptible host's down intervals and installs them as state profiles. Throws
// ScenarioError for unknown datacentres, trace hosts that are not preemptible, and bad trace files.
// Hosts in `backup` (a subset of `preemptible`: the backup pool) draw from failures.backup_preemption.
FailurePlan install_failures(const Scenario& s, const std::vector<simgrid::s4u::Host*>& preemptible,
                             const std::vector<simgrid::s4u::Host*>& backup = {});

}  // namespace dipaco::sim

// Why something failed, as a type rather than text: what transfers report, what workers tell the
// scheduler, and what summary.json counts ("failure_causes").
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>

namespace dipaco::sim {

enum class FailureCause {
  None,
  HostDown,      // a worker's host was preempted (its task is lost), or a transfer's peer host went
  LinkDown,      // a transfer's route was down: given up (no retries left, down for good, or not retried)
  Timeout,       // a transfer failed for longer than failures.stall_hours, or the run could not progress
  ExecutorLost,  // a task could not start, its modules' executor unreachable; or an executor recovered
  Stale,         // a contribution trained from a module version its executor has since lost
};
constexpr size_t kFailureCauses = 6;

const char* to_string(FailureCause c);  // "host_down", ...

// Counts per cause (index: the enum's value).
using FailureCounts = std::array<int64_t, kFailureCauses>;

}  // namespace dipaco::sim

#include "sim/failures/failure_cause.hpp"

namespace dipaco::sim {

const char* to_string(FailureCause c) {
  switch (c) {
    case FailureCause::None: return "none";
    case FailureCause::HostDown: return "host_down";
    case FailureCause::LinkDown: return "link_down";
    case FailureCause::Timeout: return "timeout";
    case FailureCause::ExecutorLost: return "executor_lost";
    case FailureCause::Stale: return "stale";
  }
  return "none";
}

}  // namespace dipaco::sim

// trace.json: a Chrome trace-event timeline of one run (opens in https://ui.perfetto.dev or
// chrome://tracing), in simulated time. One process per datacentre, one thread per host (more
// lanes where a host's spans overlap), with spans for compute, send, receive, down and idle, and
// one counter per WAN link of the bytes in flight on it.
//
// Executions and host states come from SimGrid's global signals (Exec::on_start,
// Activity::on_completion, Host::on_state_change). Transfers are registered by sim/platform/transfer.cpp:
// SimGrid 3.32 declares Comm::on_start but never defines or fires it (only on_send and on_recv,
// at posting time, without the host-to-host transfers), and the kernel's CommImpl signals are not
// in its installed headers. A transfer's span is its real start (both ends matched) to its end,
// read from the activity itself once any side sees it complete.
#pragma once

#include <simgrid/forward.h>

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

namespace dipaco::sim {

class TraceRecorder {
 public:
  // Connects to SimGrid's signals: call after loading the platform and before the simulation
  // runs. `worker_hosts` also get idle spans wherever they have no other span.
  explicit TraceRecorder(const std::vector<simgrid::s4u::Host*>& worker_hosts);
  ~TraceRecorder();
  TraceRecorder(const TraceRecorder&) = delete;
  TraceRecorder& operator=(const TraceRecorder&) = delete;

  // A transfer of `bytes` from `from` to `to`, already started (posted) by the caller.
  void comm(const simgrid::s4u::CommPtr& comm, const simgrid::s4u::Host* from, const simgrid::s4u::Host* to, uint64_t bytes);

  // Closes every span still open at the current simulated time (the end of the run), stops
  // recording, and returns the whole trace as JSON. Call once, while the engine still exists.
  std::string render();

  // Where the worker hosts' time went, over [0, the end of the run], once render() has run: each
  // instant of each worker host counts once, as down if the host is off, else compute if it
  // executes, else communication if it sends or receives, else idle. Fractions summing to 1.
  struct Breakdown {
    double compute = 0, communication = 0, idle = 0, down = 0;
  };
  const Breakdown& breakdown() const { return breakdown_; }

 private:
  struct State;
  std::shared_ptr<State> state_;
  Breakdown breakdown_;  // shared with the signal callbacks, which outlive this object
};

}  // namespace dipaco::sim

// The small messages between DiPaCo's scheduler, workers and executors, and their mailboxes.
// Results themselves never travel in messages: they stay in RunState::results, so a message
// lost with a failed host leaks a few bytes, not a path.
#pragma once

#include <simgrid/s4u/Mailbox.hpp>

#include "sim/failures/failure_cause.hpp"
#include "sim/platform/inbox.hpp"

#include <cstdint>
#include <string>

namespace dipaco::sim {

// Simulated size of a control message (requests, assignments, phase notices).
constexpr double kControlBytes = 1024.0;

struct ContributionMessage {  // worker -> module executor: one module of a finished task
  int task = 0, phase = 0, attempt = 0, worker = 0;
  bool dropped = false;  // lost on the way (communication drop): the executor discards it
  int epoch = 0;         // the module's epoch the task trained from (stale after a recovery)
  int64_t version = 0;   // asynchronous DiLoCo: the version of θ it trained from
  int steps = 0;         // asynchronous DiLoCo: its round's inner steps (Decoupled: since it last sent the fragment)
  int fragment = 0;      // Decoupled DiLoCo: the fragment it carries
};

struct SchedulerMessage {  // worker or executor -> scheduler
  enum Kind { Request, Closed, Recovered } kind = Request;
  int worker = -1, incarnation = 0;   // Request: who asks for work
  bool done = false;                  // Request: and the lease it has finished (or given up: `failed`)
  int task = -1, phase = 0, attempt = 0;
  int module = -1;                    // Closed: this module closed `phase`; Recovered: it restarted in it
  FailureCause failed = FailureCause::None;  // Request: why the lease could not run (ExecutorLost: its
                                            // modules were unreachable)
};

struct Assignment {  // scheduler -> worker
  int task = -1, phase = 0, attempt = 0, incarnation = 0;
  int64_t version = 0;  // asynchronous DiLoCo: the version of θ it carries
};

// The scheduler and the executors receive through an Inbox (sim/platform/inbox.hpp): a sender addresses
// the mailbox of its own datacentre.
inline const std::string kSchedulerInbox = "dipaco-scheduler";
inline std::string executor_inbox(int m) { return "dipaco-executor-" + std::to_string(m); }
inline simgrid::s4u::Mailbox* scheduler_mailbox(const simgrid::s4u::Host* from) { return Inbox::address(kSchedulerInbox, from); }
inline simgrid::s4u::Mailbox* worker_mailbox(int w) { return simgrid::s4u::Mailbox::by_name("dipaco-worker-" + std::to_string(w)); }
inline simgrid::s4u::Mailbox* executor_mailbox(int m, const simgrid::s4u::Host* from) { return Inbox::address(executor_inbox(m), from); }

}  // namespace dipaco::sim

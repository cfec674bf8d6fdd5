// The one transfer API: simulated messages and pulls that account for their bytes (those between
// datacentres count as WAN bytes) and register with the trace.
// Transfers that must survive link failures (links with a state profile in the platform) are
// issued again, all their bytes, after an exponential back-off (network.retry_*); a failure that
// is not a link's (the peer's host is off, its actor is gone) ends them as it always did.
#pragma once

#include <simgrid/Exception.hpp>
#include <simgrid/s4u/Actor.hpp>
#include <simgrid/s4u/Comm.hpp>
#include <simgrid/s4u/Host.hpp>
#include <simgrid/s4u/Mailbox.hpp>

#include <functional>
#include <string>
#include <vector>

#include "sim/run/run_context.hpp"

namespace dipaco::sim {

// Sends `payload` without waiting for it: `cleanup` frees it if no one ever receives it. Where the
// route can fail, a courier actor on this host carries it and retries after link failures.
void send_detached(RunContext& ctx, simgrid::s4u::Mailbox* to, simgrid::s4u::Host* receiver, void* payload, double bytes,
                   const std::function<void(void*)>& cleanup);

// A message the sender does not wait for, to a mailbox that only take() reads (a worker's, for
// its assignments). As send_detached; under network.coarse it shares a flow with its datacentre's
// (sim/platform/flow_groups.hpp) and is handed over without a SimGrid message of its own.
void post(RunContext& ctx, simgrid::s4u::Mailbox* to, simgrid::s4u::Host* receiver, void* payload, double bytes,
          const std::function<void(void*)>& cleanup);
// The next message post()ed to `box` from host `sender` (as receive(), below).
void* take(RunContext& ctx, simgrid::s4u::Mailbox* box, const simgrid::s4u::Host* sender);

// The first link of the route from `from` to `to` that is off now, or null.
const simgrid::s4u::Link* down_link(const simgrid::s4u::Host* from, const simgrid::s4u::Host* to);

// SimGrid's ~Comm prints a warning and a backtrace when the last reference to a communication still
// in flight goes (and resolving that backtrace's symbols costs 0.1 s). A killed actor's
// communications are cancelled by its cleanup, after its stack has unwound, so the references its
// stack held are kept until this is called, after Engine::run(): then they go silently. So are the
// messages of Transfer::orphan().
void release_comms_of_killed_actors();

// Every simulated transfer of the run: a message to a mailbox, or a bulk pull from host to host
// with no actor at the sending end (a worker pulling a module from its executor's host, a write to
// the checkpoint store). wait_all() issues it again after a link failure, unless it is told not to.
class Transfer {
 public:
  // Never: a link failure ends it at once, like a peer's failure (a checkpoint write that is simply
  // not saved, rather than one that holds its writer up until the link is back).
  enum class Retry { OnLinkFailure, Never };
  // A message to mailbox `to` (read on `receiver`) from this actor's host; `discard` frees the
  // payload if it is never delivered (none: the payload owns nothing).
  static Transfer message(RunContext& ctx, simgrid::s4u::Mailbox* to, simgrid::s4u::Host* receiver, void* payload, double bytes,
                          std::function<void(void*)> discard);
  static Transfer pull(RunContext& ctx, simgrid::s4u::Host* from, simgrid::s4u::Host* to, double bytes,
                       Retry retry = Retry::OnLinkFailure);

  Transfer(const Transfer&) = default;
  Transfer& operator=(const Transfer&) = default;
  Transfer(Transfer&&) noexcept = default;
  Transfer& operator=(Transfer&&) noexcept = default;
  // An actor killed at the end of the simulation (or by a failure) unwinds with its transfer still
  // in flight: the transfer is then kept until release_comms_of_killed_actors().
  ~Transfer();

  // Stops waiting for a message that is no longer needed: it arrives, or not, on its own (it is not
  // retried), and the run lets it go at the end (release_comms_of_killed_actors). Its payload must
  // own nothing (no `discard`). SimGrid has no safe way to take back a message sent to a mailbox:
  // cancelling one made SimGrid 3.32 crash later, in another communication's completion.
  void orphan();

  bool failed() const { return state_ == Failed; }
  FailureCause cause() const { return cause_; }    // why it failed for good (None: it did not)
  const std::string& why() const { return why_; }  // the same, in words, for error messages

 private:
  Transfer() = default;
  friend bool wait_all_until(RunContext& ctx, std::vector<Transfer>& transfers, double deadline);
  enum State { Running, BackingOff, Done, Failed };
  void attempt(RunContext& ctx);  // starts an attempt, unless the route is down
  void on_failure(RunContext& ctx);
  void give_up(RunContext& ctx, FailureCause cause, std::string why);

  simgrid::s4u::Host* from_ = nullptr;
  simgrid::s4u::Host* to_ = nullptr;
  double bytes_ = 0.0;
  std::function<simgrid::s4u::CommPtr()> start_;  // starts one attempt (counting its bytes)
  void* payload_ = nullptr;
  std::function<void(void*)> discard_;
  simgrid::s4u::CommPtr comm_;
  Retry retry_ = Retry::OnLinkFailure;
  State state_ = Running;
  int64_t failures_ = 0;
  double retry_at_ = 0.0, first_failure_at_ = 0.0;
  FailureCause cause_ = FailureCause::None;
  std::string why_;
};

// Waits until each transfer has arrived or failed for good, issuing again after its back-off each
// one that a link failure broke. Never throws a network failure: see Transfer::failed().
void wait_all(RunContext& ctx, std::vector<Transfer>& transfers);
// The same, but no later than simulated time `deadline`: false if some transfer is still pending then.
bool wait_all_until(RunContext& ctx, std::vector<Transfer>& transfers, double deadline);

// Sends one message and waits for it; throws simgrid::NetworkFailureException if it failed for good.
void send_and_wait(RunContext& ctx, simgrid::s4u::Mailbox* to, simgrid::s4u::Host* receiver, void* payload, double bytes,
                   std::function<void(void*)> discard);

// Receives a message sent from host `sender`, posting the receive again when a link failure broke
// the message on its way (its sender retries it); other failures propagate.
template <class T>
T* receive(simgrid::s4u::Mailbox* box, const simgrid::s4u::Host* sender) {
  while (true) {
    try {
      return box->get<T>();
    } catch (const simgrid::NetworkFailureException&) {
      if (!sender->is_on() || down_link(sender, simgrid::s4u::this_actor::get_host()) == nullptr) throw;
    }
  }
}

}  // namespace dipaco::sim

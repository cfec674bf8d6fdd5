// The receiving end of an actor that many hosts send to at once (the DiLoCo outer optimizer, a
// DiPaCo executor, the task scheduler). Two things SimGrid's plain mailboxes get wrong for it:
// - a send moves no byte until a receive is posted for it, so a receiver that posts one receive
//   at a time serialises the uploads of its k senders;
// - a permanent receiver (Mailbox::set_receiver) lets every send flow at once, but hands messages
//   over in the order they were sent: one still crossing the WAN holds back every later one that
//   has already arrived.
// So each datacentre sends on its own permanent mailbox: everything flows as soon as it is sent,
// and the receiver takes whichever datacentre's next message arrives first. Messages from one
// datacentre are taken in sending order; they share their route's latency, so that is their
// arrival order unless they are of different sizes or meet different contention on the way. A
// wait costs one posted receive per datacentre, not one per sender.
#pragma once

#include <simgrid/s4u/Actor.hpp>
#include <simgrid/s4u/Comm.hpp>
#include <simgrid/s4u/Host.hpp>
#include <simgrid/s4u/Mailbox.hpp>

#include <memory>
#include <string>
#include <vector>

namespace dipaco::sim {

class Inbox {
 public:
  // Listens, as the calling actor, on `name`'s mailbox for every datacentre of the platform.
  explicit Inbox(const std::string& name);
  // Makes `receiver` the permanent receiver of `name`'s mailboxes before the simulation starts (from
  // the deployment), so that what is sent at time 0 flows at once. Claimed from inside the actor
  // instead (one simcall per mailbox), a send that comes first joins the plain rendezvous queue, and
  // the receiver then takes those one at a time, each after the last has crossed its route: seen,
  // the first task requests of 4 096 workers reached the scheduler over 16 s instead of together.
  static void claim(const std::string& name, const simgrid::s4u::ActorPtr& receiver);
  ~Inbox();  // cancels the receives still posted
  Inbox(const Inbox&) = delete;
  Inbox& operator=(const Inbox&) = delete;

  // Where a sender on host `from` sends to the inbox `name`.
  static simgrid::s4u::Mailbox* address(const std::string& name, const simgrid::s4u::Host* from);
  // Whether `box` belongs to an inbox (has a permanent receiver: a send to it starts at once).
  // SimGrid's own Mailbox::get_receiver() dereferences null on other mailboxes.
  static bool listens_on(const simgrid::s4u::Mailbox* box);

  // The next message to arrive, or null once `timeout` seconds pass (negative: no limit). A
  // receive that a network failure broke (its sender's host died mid-message) is posted again and
  // the wait goes on.
  template <class T>
  std::unique_ptr<T> next(double timeout = -1.0) {
    return std::unique_ptr<T>(static_cast<T*>(next_payload(timeout)));
  }

 private:
  void* next_payload(double timeout);
  void post(size_t slot);

  std::vector<simgrid::s4u::Mailbox*> boxes_;  // one per datacentre
  std::vector<simgrid::s4u::CommPtr> comms_;
  std::vector<void*> payloads_;
};

}  // namespace dipaco::sim

// The coarse network mode (network.coarse: on): identical transfers that start together (within
// kJoinWindow) share one SimGrid flow. A group is
// - pulls from one host into one datacentre (a datacentre's workers fetching their modules),
// - messages from one datacentre to one host (their uploads to an executor, their task requests), or
// - posts from one host into one datacentre (the scheduler's assignments to its workers),
// all of the same size. The first member's flow carries every member's bytes, and once its latency
// is paid the group's actor multiplies its max-min weight by the member count, so it gets the share
// the k flows would get together and ends when each of them would (tests/sim/platform/
// flow_weight_test.cpp checks this on a hand case). The members wait on the group, not the flow;
// when it ends the actor wakes them, hands the other members' messages to their mailboxes on the
// receiving host (over that host's own link: a few microseconds later) and the posts to take().
//
// Why: SimGrid 3.32 re-solves every flow in flight at each event, and drops each detached message
// that ends from one global list by a linear search, so the exact mode's cost grows as workers
// squared (README "Performance"). Grouped, the flows grow with the datacentres instead.
//
// Where it is not exact: a late member starts up to kJoinWindow early; the group's flow runs
// through its first member's own host link, which then carries all k shares (no change while the
// group's bottleneck is one all members share, the source's NIC or a WAN uplink, as in the scale
// scenarios; slower where that host link is the narrowest). Host failures, link state or latency
// traces and the Streaming DiLoCo overlap are refused in this mode (check_coarse_scenario).
#pragma once

#include <simgrid/s4u/Comm.hpp>
#include <simgrid/s4u/Host.hpp>
#include <simgrid/s4u/Mailbox.hpp>

#include <map>
#include <memory>
#include <tuple>
#include <unordered_map>

namespace dipaco::sim {

class FlowGroups {
 public:
  // How long after a group's flow starts (and within half its route's latency, before the model
  // reads its weight) later members may still join it. A member that joins late starts up to this
  // much early. Why not 0: a group's first message arrives a few microseconds before its riders
  // (handed over after the flow ends), so what answers them starts microseconds apart too.
  static constexpr double kJoinWindow = 1e-3;

  // A bulk transfer from `from` to `to` with no actor at the sending end: a new flow, or the group's.
  simgrid::s4u::CommPtr pull(simgrid::s4u::Host* from, simgrid::s4u::Host* to, double bytes);
  // A message from this actor's host to mailbox `to`, read on `receiver`: the same.
  // `starts_at_once`: the mailbox has a permanent receiver (others are never grouped).
  simgrid::s4u::CommPtr message(simgrid::s4u::Mailbox* to, simgrid::s4u::Host* receiver, void* payload, double bytes,
                                bool starts_at_once);

  // A message whose sender does not wait for it (the scheduler's assignments) to a mailbox that only
  // take() reads: grouped like the others, and handed over when the group's flow ends without a
  // SimGrid message of its own. (SimGrid keeps every message nobody waits on in one global list,
  // which it scans to drop each one that ends: with one per worker and phase, workers squared.)
  void post(simgrid::s4u::Mailbox* to, simgrid::s4u::Host* receiver, void* payload, double bytes);
  // The next message post()ed to `box`, once it has arrived.
  void* take(simgrid::s4u::Mailbox* box);

  // Waits until `comm` (as returned above) has ended, at most `timeout` seconds (negative: no
  // limit); false if it has not. A group's members wait for the group's actor to wake them.
  bool wait(const simgrid::s4u::CommPtr& comm, double timeout);

  int64_t groups() const { return groups_; }    // flows that stood for more than one transfer
  int64_t members() const { return members_; }  // the transfers that joined them
  int64_t flows() const { return flows_; }      // flows started through this class

 struct Group;

 private:
  // Kind (pull, message, post), source side, destination side (a host or a datacentre), size.
  enum Kind { Pull, Message, Post };
  using Key = std::tuple<Kind, const void*, const void*, double>;
  std::shared_ptr<Group> join(const Key& key);  // the open group it joins, or null
  // Starts `comm` (from `from` to `receiver`) as a new flow, open to members if it pays a latency.
  simgrid::s4u::CommPtr lead(const Key& key, simgrid::s4u::CommPtr comm, double bytes, simgrid::s4u::Host* from,
                             simgrid::s4u::Host* receiver);
  const void* datacentre(const simgrid::s4u::Host* host);

  double clock_ = -1.0;  // when the open groups were last pruned
  std::map<Key, std::shared_ptr<Group>> open_;
  std::unordered_map<const simgrid::s4u::Host*, const void*> datacentre_;
  std::unordered_map<const simgrid::s4u::Comm*, std::shared_ptr<Group>> groups_of_;  // by flow, for wait()
  struct Queue;  // post()ed messages that have arrived, by mailbox
  std::unordered_map<const simgrid::s4u::Mailbox*, std::shared_ptr<Queue>> queues_;
  void hand_over(simgrid::s4u::Mailbox* box, void* payload);
  std::shared_ptr<Queue> queue(const simgrid::s4u::Mailbox* box);
  int64_t groups_ = 0, members_ = 0, flows_ = 0;
};

}  // namespace dipaco::sim

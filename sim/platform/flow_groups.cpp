#include "sim/platform/flow_groups.hpp"

#include <simgrid/Exception.hpp>
#include <simgrid/kernel/resource/Action.hpp>
#include <simgrid/kernel/resource/Model.hpp>
#include <simgrid/kernel/routing/NetZoneImpl.hpp>
#include <simgrid/s4u/Actor.hpp>
#include <simgrid/s4u/ConditionVariable.hpp>
#include <simgrid/s4u/Engine.hpp>
#include <simgrid/s4u/Link.hpp>
#include <simgrid/s4u/Mutex.hpp>
#include <simgrid/s4u/NetZone.hpp>

#include <algorithm>
#include <deque>
#include <functional>
#include <mutex>
#include <stdexcept>
#include <utility>
#include <vector>

#include "sim/platform/platform.hpp"

namespace dipaco::sim {
namespace s4u = simgrid::s4u;
using simgrid::kernel::resource::Action;

struct FlowGroups::Group {
  s4u::CommPtr comm;         // the first member's flow, which carries every member's bytes
  double bytes = 0.0;        // one member's
  int members = 1;
  Action* action = nullptr;  // its kernel action, once started
  double latency = 0.0;      // its route's: one member's sharing penalty under the analytic model
  double start = 0.0;
  s4u::Host* receiver = nullptr;
  double open_until = 0.0;  // members may join before this time (its latency is not paid yet)
  std::vector<std::pair<s4u::Mailbox*, void*>> riders;  // the other members' messages
  std::vector<std::pair<s4u::Mailbox*, void*>> posts;   // post()ed messages, the first member's too
  // Members wait here, not on the flow: SimGrid answers the waiters of an activity from a list it
  // scans once per waiter (k x k for k members), and of the sleep action it gives each waiter of a
  // communication it keeps only one to free. One actor (below) waits on the flow and wakes them all.
  s4u::MutexPtr mutex;  // made once the group is open: creating them is a simcall
  s4u::ConditionVariablePtr ended;
  bool done = false;
};

namespace {

// The kernel action of a flow that has started and not ended. s4u has no per-flow weight;
// NetworkModel's header is not installed, but it derives from Model first, so a NetworkModel* is a
// valid Model* address (as in tests/sim/platform/flow_weight_test.cpp). The newest actions are last;
// in this mode few flows are in flight, so a full scan stays short.
Action* action_of(const s4u::CommPtr& comm) {
  auto* model = reinterpret_cast<simgrid::kernel::resource::Model*>(
      s4u::Engine::get_instance()->get_netzone_root()->get_impl()->get_network_model().get());
  auto* started = model->get_started_action_set();
  for (auto it = started->rbegin(); it != started->rend(); ++it)
    if (it->get_activity() == comm->get_impl()) return &*it;
  throw std::logic_error("network.coarse: a shared flow's SimGrid action was not found");
}

// The latency of the route from `from` to `to`; a flow can lead a group only if it pays one: until
// it is paid, the analytic model gives it no share, so members can still join.
double route_latency(const s4u::Host* from, const s4u::Host* to) {
  if (from == to) return 0.0;
  std::vector<s4u::Link*> links;
  double latency = 0.0;
  from->route_to(to, links, &latency);
  return latency;
}

// The flow carries every member's bytes (its latency is not paid yet: it has moved nothing).
void settle(FlowGroups::Group& g) {
  if (g.action == nullptr) g.action = action_of(g.comm);
  g.action->set_remains(g.bytes * g.members);
}

// The group's own actor: once the flow's latency is paid, the analytic model weighs it 1 / latency,
// and a group's flow gets `members` times that, so it has the share its members would have
// together (set then, from an actor woken at that instant, exactly as
// tests/sim/platform/flow_weight_test.cpp does: before, the setter would start the flow moving
// early). Then it waits for the flow, wakes the members and hands the riders' messages over on the
// receiving host (over the host's own link: a few microseconds later).
void run_group(const std::shared_ptr<FlowGroups::Group>& g, std::function<void()> ended) {
  s4u::Actor::create("flow-group", g->receiver, [g, ended] {
    s4u::Actor::self()->daemonize();
    s4u::this_actor::sleep_until(g->start + g->latency);
    if (g->members > 1) g->action->set_sharing_penalty(g->latency / g->members);
    try {
      g->comm->wait();
    } catch (const simgrid::NetworkFailureException&) {
      // The run ended with the flow in flight (its first member's actor was killed): nothing to hand over.
      return;
    }
    {
      const std::unique_lock lock(*g->mutex);
      g->done = true;
      g->ended->notify_all();
    }
    ended();  // hands the posts over
    // Zero bytes over one route: they all end at the same instant. Wait for the last only: each
    // wait drops its message from this actor's list of activities by a linear search (k x k).
    std::vector<s4u::CommPtr> puts;
    for (const auto& [box, p] : g->riders) puts.push_back(box->put_async(p, 0));
    if (!puts.empty()) puts.back()->wait();
  });
}

}  // namespace

const void* FlowGroups::datacentre(const s4u::Host* host) {
  auto it = datacentre_.find(host);
  if (it != datacentre_.end()) return it->second;
  return datacentre_[host] = datacentre_zone(host);  // the zone's address names the datacentre
}

std::shared_ptr<FlowGroups::Group> FlowGroups::join(const Key& key) {
  const double now = s4u::Engine::get_clock();
  if (now != clock_) {  // a new instant: close the groups whose window has passed
    for (auto it = open_.begin(); it != open_.end();) it = it->second->open_until <= now ? open_.erase(it) : std::next(it);
    clock_ = now;
  }
  auto it = open_.find(key);
  if (it == open_.end()) return nullptr;
  auto g = it->second;
  if (g->members == 1) ++groups_;
  ++members_;
  ++g->members;
  // Starting a flow is a simcall: the first member may not be back from it yet (time does not pass).
  while (g->comm->get_state() != s4u::Activity::State::STARTED) s4u::this_actor::yield();
  settle(*g);
  return g;
}

s4u::CommPtr FlowGroups::lead(const Key& key, s4u::CommPtr comm, double bytes, s4u::Host* from, s4u::Host* receiver) {
  std::shared_ptr<Group> g;
  // Open before starting it (and before any simcall): members that come meanwhile join it. Later
  // ones join while it still pays its latency, within kJoinWindow of its start: they start up to
  // that much early.
  const double latency = bytes > 0 ? route_latency(from, receiver) : 0.0;
  if (latency > 0) {
    g = std::make_shared<Group>();
    g->comm = comm;
    g->bytes = bytes;
    g->receiver = receiver;
    g->latency = latency;
    g->start = s4u::Engine::get_clock();
    // Strictly inside the latency: at its very end the model may already have read the penalty.
    g->open_until = s4u::Engine::get_clock() + std::min(kJoinWindow, 0.5 * latency);
    open_[key] = g;
    g->mutex = s4u::Mutex::create();
    g->ended = s4u::ConditionVariable::create();
  }
  comm->start();
  ++flows_;
  if (g) {
    settle(*g);
    groups_of_[comm.get()] = g;
    // Forgotten once over: a later flow may reuse the address (its members find the flow ended).
    run_group(g, [this, c = comm.get(), g] {
      groups_of_.erase(c);
      for (const auto& [box, p] : g->posts) hand_over(box, p);
    });
  }
  return comm;
}

s4u::CommPtr FlowGroups::pull(s4u::Host* from, s4u::Host* to, double bytes) {
  const Key key{Pull, from, datacentre(to), bytes};
  if (auto g = join(key)) return g->comm;
  auto comm = s4u::Comm::sendto_init(from, to);
  comm->set_payload_size(static_cast<uint64_t>(bytes));
  return lead(key, comm, bytes, from, to);
}

s4u::CommPtr FlowGroups::message(s4u::Mailbox* to, s4u::Host* receiver, void* payload, double bytes, bool starts_at_once) {
  auto* here = s4u::this_actor::get_host();
  // A message starts moving only once its receiver takes it, unless the mailbox has a permanent
  // receiver (sim/platform/inbox.hpp): only then is there a flow to share.
  if (!starts_at_once) {
    ++flows_;
    return to->put_async(payload, static_cast<uint64_t>(bytes));
  }
  const Key key{Message, datacentre(here), receiver, bytes};
  if (auto g = join(key)) {
    g->riders.emplace_back(to, payload);
    return g->comm;
  }
  return lead(key, to->put_init(payload, static_cast<uint64_t>(bytes)), bytes, here, receiver);
}

struct FlowGroups::Queue {
  std::deque<void*> items;
  s4u::MutexPtr mutex;  // made by the first take(): creating them is a simcall
  s4u::ConditionVariablePtr arrived;
};

std::shared_ptr<FlowGroups::Queue> FlowGroups::queue(const s4u::Mailbox* box) {
  auto& q = queues_[box];
  if (!q) q = std::make_shared<Queue>();
  return q;
}

void FlowGroups::hand_over(s4u::Mailbox* box, void* payload) {
  const auto q = queue(box);
  q->items.push_back(payload);
  if (q->arrived) q->arrived->notify_all();  // else its reader has not come yet: it finds the item
}

void FlowGroups::post(s4u::Mailbox* to, s4u::Host* receiver, void* payload, double bytes) {
  auto* here = s4u::this_actor::get_host();
  const Key key{Post, here, datacentre(receiver), bytes};
  if (auto g = join(key)) {
    g->posts.emplace_back(to, payload);
    return;
  }
  auto comm = s4u::Comm::sendto_init(here, receiver);
  comm->set_payload_size(static_cast<uint64_t>(bytes));
  lead(key, comm, bytes, here, receiver);
  const auto g = groups_of_.find(comm.get());
  if (g == groups_of_.end()) {  // no latency to pay (its own host): there at once
    hand_over(to, payload);
    return;
  }
  g->second->posts.emplace_back(to, payload);
}

void* FlowGroups::take(s4u::Mailbox* box) {
  const auto q = queue(box);  // held: the map may grow while this actor waits
  if (!q->mutex) {
    q->mutex = s4u::Mutex::create();
    q->arrived = s4u::ConditionVariable::create();
  }
  std::unique_lock lock(*q->mutex);
  while (q->items.empty()) q->arrived->wait(lock);
  void* p = q->items.front();
  q->items.pop_front();
  return p;
}

bool FlowGroups::wait(const s4u::CommPtr& comm, double timeout) {
  const auto it = groups_of_.find(comm.get());
  if (it == groups_of_.end()) {  // not a group's (or its group is over): wait on the flow itself
    try {
      comm->wait_for(timeout);
      return true;
    } catch (const simgrid::TimeoutException&) {
      return false;
    }
  }
  const auto g = it->second;
  const double deadline = timeout < 0 ? -1.0 : s4u::Engine::get_clock() + timeout;
  std::unique_lock lock(*g->mutex);
  while (!g->done) {
    if (deadline < 0) g->ended->wait(lock);
    else if (g->ended->wait_until(lock, deadline) == std::cv_status::timeout && !g->done) return false;
  }
  return true;
}

}  // namespace dipaco::sim

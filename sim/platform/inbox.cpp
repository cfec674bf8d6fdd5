#include "sim/platform/inbox.hpp"

#include <simgrid/Exception.hpp>
#include <simgrid/s4u/Actor.hpp>
#include <simgrid/s4u/Engine.hpp>

#include <algorithm>
#include <exception>
#include <set>

#include "sim/platform/platform.hpp"

namespace dipaco::sim {
namespace s4u = simgrid::s4u;

namespace {
std::set<const s4u::Mailbox*>& inbox_mailboxes() {  // one simulation per process
  static std::set<const s4u::Mailbox*> boxes;
  return boxes;
}
}  // namespace

bool Inbox::listens_on(const s4u::Mailbox* box) { return inbox_mailboxes().count(box) > 0; }

s4u::Mailbox* Inbox::address(const std::string& name, const s4u::Host* from) {
  return s4u::Mailbox::by_name(name + "@" + datacentre_of(from));
}

namespace {
// `name`'s mailbox for every datacentre of the platform, each with `receiver` as its permanent receiver.
std::vector<s4u::Mailbox*> listen(const std::string& name, const s4u::ActorPtr& receiver) {
  std::set<std::string> datacentres;
  for (const auto* h : s4u::Engine::get_instance()->get_all_hosts()) datacentres.insert(datacentre_of(h));
  std::vector<s4u::Mailbox*> boxes;
  for (const auto& dc : datacentres) {
    boxes.push_back(s4u::Mailbox::by_name(name + "@" + dc));
    boxes.back()->set_receiver(receiver);
    inbox_mailboxes().insert(boxes.back());
  }
  return boxes;
}
}  // namespace

void Inbox::claim(const std::string& name, const s4u::ActorPtr& receiver) { listen(name, receiver); }

Inbox::Inbox(const std::string& name) {
  boxes_ = listen(name, s4u::Actor::self());
  comms_.resize(boxes_.size());
  payloads_.assign(boxes_.size(), nullptr);
  for (size_t i = 0; i < boxes_.size(); ++i) post(i);
}

Inbox::~Inbox() {
  if (std::uncaught_exceptions() > 0) return;  // the actor is being killed: no more simcalls
  for (auto& c : comms_)
    if (c && c->get_state() != s4u::Activity::State::FINISHED) c->cancel();
}

void Inbox::post(size_t slot) { comms_[slot] = boxes_[slot]->get_async<void>(&payloads_[slot]); }

void* Inbox::next_payload(double timeout) {
  const double deadline = timeout < 0 ? -1.0 : s4u::Engine::get_clock() + timeout;
  while (true) {
    const double left = deadline < 0 ? -1.0 : std::max(0.0, deadline - s4u::Engine::get_clock());
    ssize_t got = -1;
    try {
      got = s4u::Comm::wait_any_for(comms_, left);
    } catch (const simgrid::NetworkFailureException&) {
      for (size_t i = 0; i < comms_.size(); ++i)
        if (comms_[i]->get_state() == s4u::Activity::State::FAILED) post(i);
      continue;
    }
    if (got < 0) return nullptr;
    const auto slot = static_cast<size_t>(got);
    void* payload = payloads_[slot];
    post(slot);
    return payload;
  }
}

}  // namespace dipaco::sim

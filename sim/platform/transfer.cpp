#include "sim/platform/transfer.hpp"

#include <fmt/format.h>
#include <simgrid/Exception.hpp>
#include <simgrid/s4u/Engine.hpp>
#include <simgrid/s4u/Link.hpp>

#include <algorithm>
#include <cmath>
#include <exception>
#include <limits>
#include <stdexcept>

#include "sim/run/actor_guard.hpp"
#include "sim/platform/flow_groups.hpp"
#include "sim/platform/inbox.hpp"
#include "sim/platform/platform.hpp"
#include "sim/trace/trace_recorder.hpp"

namespace dipaco::sim {
namespace s4u = simgrid::s4u;

namespace {
bool crosses_wan(const s4u::Host* from, const s4u::Host* to) { return datacentre_of(from) != datacentre_of(to); }

void count(RunContext& ctx, const s4u::Host* from, const s4u::Host* to, double bytes) {
  ctx.total_bytes += bytes;
  if (crosses_wan(from, to)) ctx.wan_bytes += bytes;
}

std::vector<s4u::Link*> route(const s4u::Host* from, const s4u::Host* to) {
  std::vector<s4u::Link*> links;
  double latency = 0.0;
  from->route_to(to, links, &latency);
  return links;
}

// True if a link of the route has a state profile (it may go down while a message is on its way).
bool route_can_fail(const RunContext& ctx, const s4u::Host* from, const s4u::Host* to) {
  if (ctx.failing_links.empty()) return false;
  for (const auto* l : route(from, to))
    for (const auto& f : ctx.failing_links)
      if (f.first == l) return true;
  return false;
}

double down_for_good_at(const RunContext& ctx, const s4u::Link* link) {
  for (const auto& f : ctx.failing_links)
    if (f.first == link) return f.second;
  return std::numeric_limits<double>::infinity();
}

// Registers the transfer with the trace timeline, if one is recorded (sim/trace/trace_recorder.hpp says
// why transfers are registered here rather than picked up from a SimGrid signal).
s4u::CommPtr traced(RunContext& ctx, s4u::CommPtr comm, const s4u::Host* from, const s4u::Host* to, double bytes) {
  if (ctx.trace) ctx.trace->comm(comm, from, to, static_cast<uint64_t>(bytes));
  return comm;
}
}  // namespace

namespace {
// A send to a mailbox with a permanent receiver (sim/platform/inbox.hpp) starts at once, and SimGrid
// asserts (aborts) when the receiver's host is off: that message can only fail.
bool receiver_is_off(const s4u::Mailbox* to, const s4u::Host* receiver) { return !receiver->is_on() && Inbox::listens_on(to); }
}  // namespace

namespace {
// Starts sending `payload` (simulated size `bytes`) to `to`, which `receiver` listens on.
s4u::CommPtr send_async(RunContext& ctx, s4u::Mailbox* to, s4u::Host* receiver, void* payload, double bytes) {
  if (receiver_is_off(to, receiver))
    throw simgrid::NetworkFailureException(XBT_THROW_POINT, "message to " + receiver->get_name() + ": its host is off");
  count(ctx, s4u::this_actor::get_host(), receiver, bytes);
  auto comm = ctx.flow_groups ? ctx.flow_groups->message(to, receiver, payload, bytes, Inbox::listens_on(to)) : to->put_async(payload, static_cast<uint64_t>(bytes));
  return traced(ctx, comm, s4u::this_actor::get_host(), receiver, bytes);
}

// Starts a bulk transfer from `from` to `to` with no actor at the sending end.
s4u::CommPtr pull_async(RunContext& ctx, s4u::Host* from, s4u::Host* to, double bytes) {
  // SimGrid asserts (aborts) on a transfer from a host that is off: fail it the way a transfer
  // whose host dies midway fails.
  if (!from->is_on() || !to->is_on())
    throw simgrid::NetworkFailureException(XBT_THROW_POINT, "transfer from " + from->get_name() + " to " + to->get_name() + ": a host is off");
  count(ctx, from, to, bytes);
  auto comm = ctx.flow_groups ? ctx.flow_groups->pull(from, to, bytes) : s4u::Comm::sendto_async(from, to, static_cast<uint64_t>(bytes));
  return traced(ctx, comm, from, to, bytes);
}

}  // namespace

void send_detached(RunContext& ctx, s4u::Mailbox* to, s4u::Host* receiver, void* payload, double bytes,
                   const std::function<void(void*)>& cleanup) {
  auto* here = s4u::this_actor::get_host();
  if (receiver_is_off(to, receiver)) {  // lost with the receiver's host, as if it had died mid-message
    cleanup(payload);
    return;
  }
  if (!route_can_fail(ctx, here, receiver)) {
    count(ctx, here, receiver, bytes);
    auto comm = to->put_init(payload, static_cast<uint64_t>(bytes));
    comm->detach(cleanup);
    traced(ctx, comm, here, receiver, bytes);
    return;
  }
  // The sender must not wait, and a detached message lost to a link failure would be lost for
  // good: a daemon courier on this host carries it (and dies with the run or with the host).
  s4u::Actor::create("courier", here, [&ctx, to, receiver, payload, bytes, cleanup] {
    s4u::Actor::self()->daemonize();
    guarded(ctx, "courier", [&] {
      std::vector<Transfer> one{Transfer::message(ctx, to, receiver, payload, bytes, cleanup)};
      wait_all(ctx, one);
    });
  });
}

void post(RunContext& ctx, s4u::Mailbox* to, s4u::Host* receiver, void* payload, double bytes, const std::function<void(void*)>& cleanup) {
  if (ctx.flow_groups == nullptr) {
    send_detached(ctx, to, receiver, payload, bytes, cleanup);
    return;
  }
  auto* here = s4u::this_actor::get_host();
  count(ctx, here, receiver, bytes);
  ctx.flow_groups->post(to, receiver, payload, bytes);  // network.coarse: no failures, no trace of it
}

void* take(RunContext& ctx, s4u::Mailbox* box, const s4u::Host* sender) {
  return ctx.flow_groups != nullptr ? ctx.flow_groups->take(box) : receive<void>(box, sender);
}

const s4u::Link* down_link(const s4u::Host* from, const s4u::Host* to) {
  for (const auto* l : route(from, to))
    if (!l->is_on()) return l;
  return nullptr;
}

// ---------------------------------------------------------------- retried transfers

namespace {
std::vector<s4u::CommPtr>& comms_of_killed_actors() {
  static std::vector<s4u::CommPtr> comms;
  return comms;
}
std::vector<s4u::CommPtr>& orphans() {
  static std::vector<s4u::CommPtr> all;
  return all;
}
}  // namespace

Transfer::~Transfer() {
  if (comm_ && std::uncaught_exceptions() > 0) comms_of_killed_actors().push_back(std::move(comm_));
}

void release_comms_of_killed_actors() {
  comms_of_killed_actors().clear();
  orphans().clear();
}

Transfer Transfer::message(RunContext& ctx, s4u::Mailbox* to, s4u::Host* receiver, void* payload, double bytes,
                           std::function<void(void*)> discard) {
  Transfer t;
  t.from_ = s4u::this_actor::get_host();
  t.to_ = receiver;
  t.bytes_ = bytes;
  t.payload_ = payload;
  t.discard_ = std::move(discard);
  // A put that failed was never received: sending the same payload again delivers it once.
  t.start_ = [&ctx, to, receiver, payload, bytes] { return send_async(ctx, to, receiver, payload, bytes); };
  t.attempt(ctx);
  return t;
}

Transfer Transfer::pull(RunContext& ctx, s4u::Host* from, s4u::Host* to, double bytes, Retry retry) {
  Transfer t;
  t.retry_ = retry;
  t.from_ = from;
  t.to_ = to;
  t.bytes_ = bytes;
  t.start_ = [&ctx, from, to, bytes] { return pull_async(ctx, from, to, bytes); };
  t.attempt(ctx);
  return t;
}

void Transfer::attempt(RunContext& ctx) {
  if (failures_ > 0) ++ctx.link_retries;
  // SimGrid fails a transfer that starts on a down link at once, before a byte goes out: do not
  // start it (nor count its bytes), and back off again.
  if (down_link(from_, to_) != nullptr) {
    on_failure(ctx);
    return;
  }
  try {
    comm_ = start_();
  } catch (const simgrid::NetworkFailureException&) {  // an end's host is off: it cannot start
    comm_ = nullptr;
    on_failure(ctx);
    return;
  }
  state_ = Running;
}

void Transfer::give_up(RunContext& ctx, FailureCause cause, std::string why) {
  ctx.count_failure(cause);
  cause_ = cause;
  comm_ = nullptr;
  state_ = Failed;
  why_ = std::move(why);
  if (payload_ != nullptr && discard_) discard_(payload_);  // the receiver never got it
  payload_ = nullptr;
}

void Transfer::on_failure(RunContext& ctx) {
  const double now = s4u::Engine::get_clock();
  const s4u::Link* link = from_->is_on() && to_->is_on() ? down_link(from_, to_) : nullptr;
  if (link == nullptr) {  // the peer failed, not the network: as before retries existed
    give_up(ctx, FailureCause::HostDown, fmt::format("transfer from {} to {} failed: its peer is gone", from_->get_name(), to_->get_name()));
    return;
  }
  if (retry_ == Retry::Never) {
    give_up(ctx, FailureCause::LinkDown, fmt::format("transfer from {} to {} failed: link {} is down", from_->get_name(), to_->get_name(), link->get_name()));
    return;
  }
  if (failures_++ == 0) first_failure_at_ = now;
  ++ctx.link_failures;
  if (comm_) {  // broken in flight: its bytes (counted when it started) are sent again in full
    ctx.wasted_bytes += bytes_;
    if (crosses_wan(from_, to_)) ctx.wasted_wan_bytes += bytes_;
  }
  const auto& s = ctx.scenario;
  const double for_good = down_for_good_at(ctx, link);
  std::string reason;
  FailureCause cause = FailureCause::LinkDown;
  if (failures_ > s.retry.limit)
    reason = fmt::format("{} link failure(s) (network.retry_limit is {})", failures_, s.retry.limit);
  else if (for_good <= now)
    reason = fmt::format("link {} is down for good since t = {:.0f} s (its state profile ends off)", link->get_name(), for_good);
  else if (now - first_failure_at_ > s.failures.stall_s) {
    cause = FailureCause::Timeout;
    reason = fmt::format("it has failed for {:.1f} h (failures.stall_hours is {:g})", (now - first_failure_at_) / 3600.0,
                         s.failures.stall_s / 3600.0);
  }
  if (!reason.empty()) {
    const auto what = fmt::format("transfer of {:.0f} bytes from {} to {} given up at t = {:.0f} s: {}", bytes_, from_->get_name(),
                                  to_->get_name(), now, reason);
    ++ctx.abandoned_transfers;
    if (ctx.first_abandoned.empty()) ctx.first_abandoned = what;
    give_up(ctx, cause, what);
    return;
  }
  // Exponential back-off, capped: bounded events while a link stays down.
  const double backoff = std::min(s.retry.max_s, s.retry.initial_s * std::pow(2.0, static_cast<double>(std::min<int64_t>(failures_ - 1, 60))));
  comm_ = nullptr;
  state_ = BackingOff;
  retry_at_ = now + backoff;
}

void Transfer::orphan() {
  // Whether it arrives is unknown here (its receiver may take it later), so its payload must own
  // nothing: only payloads without a discard function may be orphaned.
  if (discard_) throw std::logic_error("Transfer::orphan: a payload that owns memory cannot be orphaned");
  if (comm_) orphans().push_back(std::move(comm_));
  comm_ = nullptr;
  payload_ = nullptr;
  state_ = Done;
}

void wait_all(RunContext& ctx, std::vector<Transfer>& transfers) {
  wait_all_until(ctx, transfers, std::numeric_limits<double>::infinity());
}

bool wait_all_until(RunContext& ctx, std::vector<Transfer>& transfers, double deadline) {
  while (true) {
    const double now = s4u::Engine::get_clock();
    std::vector<s4u::CommPtr> running;
    double next_retry = std::numeric_limits<double>::infinity();
    for (size_t i = 0; i < transfers.size(); ++i) {
      auto& t = transfers[i];
      if (t.state_ == Transfer::BackingOff && t.retry_at_ <= now) t.attempt(ctx);
      if (t.state_ == Transfer::Running) {
        // network.coarse: transfers of one group share a flow; wait on it once (each waiter is one
        // more entry that SimGrid scans when the flow ends).
        if (std::find(running.begin(), running.end(), t.comm_) != running.end()) continue;
        running.push_back(t.comm_);
      } else if (t.state_ == Transfer::BackingOff) {
        next_retry = std::min(next_retry, t.retry_at_);
      }
    }
    if (running.empty()) {
      if (!std::isfinite(next_retry)) return true;
      if (now >= deadline) return false;
      s4u::this_actor::sleep_until(std::min(next_retry, deadline));
      continue;
    }
    if (now >= deadline) return false;
    // Wait for any, not each in turn: a failure is judged (is a link down?) when it happens.
    const double until = std::min(next_retry, deadline);
    try {
      const double timeout = std::isfinite(until) ? until - now : -1.0;
      ssize_t got = -1;
      if (ctx.flow_groups != nullptr) {
        // network.coarse has no failures to judge: wait for each in turn (sim/platform/flow_groups.hpp
        // says why members do not wait on the shared flow itself).
        if (ctx.flow_groups->wait(running.front(), timeout)) got = 0;
      } else {
        got = s4u::Comm::wait_any_for(running, timeout);
      }
      if (got >= 0) {
        const auto done = running[static_cast<size_t>(got)];
        for (auto& t : transfers)
          if (t.state_ == Transfer::Running && t.comm_ == done) {
            t.state_ = Transfer::Done;
            t.comm_ = nullptr;
            t.payload_ = nullptr;  // the receiver owns it now
          }
      }
    } catch (const simgrid::NetworkFailureException&) {
      bool seen = false;
      for (const auto& comm : running) {
        if (comm->get_state() != s4u::Activity::State::FAILED) continue;
        for (auto& t : transfers)
          if (t.state_ == Transfer::Running && t.comm_ == comm) t.on_failure(ctx);
        seen = true;
      }
      if (!seen) throw;  // not one of ours: never expected, but never loop on it
    }
  }
}

void send_and_wait(RunContext& ctx, s4u::Mailbox* to, s4u::Host* receiver, void* payload, double bytes,
                   std::function<void(void*)> discard) {
  std::vector<Transfer> one{Transfer::message(ctx, to, receiver, payload, bytes, std::move(discard))};
  wait_all(ctx, one);
  if (one.front().failed()) throw simgrid::NetworkFailureException(XBT_THROW_POINT, one.front().why());
}

}  // namespace dipaco::sim

// Decoupled DiLoCo's synchroniser (AlgorithmPolicy::decoupled; sim/scenario/scenario.hpp:
// DecoupledSpec), on placement.outer. It keeps each learner's latest outer gradient per fragment;
// once a quorum of learners have one for a fragment, it waits out the grace window (or for every
// learner), merges them weighted by the inner steps (tokens) each stands for, takes the fragment's
// outer step and sends the fragment back to those learners, each by a courier actor, without
// waiting for them. The run ends after learners × outer_steps × F outer gradients have arrived;
// those still pending then are merged too.
#include <simgrid/s4u/Actor.hpp>
#include <simgrid/s4u/Engine.hpp>

#include <algorithm>
#include <cmath>
#include <limits>
#include <memory>

#include "engine/modules/quantize.hpp"
#include "sim/algorithms/executor.hpp"
#include "sim/algorithms/messages.hpp"
#include "sim/platform/inbox.hpp"
#include "sim/platform/transfer.hpp"
#include "sim/run/actor_guard.hpp"

namespace dipaco::sim {
namespace s4u = simgrid::s4u;

namespace {

// The merged fragment's way back to learner `task` on `worker`'s host. It is mixed in only by the
// life of the learner that sent the outer gradient (a later life started from θ as it was then).
void deliver(RunContext& ctx, RunState& state, int task, std::pair<int, int> holder, int fragment, RunState::Decoupled::Anchor anchor) {
  auto* here = s4u::this_actor::get_host();
  auto* to = ctx.worker_hosts[static_cast<size_t>(holder.first)];
  s4u::Actor::create("decoupled-fragment-" + std::to_string(task), here, [&ctx, &state, task, holder, fragment, anchor, here, to] {
    guarded(ctx, "decoupled fragment to learner " + std::to_string(task), [&] {
      s4u::Actor::self()->daemonize();  // one still travelling when the run ends is dropped
      std::vector<Transfer> down{Transfer::pull(ctx, here, to, state.decoupled.fragment_bytes[static_cast<size_t>(fragment)])};
      wait_all(ctx, down);
      if (down.front().failed() || state.replica_holder[static_cast<size_t>(task)] != holder) return;
      if (state.incarnation[static_cast<size_t>(holder.first)] != holder.second) return;
      state.decoupled.delivered[static_cast<size_t>(task)].push_back({fragment, anchor});
    });
  });
}

}  // namespace

void Executor::merge_fragment(int fragment) {
  const auto& s = ctx_.scenario;
  auto& dc = state_.decoupled;
  auto& as = state_.async;
  const auto f = static_cast<size_t>(fragment);
  auto& pending = dc.pending[f];
  if (ctx_.training) {
    // Δ = Σ w_i (base_i − θ_i) / Σ w_i on each of the fragment's modules, each learner's as the
    // synchroniser decodes it (communication.outer_gradient); then the module's outer step.
    double total = 0.0;
    for (const auto& [task, e] : pending) total += e.steps;
    for (int m : dc.fragment_modules[f]) {
      const int segment = state_.structure.segment_of_module(m);
      engine::ParamVector delta;
      for (const auto& [task, e] : pending) {
        const auto d = engine::outer_gradient_as_sent(state_.layout->extract(*e.base, segment),
                                                      state_.layout->extract(e.job.get().params, segment), s.communication.outer_gradient);
        if (delta.empty()) delta.assign(d.size(), 0.0F);
        const auto w = static_cast<float>(e.steps / total);
        for (size_t i = 0; i < d.size(); ++i) delta[i] += w * d[i];
      }
      state_.store->apply_outer_gradient(m, delta, 1);
    }
  }
  const int64_t version = ++dc.version[f];
  ++dc.merges;
  as.latest = {dc.merges, ctx_.training ? std::make_shared<const engine::ParamVector>(state_.store->compose(0)) : nullptr};
  const double now = s4u::Engine::get_clock();
  for (const auto& [task, e] : pending) {
    const int64_t staleness = version - 1 - e.anchor_version;
    as.updates.push_back({now, version, e.anchor_version, task, e.worker, e.steps, fragment});
    as.staleness_sum += staleness;
    as.staleness_max = std::max(as.staleness_max, staleness);
    as.row_staleness += staleness;
    ++as.row_updates;
    ++dc.merged;
    const auto holder = state_.replica_holder[static_cast<size_t>(task)];
    dc.merged_in_flight[static_cast<size_t>(task)][f] = {holder, e.anchor_version, e.job};
    deliver(ctx_, state_, task, holder, fragment, {version, as.latest.theta});
  }
  pending.clear();
  dc.quorum_since[f] = -1.0;
}

void Executor::run_decoupled() {
  const auto& s = ctx_.scenario;
  auto& as = state_.async;
  auto& dc = state_.decoupled;
  const size_t learners = state_.tasks.size();
  const size_t quorum = decoupled_quorum(s.decoupled.quorum, learners);
  const auto F = static_cast<int>(dc.pending.size());
  const auto per_round = static_cast<int64_t>(learners) * F;  // synchronous DiLoCo's round, in outer gradients
  const auto per_row = per_round * s.algorithm.eval_every;
  s4u::this_actor::sleep_until(ctx_.start_time);
  record_phase(ctx_, state_, 0);  // the initial model
  Inbox inbox(executor_inbox(0));
  while (as.applied < as.total) {
    // Wake for the next message, or when the first open grace window ends.
    double wake = std::numeric_limits<double>::infinity();
    for (int p = 0; p < F; ++p)
      if (dc.quorum_since[static_cast<size_t>(p)] >= 0) wake = std::min(wake, dc.quorum_since[static_cast<size_t>(p)] + s.decoupled.grace_s);
    const double now = s4u::Engine::get_clock();
    auto msg = inbox.next<ContributionMessage>(std::isfinite(wake) ? std::max(0.0, wake - now) : -1.0);
    if (msg) {
      const auto key = std::make_tuple(msg->task, msg->phase, msg->attempt);
      const auto result = state_.results.find(key);
      if (result == state_.results.end()) continue;  // not one of this run's phases (cannot happen; be safe)
      const auto t = static_cast<size_t>(msg->task);
      const auto f = static_cast<size_t>(msg->fragment);
      auto& pending = dc.pending[f];
      RunState::Decoupled::Pending e{result->second.job, result->second.base, msg->version, msg->worker, msg->steps};
      // Its last merged outer gradient of this fragment had not come back to it when it sent this
      // one (same life, same anchor): this one is then a difference from the parameters it sent then.
      const auto& in_flight = dc.merged_in_flight[t][f];
      if (ctx_.training && in_flight.job.valid() && in_flight.holder == state_.replica_holder[t] && in_flight.anchor_version == msg->version)
        e.base = std::make_shared<const engine::ParamVector>(in_flight.job.get().params);
      const auto older = pending.find(msg->task);
      if (older != pending.end()) {  // not merged yet: this one supersedes it, and stands for its steps too
        e.steps += older->second.steps;
        ++dc.replaced;
      }
      pending[msg->task] = std::move(e);
      state_.results.erase(result);
      if (ctx_.training) {
        const auto& r = pending[msg->task].job.get();
        const double w = state_.tasks[t].weight;
        as.row_loss += w * r.mean_loss;
        as.row_weight += w;
      }
      ++as.applied;
      ++ctx_.synchronisations;
      as.all_steps += phase_steps(s);
      if (pending.size() >= quorum && dc.quorum_since[f] < 0) dc.quorum_since[f] = s4u::Engine::get_clock();
    }
    const bool last = as.applied >= as.total;  // the budget is spent: merge what is pending
    for (int p = 0; p < F; ++p) {
      const auto f = static_cast<size_t>(p);
      const auto n = dc.pending[f].size();
      if (n > 0 && (last || decoupled_merge_due(n, quorum, learners, s4u::Engine::get_clock(), dc.quorum_since[f], s.decoupled.grace_s)))
        merge_fragment(p);
    }
    // A row every eval_every rounds' worth of outer gradients (learners × F each), and after the last.
    if (msg && (as.applied % per_row == 0 || last)) {
      const auto loss = as.row_weight > 0 ? std::optional<double>(as.row_loss / as.row_weight) : std::nullopt;
      // Its step is in phases, as Streaming DiLoCo's: one outer gradient per learner each.
      ctx_.record(static_cast<int>((as.applied + static_cast<int64_t>(learners) - 1) / static_cast<int64_t>(learners)), loss, as.latest.theta, as.all_steps,
                  as.row_updates > 0 ? static_cast<double>(as.row_staleness) / static_cast<double>(as.row_updates) : 0.0);
      as.row_loss = as.row_weight = 0.0;
      as.row_staleness = as.row_updates = 0;
    }
  }
  state_.finished = true;
}

}  // namespace dipaco::sim

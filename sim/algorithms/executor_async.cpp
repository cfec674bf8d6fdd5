// The outer optimizer of asynchronous DiLoCo (AlgorithmPolicy::Exchange::Async): it applies each
// replica's outer gradient as it arrives (async.delay: Delayed Nesterov), sets the result as that
// replica's next θ, and ends the run after workers × outer_steps of them. Staleness is the number
// of outer gradients applied between the θ a round trained from and its own.
#include <simgrid/s4u/Actor.hpp>
#include <simgrid/s4u/Engine.hpp>

#include <algorithm>
#include <memory>

#include "engine/modules/quantize.hpp"
#include "sim/algorithms/executor.hpp"
#include "sim/algorithms/messages.hpp"
#include "sim/platform/inbox.hpp"

namespace dipaco::sim {
namespace s4u = simgrid::s4u;

void Executor::run_async() {
  const auto& s = ctx_.scenario;
  auto& as = state_.async;
  const auto k = static_cast<int64_t>(state_.tasks.size());
  s4u::this_actor::sleep_until(ctx_.start_time);
  record_phase(ctx_, state_, 0);  // the initial model
  Inbox inbox(executor_inbox(module_));
  while (as.applied < as.total) {
    auto msg = inbox.next<ContributionMessage>();
    const auto key = std::make_tuple(msg->task, msg->phase, msg->attempt);
    const auto result = state_.results.find(key);
    if (result == state_.results.end()) continue;  // not one of this run's rounds (cannot happen; be safe)
    const int64_t staleness = as.applied - msg->version;
    if (ctx_.training) {
      // Δ = θ_from − θ_replica, sent in communication.outer_gradient; applied to θ as it is now.
      const auto& r = result->second.job.get();
      engine::ParamVector delta = *result->second.base;
      for (size_t i = 0; i < delta.size(); ++i) delta[i] -= r.params[i];
      engine::quantize(delta, s.communication.outer_gradient);
      state_.store->apply_outer_gradient(module_, delta, s.async.delay);
      const double w = state_.tasks[static_cast<size_t>(msg->task)].weight;
      as.row_loss += w * r.mean_loss;
      as.row_weight += w;
    }
    state_.results.erase(result);
    ++as.applied;
    ++ctx_.synchronisations;
    as.updates.push_back({s4u::Engine::get_clock(), as.applied, msg->version, msg->task, msg->worker, msg->steps});
    as.latest = {as.applied, ctx_.training ? std::make_shared<const engine::ParamVector>(state_.store->module(module_)) : nullptr};
    as.held[static_cast<size_t>(msg->task)] = as.latest;
    as.staleness_sum += staleness;
    as.staleness_max = std::max(as.staleness_max, staleness);
    as.row_staleness += staleness;
    ++as.row_updates;
    as.all_steps += msg->steps;
    // A row every eval_every rounds' worth of outer gradients (k each), and after the last.
    if (as.applied % (k * s.algorithm.eval_every) == 0 || as.applied == as.total) {
      const auto loss = as.row_weight > 0 ? std::optional<double>(as.row_loss / as.row_weight) : std::nullopt;
      ctx_.record(static_cast<int>((as.applied + k - 1) / k), loss, as.latest.theta, as.all_steps,
                  static_cast<double>(as.row_staleness) / static_cast<double>(as.row_updates));
      as.row_loss = as.row_weight = 0.0;
      as.row_staleness = as.row_updates = 0;
    }
  }
  state_.finished = true;
}

}  // namespace dipaco::sim

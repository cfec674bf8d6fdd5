// The outer optimizer of asynchronous DiLoCo (AlgorithmPolicy::Exchange::Async): it applies each
// replica's outer gradient as it arrives (async.delay: Delayed Nesterov), sets the result as that
// replica's next θ, and ends the run after workers × outer_steps of them. Staleness is the number
// of outer gradients applied between the θ a round trained from and its own.
//
// HALoS (AlgorithmPolicy::hierarchical): this executor is datacentre r's local parameter server.
// Every halos.accumulation outer gradients it sends what it gained since its last merge to the
// global server on placement.outer (a helper actor carries the round trip, so that the server goes
// on serving its workers meanwhile), and merges the global θ that comes back before its next
// outer gradient, as HALoS's servers do.
#include <simgrid/s4u/Actor.hpp>
#include <simgrid/s4u/Engine.hpp>

#include <algorithm>
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

// HALoS's round trip to the global server: the accumulated outer gradient goes up, the global
// server applies it on arrival (Delayed Nesterov, halos.global_*), and its θ comes back to the
// region's server, which merges it at its next outer gradient.
void global_round(RunContext& ctx, RunState& state, int region, std::shared_ptr<const engine::ParamVector> gained) {
  auto* here = state.executor_hosts[static_cast<size_t>(region)];
  s4u::Actor::create("halos-global-" + std::to_string(region), here, [&ctx, &state, region, here, gained] {
    guarded(ctx, "halos global round " + std::to_string(region), [&] {
      s4u::Actor::self()->daemonize();  // a round still travelling when the run ends is dropped
      const double bytes = state.module_bytes.front();
      std::vector<Transfer> up{Transfer::pull(ctx, here, ctx.outer_host, bytes * ctx.cost.gradient_wire_factor)};
      wait_all(ctx, up);
      if (up.front().failed()) throw simgrid::NetworkFailureException(XBT_THROW_POINT, up.front().why());  // given up
      auto& as = state.async;
      std::shared_ptr<const engine::ParamVector> theta;
      if (ctx.training) {  // `gained` is already as the global server decodes it
        state.store->apply_outer_gradient(0, *gained, ctx.scenario.halos.global_delay);
        theta = std::make_shared<const engine::ParamVector>(state.store->module(0));
      }
      ++as.global_merges;
      std::vector<Transfer> down{Transfer::pull(ctx, ctx.outer_host, here, bytes)};
      wait_all(ctx, down);
      if (down.front().failed()) throw simgrid::NetworkFailureException(XBT_THROW_POINT, down.front().why());
      as.regions[static_cast<size_t>(region)].global = RunState::Async::Held{as.global_merges, theta};
    });
  });
}

}  // namespace

void Executor::run_async() {
  const auto& s = ctx_.scenario;
  auto& as = state_.async;
  const bool halos = state_.policy.hierarchical;
  auto* region = halos ? &as.regions[static_cast<size_t>(module_)] : nullptr;
  auto* store = halos ? region->store.get() : state_.store.get();
  const int delay = halos ? s.halos.local_delay : s.async.delay;
  const auto k = static_cast<int64_t>(state_.tasks.size());
  s4u::this_actor::sleep_until(ctx_.start_time);
  if (module_ == 0) record_phase(ctx_, state_, 0);  // the initial model
  Inbox inbox(executor_inbox(module_));
  // HALoS's servers look again within a heartbeat: the budget may run out at another's.
  const double look = halos ? s.failures.heartbeat_s : -1.0;
  while (as.applied < as.total) {
    auto msg = inbox.next<ContributionMessage>(look);
    if (!msg || as.applied >= as.total) continue;  // another server may have spent the budget meanwhile
    const auto key = std::make_tuple(msg->task, msg->phase, msg->attempt);
    const auto result = state_.results.find(key);
    if (result == state_.results.end()) continue;  // not one of this run's rounds (cannot happen; be safe)
    if (halos && region->global) {  // the global θ came back since the last outer gradient
      if (ctx_.training) {
        store->mix_in(0, *region->global->theta, s.halos.merge_weight);
        region->merged = std::make_shared<const engine::ParamVector>(store->module(0));
      }
      region->merged_version = region->latest.version;
      region->global.reset();
    }
    auto& latest = halos ? region->latest : as.latest;
    const int64_t staleness = latest.version - msg->version;
    if (ctx_.training) {
      // Δ = θ_from − θ_replica, sent in communication.outer_gradient; applied to θ as it is now.
      const auto& r = result->second.job.get();
      store->apply_outer_gradient(0, engine::outer_gradient_as_sent(*result->second.base, r.params, s.communication.outer_gradient), delay);
      const double w = state_.tasks[static_cast<size_t>(msg->task)].weight;
      as.row_loss += w * r.mean_loss;
      as.row_weight += w;
    }
    state_.results.erase(result);
    ++as.applied;
    ++ctx_.synchronisations;
    latest = {latest.version + 1, ctx_.training ? std::make_shared<const engine::ParamVector>(store->module(0)) : nullptr};
    as.held[static_cast<size_t>(msg->task)] = latest;
    as.updates.push_back({s4u::Engine::get_clock(), latest.version, msg->version, msg->task, msg->worker, msg->steps});
    as.staleness_sum += staleness;
    as.staleness_max = std::max(as.staleness_max, staleness);
    as.row_staleness += staleness;
    ++as.row_updates;
    as.all_steps += msg->steps;
    if (halos && latest.version == region->merged_version + s.halos.accumulation) {
      std::shared_ptr<const engine::ParamVector> gained;  // what it gained since its last merge
      if (ctx_.training) {
        gained = std::make_shared<const engine::ParamVector>(
            engine::outer_gradient_as_sent(*region->merged, *latest.theta, s.communication.outer_gradient));
      }
      global_round(ctx_, state_, module_, std::move(gained));
    }
    // A row every eval_every rounds' worth of outer gradients (k each), and after the last. HALoS
    // is evaluated on its global model.
    if (as.applied % (k * s.algorithm.eval_every) == 0 || as.applied == as.total) {
      const auto loss = as.row_weight > 0 ? std::optional<double>(as.row_loss / as.row_weight) : std::nullopt;
      auto model = halos && ctx_.training ? std::make_shared<const engine::ParamVector>(state_.store->module(0)) : latest.theta;
      ctx_.record(static_cast<int>((as.applied + k - 1) / k), loss, std::move(model), as.all_steps,
                  static_cast<double>(as.row_staleness) / static_cast<double>(as.row_updates));
      as.row_loss = as.row_weight = 0.0;
      as.row_staleness = as.row_updates = 0;
    }
  }
  state_.finished = true;
}

}  // namespace dipaco::sim

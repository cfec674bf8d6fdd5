#include "sim/sync_actors.hpp"

#include <simgrid/s4u/Actor.hpp>
#include <simgrid/s4u/Engine.hpp>

#include <string>

#include "sim/actor_guard.hpp"
#include "sim/ring_allreduce.hpp"

namespace dipaco::sim {
namespace s4u = simgrid::s4u;

void SyncWorker::operator()() { guarded(ctx_, "sync worker " + std::to_string(rank_), [this] { run(); }); }

void SyncWorker::run() {
  const auto& s = ctx_.scenario;
  const int tau = s.algorithm.tau;
  const bool leader = rank_ == 0;  // rank 0 owns the real model
  std::shared_ptr<const engine::ParamVector> params;
  engine::AdamState adam;
  if (leader && ctx_.training) params = std::make_shared<const engine::ParamVector>(ctx_.initial_params);
  s4u::this_actor::sleep_until(ctx_.start_time);  // the warm start's pre-training
  if (leader) ctx_.record(0, std::nullopt, params);

  for (int segment = 1; segment <= s.algorithm.outer_steps; ++segment) {
    std::shared_future<engine::TrainResult> job;
    if (leader && ctx_.training)  // one batch from every worker's shard per step
      job = ctx_.submit_training(params, std::move(adam), ctx_.shards, static_cast<int64_t>(segment - 1) * tau, tau,
                                 engine::mix_seed(s.seed, 999));
    for (int step = 0; step < tau; ++step) {
      const double start = s4u::Engine::get_clock();
      s4u::this_actor::execute(ctx_.cost.host_flops(1));
      ctx_.compute_seconds[static_cast<size_t>(rank_)] += s4u::Engine::get_clock() - start;
      ring_allreduce(ctx_, rank_, ctx_.cost.message_bytes);
      if (leader) ++ctx_.synchronisations;
    }
    auto& interval = intervals_->open[segment];
    if (leader && ctx_.training) {  // rank 0 finishes before the last worker does, or is the last
      auto result = job.get();
      adam = std::move(result.opt_state);
      interval.train_loss = result.mean_loss;
      params = std::make_shared<const engine::ParamVector>(std::move(result.params));
      interval.params = params;
    }
    if (++interval.finished < s.workers()) continue;
    if (segment % s.algorithm.eval_every == 0 || segment == s.algorithm.outer_steps)
      ctx_.record(segment, interval.train_loss, interval.params);
    intervals_->open.erase(segment);
  }
}

}  // namespace dipaco::sim

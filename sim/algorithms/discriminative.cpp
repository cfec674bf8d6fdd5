#include "sim/algorithms/discriminative.hpp"

#include <fmt/format.h>
#include <simgrid/s4u/Actor.hpp>
#include <xbt/log.h>

#include <algorithm>

#include "sim/algorithms/algorithm_setup.hpp"

XBT_LOG_NEW_DEFAULT_CATEGORY(dipaco_em, "dipaco-sim discriminative routing");

namespace dipaco::sim {

std::vector<float> sequence_losses(const std::vector<float>& token_losses, int seq_len, int prefix_tokens) {
  const size_t L = static_cast<size_t>(seq_len), n = token_losses.size() / L;
  const size_t first = static_cast<size_t>(std::max(prefix_tokens - 1, 0));
  std::vector<float> out(n);
  for (size_t i = 0; i < n; ++i) {
    double sum = 0.0;
    for (size_t t = first; t < L; ++t) sum += token_losses[i * L + t];
    out[i] = static_cast<float>(sum / static_cast<double>(L - first));
  }
  return out;
}

void discriminative_reshard(RunContext& ctx, RunState& state, int phase) {
  const auto& s = ctx.scenario;
  const int paths = state.structure.paths();
  const auto& ids = state.router_ids;
  const auto& snapshot = state.phases.at(phase).modules;

  // 1. Score every path on the router split (real, on the pool; simulated, forward flops here).
  std::vector<std::shared_future<std::vector<float>>> scores;
  auto model = s.model;
  auto data = ctx.train_data;
  for (int p = 0; p < paths; ++p) {
    auto recipe = state.recipe(p, snapshot);
    scores.push_back(ctx.pool->submit([model, data, ids, recipe] {
      return sequence_losses(engine::token_losses(model, recipe.compose(), *data, ids), model.seq_len, data->prefix_tokens);
    }));
  }
  // A forward pass is a third of a training step's flops; tokens_per_step tokens per step.
  const double forward_steps = static_cast<double>(paths) * static_cast<double>(ids.size()) * s.model.seq_len /
                               static_cast<double>(ctx.cost.tokens_per_step) / 3.0;
  simgrid::s4u::this_actor::execute(ctx.cost.flops_per_step * forward_steps / ctx.cost.mfu);

  // 2. Label each router sequence with its best path (the lowest loss; the lower path on ties). With
  // a relabel margin, a sequence keeps its current path unless another beats it by more than that:
  // small loss differences between young paths are mostly noise the linear router cannot learn.
  const int dim = s.model.d_model;
  std::vector<float> features;
  features.reserve(ids.size() * static_cast<size_t>(dim));
  for (int64_t id : ids)
    features.insert(features.end(), state.train_features.begin() + id * dim, state.train_features.begin() + (id + 1) * dim);
  std::vector<int> labels(ids.size(), 0);
  for (int p = 1; p < paths; ++p) {
    const auto& loss = scores[static_cast<size_t>(p)].get();
    for (size_t i = 0; i < ids.size(); ++i)
      if (loss[i] < scores[static_cast<size_t>(labels[i])].get()[i]) labels[i] = p;
  }
  if (s.dipaco.relabel_margin > 0.0) {
    const auto current = state.route(features);
    for (size_t i = 0; i < ids.size(); ++i) {
      const auto keep = static_cast<size_t>(current[i]);
      if (scores[keep].get()[i] - scores[static_cast<size_t>(labels[i])].get()[i] <= s.dipaco.relabel_margin) labels[i] = current[i];
    }
  }

  // A path that no router sequence prefers would leave its class nothing to learn: it takes the few
  // sequences it loses by the least margin, from paths that can spare them.
  std::vector<size_t> label_count(static_cast<size_t>(paths), 0);
  for (int l : labels) ++label_count[static_cast<size_t>(l)];
  const size_t quota = std::max<size_t>(4, ids.size() / (8 * static_cast<size_t>(paths)));
  for (int p = 0; p < paths; ++p) {
    if (label_count[static_cast<size_t>(p)] >= quota) continue;
    const auto& mine = scores[static_cast<size_t>(p)].get();
    std::vector<std::pair<float, size_t>> gaps;
    for (size_t i = 0; i < ids.size(); ++i)
      if (labels[i] != p) gaps.emplace_back(mine[i] - scores[static_cast<size_t>(labels[i])].get()[i], i);
    std::sort(gaps.begin(), gaps.end());
    for (const auto& [gap, i] : gaps) {
      if (label_count[static_cast<size_t>(p)] >= quota) break;
      auto& from = label_count[static_cast<size_t>(labels[i])];
      if (from <= quota) continue;
      --from;
      labels[i] = p;
      ++label_count[static_cast<size_t>(p)];
    }
  }

  // 3. Fit the linear router on the router split's features; bias it so that no path starves.
  double accuracy = 0.0;
  auto router = engine::fit_linear_router(features, dim, labels, paths, 300, 0.5, 1e-4, &accuracy);
  const int rounds = engine::balance_router_bias(router, state.train_features, min_path_sequences(s));

  // 4. Re-shard (the router split stays out of training) and continue.
  const auto train_path = engine::route_all(router, state.train_features);
  const auto val_path = engine::route_all(router, state.val_features);
  std::vector<char> in_split(train_path.size(), 0);
  for (int64_t id : ids) in_split[static_cast<size_t>(id)] = 1;
  std::vector<int> old_path(train_path.size(), -1);
  for (const auto& task : state.tasks)
    for (int64_t id : *task.shard) old_path[static_cast<size_t>(id)] = task.path;
  std::vector<std::vector<int64_t>> train_ids(static_cast<size_t>(paths)), val_ids(static_cast<size_t>(paths));
  int64_t moved = 0, routed = 0;
  for (size_t i = 0; i < train_path.size(); ++i) {
    if (in_split[i]) continue;
    train_ids[static_cast<size_t>(train_path[i])].push_back(static_cast<int64_t>(i));
    ++routed;
    moved += old_path[i] >= 0 && old_path[i] != train_path[i];
  }
  for (size_t i = 0; i < val_path.size(); ++i) val_ids[static_cast<size_t>(val_path[i])].push_back(static_cast<int64_t>(i));
  assign_path_data(s, ctx, state, train_ids, val_ids);
  state.linear_router = std::move(router);
  state.checkpoints.clear();  // held-out sets changed: earlier losses are not comparable
  state.discriminative = RunState::Discriminative{phase, accuracy, static_cast<double>(moved) / static_cast<double>(std::max<int64_t>(routed, 1))};
  XBT_INFO("discriminative routing after phase %d: router accuracy %.3f on %zu sequences, %d bias rounds, %.1f%% of training "
           "sequences moved; best-path labels per path: %s",
           phase, accuracy, ids.size(), rounds, 100.0 * state.discriminative->moved_fraction,
           fmt::format("{}", fmt::join(label_count, " ")).c_str());
}

}  // namespace dipaco::sim

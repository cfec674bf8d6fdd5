#include "sim/algorithms/algorithm_setup.hpp"

#include <fmt/format.h>
#include <simgrid/s4u/Barrier.hpp>
#include <simgrid/s4u/Host.hpp>

#include <algorithm>
#include <cmath>
#include <random>

#include "sim/platform/executor_placement.hpp"
#include "sim/platform/platform.hpp"
#include "sim/algorithms/routing.hpp"

namespace dipaco::sim {
namespace s4u = simgrid::s4u;
namespace {

// Splits `ids` into `parts` near-equal, seeded, sorted shards.
std::vector<engine::Shard> split_ids(std::vector<int64_t> ids, int parts, uint64_t seed) {
  std::mt19937_64 rng(engine::mix_seed(seed, 0x5117));
  for (size_t i = ids.size(); i > 1; --i) std::swap(ids[i - 1], ids[rng() % i]);
  std::vector<engine::Shard> out(static_cast<size_t>(parts));
  for (size_t i = 0; i < ids.size(); ++i) out[i % out.size()].push_back(ids[i]);
  for (auto& sh : out) std::sort(sh.begin(), sh.end());
  return out;
}

int heldout_stride(const Scenario& s) {
  return s.dipaco.early_stopping_fraction > 0 ? std::max(2, static_cast<int>(std::lround(1.0 / s.dipaco.early_stopping_fraction))) : 0;
}

}  // namespace

int64_t min_path_sequences(const Scenario& s) {
  const int64_t batch = static_cast<int64_t>(s.inner.batch_size) * s.algorithm.replicas_per_path;
  const int stride = heldout_stride(s);
  return stride > 0 ? std::max<int64_t>(batch + (batch + stride - 2) / (stride - 1), stride) : batch;
}

void assign_path_data(const Scenario& s, RunContext& ctx, RunState& state, const std::vector<std::vector<int64_t>>& train_ids,
                      const std::vector<std::vector<int64_t>>& val_ids) {
  const int paths = state.structure.paths();
  const int replicas = s.algorithm.replicas_per_path;
  const int stride = heldout_stride(s);
  state.shard_sizes.assign(static_cast<size_t>(paths), 0);
  state.validation_ids.assign(static_cast<size_t>(paths), {});
  state.heldout_ids.assign(static_cast<size_t>(paths), {});
  // Evaluation: about data.eval_sequences validation sequences in all, each path's share in proportion.
  size_t total_val = 0;
  for (const auto& v : val_ids) total_val += v.size();
  for (int p = 0; p < paths; ++p) {
    const auto& all = train_ids[static_cast<size_t>(p)];
    if (ctx.training && static_cast<int64_t>(all.size()) < min_path_sequences(s))
      throw ScenarioError(fmt::format("{}: key 'dipaco.levels': routing gave path {} only {} training sequences, fewer than "
                                      "{} (a batch per replica plus its held-out share); use fewer paths or more text",
                                      s.file.string(), p, all.size(), min_path_sequences(s)));
    std::vector<int64_t> train;
    for (size_t i = 0; i < all.size(); ++i) {
      if (stride > 0 && i % static_cast<size_t>(stride) == static_cast<size_t>(stride) - 1) state.heldout_ids[static_cast<size_t>(p)].push_back(all[i]);
      else train.push_back(all[i]);
    }
    state.shard_sizes[static_cast<size_t>(p)] = static_cast<int64_t>(train.size());
    const auto& v = val_ids[static_cast<size_t>(p)];
    if (!v.empty()) {
      const size_t n = std::clamp<size_t>(static_cast<size_t>(s.data.eval_sequences) * v.size() / std::max<size_t>(total_val, 1), 1, v.size());
      for (size_t i = 0; i < n; ++i) state.validation_ids[static_cast<size_t>(p)].push_back(v[i * v.size() / n]);
    }
    const auto shards = ctx.training ? split_ids(train, replicas, engine::mix_seed(s.seed, static_cast<uint64_t>(p)))
                                     : std::vector<engine::Shard>(static_cast<size_t>(replicas));
    for (int r = 0; r < replicas; ++r) {
      auto& task = state.tasks[static_cast<size_t>(p * replicas + r)];
      task.shard = std::make_shared<const engine::Shard>(shards[static_cast<size_t>(r)]);
      task.weight = ctx.training ? static_cast<double>(shards[static_cast<size_t>(r)].size()) : 1.0;
    }
  }
}

void setup_dipaco(const Scenario& s, RunContext& ctx, RunState& state, const std::vector<s4u::Host*>& hosts) {
  const std::string file = s.file.string();
  state.policy = policy_for(s);
  state.structure = {s.dipaco.levels, s.dipaco.share_embeddings};
  state.layout = std::make_unique<engine::PathLayout>(s.model, state.structure);
  const auto& st = state.structure;
  const int paths = st.paths();
  const int replicas = s.algorithm.replicas_per_path;

  if (s.dipaco.discriminative_after > 0) {
    if (paths < 2 || s.dipaco.routing == RoutingKind::Iid)
      throw ScenarioError(fmt::format("{}: key 'dipaco.discriminative_after': discriminative routing needs several paths and "
                                      "k-means or product-kmeans routing; set it to 0", file));
    if (s.dipaco.discriminative_after >= s.algorithm.outer_steps)
      throw ScenarioError(fmt::format("{}: key 'dipaco.discriminative_after': {} leaves no phase after the EM step (outer_steps is "
                                      "{}); use a smaller phase", file, s.dipaco.discriminative_after, s.algorithm.outer_steps));
  }
  // Tasks (path, replica), each with a home worker (round-robin) that takes it first each phase;
  // a worker with no home task left takes any queued task. More workers than tasks stand by.
  const int tasks = paths * replicas;
  const int workers = s.dipaco.workers > 0 ? s.dipaco.workers : tasks;
  if (workers < tasks && s.dipaco.inner_state == InnerState::Path)
    throw ScenarioError(fmt::format("{}: key 'dipaco.inner_state': 'path' keeps AdamW moments for each of the {} tasks, which "
                                    "needs one worker per task; with dipaco.workers: {} use 'module' or 'reset'",
                                    file, tasks, workers));
  place_workers(s, ctx, state, hosts, workers);
  for (int t = 0; t < tasks; ++t) {
    state.tasks.push_back({t / replicas, t % workers, nullptr, 1.0});
    state.task_hosts.push_back(ctx.worker_hosts[static_cast<size_t>(t % workers)]);
  }

  std::vector<std::vector<int64_t>> train_ids(static_cast<size_t>(paths)), val_ids(static_cast<size_t>(paths));
  if (ctx.training) {
    auto routing = route_sequences(s, st, ctx.initial_params, ctx.train_data, ctx.validation_data, *ctx.pool);
    state.store = std::make_unique<engine::ModuleStore>(*state.layout, routing.base_params, s.outer);
    state.routers = std::move(routing.routers);
    state.base_params = std::make_shared<const engine::ParamVector>(std::move(routing.base_params));
    state.router_ids = std::move(routing.router_ids);
    state.train_features = std::move(routing.train_features);
    state.val_features = std::move(routing.val_features);
    train_ids = std::move(routing.train_ids);
    val_ids = std::move(routing.validation_ids);
  }
  assign_path_data(s, ctx, state, train_ids, val_ids);

  const int modules = st.module_count();
  index_modules(ctx, state);

  const auto& pinned = s.dipaco.executor_hosts;
  if (!pinned.empty() && pinned.size() != 1 && static_cast<int>(pinned.size()) != modules)
    throw ScenarioError(fmt::format("{}: key 'dipaco.executors': {} hosts for {} modules (give one host, or one per module)",
                                    file, pinned.size(), modules));
  const auto graph = datacentre_graph();
  for (int m = 0; m < modules; ++m) {
    if (!pinned.empty()) {
      const auto& name = pinned.size() == 1 ? pinned[0] : pinned[static_cast<size_t>(m)];
      state.executor_hosts.push_back(host_by_name(name, fmt::format("dipaco.executors[{}]", m), file));
      continue;
    }
    std::vector<s4u::Host*> users;
    for (int t : state.tasks_through_module[static_cast<size_t>(m)]) users.push_back(state.task_hosts[static_cast<size_t>(t)]);
    state.executor_hosts.push_back(graph.first_host[static_cast<size_t>(best_datacentre(graph, users, state.module_bytes[static_cast<size_t>(m)]))]);
  }
  state.scheduler_host = ctx.outer_host;
  init_module_state(s, state);
}

namespace {
// DiLoCo's and sync's common shape: the policy, the whole model as one module, and one task per
// placement.workers host on that worker's shard.
void whole_model_replicas(const Scenario& s, RunContext& ctx, RunState& state, const std::vector<s4u::Host*>& hosts,
                          engine::PathStructure structure = {{}, true}) {
  state.policy = policy_for(s);
  state.structure = std::move(structure);
  state.layout = std::make_unique<engine::PathLayout>(s.model, state.structure);
  const int k = static_cast<int>(hosts.size());
  place_workers(s, ctx, state, hosts, k);
  for (int t = 0; t < k; ++t) {
    const auto i = static_cast<size_t>(t);
    state.tasks.push_back({0, t, ctx.training ? ctx.shards[i] : nullptr, ctx.training ? ctx.shard_weights[i] : 1.0});
    state.task_hosts.push_back(ctx.worker_hosts[i]);
  }
  state.replica_holder.assign(state.tasks.size(), {-1, 0});
}
}  // namespace

void setup_diloco(const Scenario& s, RunContext& ctx, RunState& state, const std::vector<s4u::Host*>& hosts) {
  // One module, the whole model, trained by k replicas: one task per placement.workers host, on
  // that worker's shard (data.sharding), its modules sent with the task from the outer host, where
  // the scheduler and the outer optimiser (the module's executor) run. Streaming and Decoupled
  // DiLoCo: the same, with one module per block (and one for the embeddings), so that a fragment is
  // a set of modules.
  engine::PathStructure structure{{}, true};
  if (s.algorithm.name == Algorithm::StreamingDiloco || s.algorithm.name == Algorithm::DecoupledDiloco)
    structure.levels.assign(static_cast<size_t>(s.model.blocks), {1, 1, false});
  whole_model_replicas(s, ctx, state, hosts, std::move(structure));
  int64_t sequences = 0;
  for (const auto& t : state.tasks) sequences += t.shard ? static_cast<int64_t>(t.shard->size()) : 0;
  state.shard_sizes = {sequences};
  state.validation_ids = {{}};  // whole-model rows evaluate data.eval_sequences (RunContext::record)
  if (ctx.training) state.store = std::make_unique<engine::ModuleStore>(*state.layout, ctx.initial_params, s.outer);
  index_modules(ctx, state);
  state.executor_hosts.assign(static_cast<size_t>(state.structure.module_count()), ctx.outer_host);
  state.scheduler_host = ctx.outer_host;
  init_module_state(s, state);
  if (state.policy.exchange != AlgorithmPolicy::Exchange::Async) return;
  auto& as = state.async;  // every replica starts from version 0
  const size_t k = state.tasks.size();
  as.total = static_cast<int64_t>(k) * s.algorithm.outer_steps * fragments(s);
  if (state.store)  // (Decoupled DiLoCo's model is one module per block)
    as.latest.theta = std::make_shared<const engine::ParamVector>(state.policy.decoupled ? state.store->compose(0) : state.store->module(0));
  as.held.assign(k, as.latest);
  as.steps.assign(k, 0);
  as.moments.assign(k, {});
  if (state.policy.decoupled) {
    // Decoupled DiLoCo: Streaming DiLoCo's fragments, each a set of modules; one synchroniser (the
    // executor of module 0) for all of them.
    const auto F = static_cast<size_t>(fragments(s));
    auto& dc = state.decoupled;
    dc.fragment_modules.assign(F, {});
    dc.fragment_bytes.assign(F, 0.0);
    for (int m = 0; m < state.structure.module_count(); ++m) {
      const auto p = static_cast<size_t>(fragment_of_segment(state.structure.segment_of_module(m), fragments(s)));
      dc.fragment_modules[p].push_back(m);
      dc.fragment_bytes[p] += state.module_bytes[static_cast<size_t>(m)];
    }
    dc.version.assign(F, 0);
    dc.pending.assign(F, {});
    dc.quorum_since.assign(F, -1.0);
    dc.anchors.assign(k, std::vector<RunState::Decoupled::Anchor>(F, {0, as.latest.theta}));
    dc.since_sent.assign(k, std::vector<int>(F, 0));
    dc.dispatched.assign(k, std::vector<int64_t>(F, 0));
    dc.delivered.assign(k, {});
    dc.phases.assign(k, 0);
    dc.merged_in_flight.assign(k, std::vector<RunState::Decoupled::Merged>(F));
    state.executor_hosts.resize(1);
    return;
  }
  if (!state.policy.hierarchical) return;
  // HALoS: a local parameter server per datacentre of workers, on its first worker's host; the
  // global one is `store`, on placement.outer. Learning rates are per arrival: Delayed Nesterov
  // takes lr × N (engine/modules/outer_optimizer.hpp).
  const auto& h = s.halos;
  const engine::OuterOptConfig local{engine::OuterKind::Nesterov, h.local_lr * h.local_delay, h.local_momentum};
  const engine::OuterOptConfig global{engine::OuterKind::Nesterov, h.global_lr * h.global_delay, h.global_momentum};
  if (ctx.training) state.store = std::make_unique<engine::ModuleStore>(*state.layout, ctx.initial_params, global);
  std::vector<std::string> datacentres;
  state.executor_hosts.clear();
  for (size_t t = 0; t < k; ++t) {
    const auto dc = datacentre_of(state.task_hosts[t]);
    auto it = std::find(datacentres.begin(), datacentres.end(), dc);
    if (it == datacentres.end()) {
      datacentres.push_back(dc);
      state.executor_hosts.push_back(state.task_hosts[t]);
      auto& region = as.regions.emplace_back();
      if (ctx.training) {
        region.store = std::make_unique<engine::ModuleStore>(*state.layout, ctx.initial_params, local);
        region.merged = as.latest.theta;
      }
      region.latest = as.latest;
      it = std::prev(datacentres.end());
    }
    as.region_of_task.push_back(static_cast<int>(it - datacentres.begin()));
  }
}

void setup_sync(const Scenario& s, RunContext& ctx, RunState& state, const std::vector<s4u::Host*>& hosts) {
  // k ranks of the whole model, each on its worker's shard; no executors (the ring is the
  // exchange); the scheduler on placement.outer only re-assigns the ranks of preempted workers.
  whole_model_replicas(s, ctx, state, hosts);
  state.ring.assign(state.tasks.size(), {});
  state.ring_host = state.task_hosts;
  state.ring_rollback.restore.assign(state.tasks.size(), 0);
  state.ring_rollback.unsaved.assign(state.tasks.size(), {});
  state.ring_rollback.early.assign(state.tasks.size(), {});
  if (ctx.training) {
    state.store = std::make_unique<engine::ModuleStore>(*state.layout, ctx.initial_params, s.outer);
    state.ring_params = std::make_shared<const engine::ParamVector>(ctx.initial_params);
  }
  index_modules(ctx, state);
  state.scheduler_host = ctx.outer_host;
  init_module_state(s, state);
}

void place_workers(const Scenario& s, RunContext& ctx, RunState& state, const std::vector<s4u::Host*>& hosts, int workers) {
  const std::string file = s.file.string();
  ctx.worker_hosts.clear();
  for (int w = 0; w < workers; ++w) ctx.worker_hosts.push_back(hosts[static_cast<size_t>(w) % hosts.size()]);
  // The backup pool: after the primary workers, so that dispatch (in worker order) serves them last.
  for (size_t b = 0; b < s.dipaco.backup_workers.size(); ++b) {
    auto* h = host_by_name(s.dipaco.backup_workers[b], fmt::format("dipaco.backup_workers[{}]", b), file);
    if (std::find(hosts.begin(), hosts.end(), h) != hosts.end() || h->get_name() == s.outer_host)
      throw ScenarioError(fmt::format("{}: key 'dipaco.backup_workers[{}]': '{}' already runs a primary worker or the scheduler; "
                                      "give the backup pool hosts of its own", file, b, h->get_name()));
    ctx.worker_hosts.push_back(h);
  }
  state.primary_workers = workers;
  state.workers = static_cast<int>(ctx.worker_hosts.size());
  state.running.assign(static_cast<size_t>(state.workers), {});
  state.incarnation.assign(static_cast<size_t>(state.workers), 0);
  state.uploaded.assign(static_cast<size_t>(state.workers), {-1, 0, 0});
  ctx.compute_seconds.assign(static_cast<size_t>(state.workers), 0.0);
}

void index_modules(const RunContext& ctx, RunState& state) {
  const auto& st = state.structure;
  const int modules = st.module_count();
  state.tasks_through_module.assign(static_cast<size_t>(modules), {});
  for (size_t t = 0; t < state.tasks.size(); ++t)
    for (int m : st.modules_of(state.tasks[t].path)) state.tasks_through_module[static_cast<size_t>(m)].push_back(static_cast<int>(t));
  // Streaming DiLoCo's fragments weigh what they would in the as-if model (CostModel::block_share):
  // in the small trained model the embeddings are most of the parameters. DiPaCo's modules keep the
  // trained model's proportions, with which its figures were measured.
  const bool as_if_blocks = (state.policy.local_replicas || state.policy.decoupled) && ctx.cost.block_share > 0;
  for (int m = 0; m < modules; ++m) {
    const int segment = st.segment_of_module(m);
    const double share = !as_if_blocks ? static_cast<double>(state.layout->module_params(m)) / static_cast<double>(state.layout->path_params())
                         : segment == 0 ? 1.0 - ctx.cost.block_share * st.total_blocks()
                                        : ctx.cost.block_share * st.levels[static_cast<size_t>(segment - 1)].blocks;
    state.module_bytes.push_back(ctx.cost.message_bytes * share);
  }
}

void init_module_state(const Scenario& s, RunState& state) {
  const int modules = state.structure.module_count();
  state.module_epoch.assign(static_cast<size_t>(modules), 0);
  state.module_recovering.assign(static_cast<size_t>(modules), 0);
  state.module_phase.assign(static_cast<size_t>(modules), 1);
  for (int m = 0; m < modules && s.checkpoints.module_every_phases > 0; ++m)
    state.module_checkpoint.push_back({0, state.store ? std::make_shared<const engine::ModuleStore::ModuleState>(state.store->save(m)) : nullptr});
  if (!s.checkpoints.storage.empty()) state.storage_host = host_by_name(s.checkpoints.storage, "checkpoints.storage", s.file.string());
}

}  // namespace dipaco::sim

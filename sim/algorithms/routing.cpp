#include "sim/algorithms/routing.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <numeric>

#include "engine/modules/kmeans.hpp"
#include "engine/data/sharding.hpp"

namespace dipaco::sim {
namespace {

// Features of `ids`, computed in parallel chunks on the pool (each row depends on its sequence only).
std::vector<float> features_of(const Scenario& s, const engine::ParamVector& params, const std::shared_ptr<const engine::SequenceSet>& data,
                               const std::vector<int64_t>& ids, engine::ThreadPool& pool) {
  constexpr size_t kChunk = 4096;
  auto shared_params = std::make_shared<const engine::ParamVector>(params);
  std::vector<std::shared_future<std::vector<float>>> parts;
  for (size_t first = 0; first < ids.size(); first += kChunk) {
    std::vector<int64_t> chunk(ids.begin() + static_cast<long>(first), ids.begin() + static_cast<long>(std::min(ids.size(), first + kChunk)));
    auto model = s.model;
    parts.push_back(pool.submit([model, shared_params, data, chunk = std::move(chunk)] {
      return engine::prefix_features(model, *shared_params, *data, chunk);
    }));
  }
  std::vector<float> out;
  for (auto& p : parts) out.insert(out.end(), p.get().begin(), p.get().end());
  return out;
}

std::vector<int64_t> all_ids(const engine::SequenceSet& d) {
  std::vector<int64_t> ids(static_cast<size_t>(d.size()));
  std::iota(ids.begin(), ids.end(), 0);
  return ids;
}

}  // namespace

std::vector<int> route_rows(const std::vector<engine::KMeans>& routers, const std::vector<float>& features) {
  return routers.size() == 1 ? engine::assign_all(routers[0], features) : engine::product_assign(routers, features);
}

RoutingResult route_sequences(const Scenario& s, const engine::PathStructure& structure, const engine::ParamVector& init,
                              const std::shared_ptr<const engine::SequenceSet>& train,
                              const std::shared_ptr<const engine::SequenceSet>& validation, engine::ThreadPool& pool) {
  RoutingResult r;
  const int paths = structure.paths();
  r.base_params = init;  // the warm start (sim/run/simulation.cpp), DiPaCo's base model

  r.train_ids.assign(static_cast<size_t>(paths), {});
  r.validation_ids.assign(static_cast<size_t>(paths), {});
  if (paths == 1 || s.dipaco.routing == RoutingKind::Iid) {
    const auto shards = engine::iid_shards(*train, paths, s.seed);
    const auto val_shards = engine::iid_shards(*validation, paths, s.seed + 1);
    for (int p = 0; p < paths; ++p) {
      r.train_ids[static_cast<size_t>(p)] = shards[static_cast<size_t>(p)];
      r.validation_ids[static_cast<size_t>(p)] = val_shards[static_cast<size_t>(p)];
    }
  } else {
    const int dim = s.model.d_model;
    const auto train_ids = all_ids(*train), val_ids = all_ids(*validation);
    auto train_features = features_of(s, r.base_params, train, train_ids, pool);
    auto val_features = features_of(s, r.base_params, validation, val_ids, pool);
    // Fit on evenly spaced rows (k-means cost grows with rows), assign every sequence.
    const size_t fit_rows = std::min<size_t>(train_ids.size(), static_cast<size_t>(s.dipaco.router_fit_sequences));
    std::vector<float> fit;
    for (size_t i = 0; i < fit_rows; ++i) {
      const size_t row = i * train_ids.size() / fit_rows;
      fit.insert(fit.end(), train_features.begin() + static_cast<long>(row * dim), train_features.begin() + static_cast<long>((row + 1) * dim));
    }
    if (s.dipaco.routing == RoutingKind::KMeans) {
      r.routers.push_back(engine::fit_kmeans(fit, dim, paths, s.seed));
    } else {
      for (size_t l = 0; l < structure.levels.size(); ++l)
        if (!structure.levels[l].path_specific)
          r.routers.push_back(engine::fit_kmeans(fit, dim, structure.levels[l].modules, engine::mix_seed(s.seed, l)));
    }
    const auto train_path = route_rows(r.routers, train_features);
    const auto val_path = route_rows(r.routers, val_features);
    // The router split: evenly spaced training sequences that no path trains on, so that the EM
    // step scores every path on text none of them has seen.
    std::vector<char> in_router_split(train_path.size(), 0);
    if (s.dipaco.discriminative_after > 0) {
      const size_t n = std::min(train_path.size() / 4, static_cast<size_t>(s.dipaco.router_split_sequences));
      for (size_t i = 0; i < n; ++i) {
        const size_t row = i * train_path.size() / n + train_path.size() / (2 * n);
        r.router_ids.push_back(static_cast<int64_t>(row));
        in_router_split[row] = 1;
      }
    }
    for (size_t i = 0; i < train_path.size(); ++i)
      if (!in_router_split[i]) r.train_ids[static_cast<size_t>(train_path[i])].push_back(static_cast<int64_t>(i));
    if (s.dipaco.top2_training_shards && s.dipaco.routing == RoutingKind::KMeans && paths > 1) {
      // Overlapping shards (the paper's 16x16 setting): a sequence also trains its second-best path.
      for (size_t i = 0; i < train_path.size(); ++i) {
        if (in_router_split[i]) continue;
        const int second = r.routers[0].assign_two(train_features.data() + i * static_cast<size_t>(dim)).second;
        r.train_ids[static_cast<size_t>(second)].push_back(static_cast<int64_t>(i));
      }
      for (auto& ids : r.train_ids) std::sort(ids.begin(), ids.end());
    }
    for (size_t i = 0; i < val_path.size(); ++i) r.validation_ids[static_cast<size_t>(val_path[i])].push_back(static_cast<int64_t>(i));
    if (s.dipaco.discriminative_after > 0) {
      r.train_features = std::move(train_features);
      r.val_features = std::move(val_features);
    }
  }
  return r;
}

}  // namespace dipaco::sim

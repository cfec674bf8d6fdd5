// DiPaCo's coarse routing, done once before the phases: pre-train a dense base model briefly, take
// each sequence's router features (mean last-block hidden state over its prefix), cluster them with
// k-means (or product k-means), and shard training and validation sequences by path.
#pragma once

#include <cstdint>
#include <vector>

#include "engine/modules/kmeans.hpp"
#include "engine/train/thread_pool.hpp"
#include "engine/train/trainer.hpp"
#include "sim/scenario/scenario.hpp"

namespace dipaco::sim {

struct RoutingResult {
  engine::ParamVector base_params;                 // the pre-trained dense model (initialises every module)
  std::vector<std::vector<int64_t>> train_ids;     // per path
  std::vector<std::vector<int64_t>> validation_ids;  // per path
  std::vector<engine::KMeans> routers;  // one (k-means) or one per shared level (product); empty for iid
  // With discriminative routing: the router split (training ids kept out of every shard) and the
  // base model's features of every training and validation sequence, for the EM step.
  std::vector<int64_t> router_ids;
  std::vector<float> train_features, val_features;
};

// Path of each feature row under `routers` (one k-means, or product k-means in mixed radix).
std::vector<int> route_rows(const std::vector<engine::KMeans>& routers, const std::vector<float>& features);

// Real computation on `pool`; deterministic for a seed.
RoutingResult route_sequences(const Scenario& s, const engine::PathStructure& structure, const engine::ParamVector& init,
                              const std::shared_ptr<const engine::SequenceSet>& train,
                              const std::shared_ptr<const engine::SequenceSet>& validation, engine::ThreadPool& pool);

}  // namespace dipaco::sim

// DiPaCo's model structure, torch-free: the transformer's blocks grouped into levels, K_l modules per
// level, a path = one module per level (P = Π K_l paths). Parameters live once per module in a
// ModuleStore; a worker composes only its own path's flat vector. Dense (all K_l = 1), DiLoCo (dense,
// trained as replicas), flat MoE (one level, nothing shared) and DiPaCo (L×K) are all level specs.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "engine/train/config.hpp"
#include "engine/modules/outer_optimizer.hpp"

namespace dipaco::engine {

struct LevelSpec {
  int blocks = 1;              // consecutive transformer blocks in this level
  int modules = 1;             // K_l
  bool path_specific = false;  // one module per path, never shared (K_l does not multiply P)
};

struct PathStructure {
  std::vector<LevelSpec> levels;
  bool share_embeddings = true;  // embeddings and final norm: one shared module, or one per path

  int total_blocks() const;
  int paths() const;  // Π K_l over the shared levels
  // Segment 0 holds the embeddings and final norm; segment l + 1 holds level l's blocks. With no
  // levels, segment 0 is the whole model: one module, one path (DiLoCo, synchronous DP).
  int segments() const { return static_cast<int>(levels.size()) + 1; }
  int modules_in_segment(int segment) const;
  int module_count() const;
  // Global module id of `path`'s module in `segment`.
  int module_of(int path, int segment) const;
  std::vector<int> modules_of(int path) const;  // one per segment
  std::vector<int> paths_through(int module) const;
  int segment_of_module(int module) const;
  std::string module_name(int module) const;  // e.g. "L1.M0" or "shared"
};

// Where each segment's parameters sit inside a path's flat vector (ranges in order).
class PathLayout {
 public:
  PathLayout(const ModelConfig& path_model, const PathStructure& structure);
  const PathStructure& structure() const { return structure_; }
  int64_t path_params() const { return path_params_; }
  int64_t segment_params(int segment) const;
  int64_t module_params(int module) const { return segment_params(structure_.segment_of_module(module)); }
  int64_t all_module_params() const;  // every module's, each once: what a module store holds

  ParamVector extract(const ParamVector& path_params, int segment) const;
  void insert(ParamVector& path_params, int segment, const ParamVector& values) const;

 private:
  PathStructure structure_;
  int64_t path_params_ = 0;
  std::vector<std::vector<std::pair<int64_t, int64_t>>> ranges_;  // per segment: (offset, length)
};

// A path as the module versions it is made of. Composing it into one flat vector is left to where it
// is used (inside a pool job), so holding many recipes costs only the shared module snapshots.
struct PathRecipe {
  const PathLayout* layout = nullptr;
  std::vector<std::shared_ptr<const ParamVector>> segments;  // one per segment
  ParamVector compose() const;
};

// Global parameters and outer-optimizer state, once per module.
class ModuleStore {
 public:
  // Every module starts from the matching slice of `init_path` (e.g. a pre-trained dense model).
  ModuleStore(const PathLayout& layout, const ParamVector& init_path, const OuterOptConfig& outer);
  const ParamVector& module(int m) const { return params_[static_cast<size_t>(m)]; }
  ParamVector compose(int path) const;
  int64_t stored_params() const;
  // Module m's outer step from the paths through it: Δ_m = θ_m − Σ α_p θ_{m,p} with α_p ∝ weight_p
  // (shard sizes), times √(number of paths) when `rescale`, then m's own Nesterov step.
  void outer_step(int m, const std::vector<const ParamVector*>& path_versions, const std::vector<double>& weights,
                  bool rescale);
  // The same from a running average of the versions (what an executor accumulates online).
  void outer_step(int m, const RunningAverage& versions, bool rescale);
  // Asynchronous DiLoCo: module m's outer step from one replica's outer gradient, on arrival. delay
  // 1: the module's own outer optimizer; N > 1: Delayed Nesterov (engine/modules/outer_optimizer.hpp).
  void apply_outer_gradient(int m, const ParamVector& delta, int delay);
  // HALoS's merge: θ_m ← (1 − weight)·θ_m + weight·other.
  void mix_in(int m, const ParamVector& other, double weight);

  // Inner AdamW moments kept per module (dipaco.inner_state: module): after each phase, the weighted
  // mean of the moments of the paths through m. No per-path optimizer state then outlives its task,
  // so memory grows with modules, not with paths.
  void set_inner_moments(int m, ParamVector exp_avg, ParamVector exp_avg_sq);
  bool has_inner_moments(int m) const { return !inner_avg_[static_cast<size_t>(m)].empty(); }
  // The path's moments composed like its parameters; both empty unless every module has them.
  void compose_inner_moments(int path, ParamVector& exp_avg, ParamVector& exp_avg_sq) const;

  // Everything module m's executor keeps: what a module checkpoint saves and a recovery restores.
  struct ModuleState {
    ParamVector params;
    OuterOptimizer optimizer;
    ParamVector inner_avg, inner_avg_sq;
  };
  ModuleState save(int m) const;
  void restore(int m, ModuleState state);

 private:
  const PathLayout& layout_;
  std::vector<ParamVector> params_;
  std::vector<OuterOptimizer> optimizers_;
  std::vector<DelayedNesterov> delayed_;  // per module, once apply_outer_gradient needs it
  std::vector<ParamVector> inner_avg_, inner_avg_sq_;
};

}  // namespace dipaco::engine

// DiPaCo's structure: levels, modules, paths; composition and the per-module outer step.
#include <gtest/gtest.h>

#include <cmath>

#include "engine/modules/paths.hpp"
#include "engine/train/trainer.hpp"

using namespace dipaco::engine;

namespace {

const ModelConfig kModel{256, 8, 2, 2, 8};  // two blocks: one per level
PathStructure two_by_two() { return {{{1, 2, false}, {1, 2, false}}, true}; }

}  // namespace

TEST(PathStructure, CountsPathsAndModulesForEveryVariant) {
  const PathStructure dense{{{2, 1, false}}, true};
  EXPECT_EQ(dense.paths(), 1);
  EXPECT_EQ(dense.module_count(), 2);
  const auto dipaco = two_by_two();
  EXPECT_EQ(dipaco.paths(), 4);
  EXPECT_EQ(dipaco.module_count(), 1 + 2 + 2);
  EXPECT_EQ(dipaco.modules_of(0), (std::vector<int>{0, 1, 3}));
  EXPECT_EQ(dipaco.modules_of(1), (std::vector<int>{0, 1, 4}));
  EXPECT_EQ(dipaco.modules_of(2), (std::vector<int>{0, 2, 3}));
  EXPECT_EQ(dipaco.paths_through(1), (std::vector<int>{0, 1}));
  EXPECT_EQ(dipaco.paths_through(4), (std::vector<int>{1, 3}));
  EXPECT_EQ(dipaco.paths_through(0).size(), 4u);
  const PathStructure flat_moe{{{2, 4, false}}, false};  // nothing shared
  EXPECT_EQ(flat_moe.paths(), 4);
  EXPECT_EQ(flat_moe.module_count(), 4 + 4);
  for (int m = 0; m < flat_moe.module_count(); ++m) EXPECT_EQ(flat_moe.paths_through(m).size(), 1u);
  const PathStructure specific{{{1, 2, false}, {1, 2, true}}, true};  // "2 + path-specific"
  EXPECT_EQ(specific.paths(), 2);
  EXPECT_EQ(specific.module_count(), 1 + 2 + 2);
  EXPECT_EQ(specific.paths_through(3), (std::vector<int>{0}));
}

TEST(ModuleStore, ChangingAModuleChangesExactlyThePathsThroughIt) {
  const PathLayout layout(kModel, two_by_two());
  EXPECT_EQ(layout.path_params(), param_count(kModel));
  const auto init = init_params(kModel, 3);
  OuterOptConfig fedavg{OuterKind::Sgd, 1.0, 0.0};
  ModuleStore store(layout, init, fedavg);
  for (int p = 0; p < 4; ++p) EXPECT_EQ(store.compose(p), init);
  EXPECT_EQ(store.stored_params(), layout.segment_params(0) + 2 * layout.segment_params(1) + 2 * layout.segment_params(2));

  std::vector<ParamVector> before;
  for (int p = 0; p < 4; ++p) before.push_back(store.compose(p));
  const int m = 4;  // level 1, module 1: paths 1 and 3
  ParamVector moved(store.module(m).size(), 0.5f);
  store.outer_step(m, {&moved}, {1.0}, false);  // FedAvg with one version: θ_m = moved
  for (float x : store.module(m)) EXPECT_NEAR(x, 0.5f, 1e-6);
  for (int p = 0; p < 4; ++p) {
    const bool through = p == 1 || p == 3;
    EXPECT_EQ(store.compose(p) != before[static_cast<size_t>(p)], through) << "path " << p;
    EXPECT_EQ(layout.extract(store.compose(p), 0), layout.extract(before[static_cast<size_t>(p)], 0));
  }
}

TEST(ModuleStore, PerModuleAveragingIsWeightedOverItsPathsAndRescalable) {
  const PathLayout layout(kModel, two_by_two());
  const auto init = init_params(kModel, 3);
  const int m = 1;  // level 0, module 0: paths 0 and 1
  const size_t n = layout.module_params(m);
  const ParamVector v0(n, 1.0f), v1(n, 3.0f);
  {
    ModuleStore store(layout, init, {OuterKind::Sgd, 1.0, 0.0});
    store.outer_step(m, {&v0, &v1}, {100.0, 300.0}, false);  // α = 1/4, 3/4
    for (float x : store.module(m)) EXPECT_FLOAT_EQ(x, 2.5f);
  }
  {
    ModuleStore store(layout, init, {OuterKind::Sgd, 1.0, 0.0});
    const ParamVector theta = store.module(m);
    store.outer_step(m, {&v0, &v1}, {100.0, 300.0}, true);  // Δ scaled by √2
    for (size_t j = 0; j < n; ++j) EXPECT_NEAR(store.module(m)[j], theta[j] - std::sqrt(2.0) * (theta[j] - 2.5), 1e-5);
  }
  {
    ModuleStore store(layout, init, {OuterKind::Sgd, 1.0, 0.0});
    store.outer_step(m, {&v0, &v1}, {1.0, 1.0}, false);  // equal weights
    for (float x : store.module(m)) EXPECT_FLOAT_EQ(x, 2.0f);
  }
}

TEST(ModuleStore, RestoringASavedModuleRollsBackItsParametersAndMomentum) {
  // What an executor's recovery relies on: after save, two Nesterov steps, restore and the same two
  // steps again, the module is where the first two steps took it (momentum included).
  const PathLayout layout(kModel, two_by_two());
  const auto init = init_params(kModel, 3);
  const int m = 1;
  const size_t n = layout.module_params(m);
  ModuleStore store(layout, init, {OuterKind::Nesterov, 0.7, 0.9});
  const ParamVector a(n, 0.5f), b(n, -0.25f);
  store.outer_step(m, {&a}, {1.0}, false);
  const auto saved = store.save(m);
  const auto other = store.module(2);
  store.outer_step(m, {&b}, {1.0}, false);
  store.outer_step(m, {&a}, {1.0}, false);
  const ParamVector after = store.module(m);
  store.restore(m, saved);
  EXPECT_EQ(store.module(m), saved.params);
  store.outer_step(m, {&b}, {1.0}, false);
  store.outer_step(m, {&a}, {1.0}, false);
  EXPECT_EQ(store.module(m), after);
  EXPECT_EQ(store.module(2), other);  // other modules untouched
  auto wrong = saved;
  wrong.params.pop_back();
  EXPECT_THROW(store.restore(m, wrong), std::invalid_argument);
}

TEST(PathLayout, RejectsLevelsThatDoNotCoverTheBlocks) {
  EXPECT_THROW(PathLayout(kModel, PathStructure{{{1, 2, false}}, true}), std::invalid_argument);
}

TEST(PathRecipe, ComposesTheSameVectorAsTheStore) {
  const PathLayout layout(kModel, two_by_two());
  ModuleStore store(layout, init_params(kModel, 5), {});
  std::vector<std::shared_ptr<const ParamVector>> modules;
  for (int m = 0; m < layout.structure().module_count(); ++m) modules.push_back(std::make_shared<const ParamVector>(store.module(m)));
  for (int p = 0; p < 4; ++p) {
    PathRecipe r{&layout, {}};
    for (int s = 0; s < layout.structure().segments(); ++s) r.segments.push_back(modules[static_cast<size_t>(layout.structure().module_of(p, s))]);
    EXPECT_EQ(r.compose(), store.compose(p));
  }
  EXPECT_THROW((PathRecipe{&layout, {modules[0]}}.compose()), std::invalid_argument);
}

TEST(ModuleStore, InnerMomentsArePerModuleAndComposeLikeParameters) {
  const PathLayout layout(kModel, two_by_two());
  ModuleStore store(layout, init_params(kModel, 5), {});
  ParamVector m, v;
  store.compose_inner_moments(0, m, v);
  EXPECT_TRUE(m.empty() && v.empty()) << "no moments before the first phase";
  for (int mod = 0; mod < layout.structure().module_count(); ++mod) {
    const auto n = store.module(mod).size();
    store.set_inner_moments(mod, ParamVector(n, static_cast<float>(mod)), ParamVector(n, static_cast<float>(10 * mod)));
  }
  // Path 3 = shared (0), L0.M1 (2), L1.M1 (4): its moments are those modules' values in its layout.
  store.compose_inner_moments(3, m, v);
  ASSERT_EQ(static_cast<int64_t>(m.size()), layout.path_params());
  EXPECT_EQ(layout.extract(m, 0), ParamVector(static_cast<size_t>(layout.segment_params(0)), 0.0f));
  EXPECT_EQ(layout.extract(m, 1), ParamVector(static_cast<size_t>(layout.segment_params(1)), 2.0f));
  EXPECT_EQ(layout.extract(v, 2), ParamVector(static_cast<size_t>(layout.segment_params(2)), 40.0f));
  EXPECT_THROW(store.set_inner_moments(0, {1.0f}, {1.0f}), std::invalid_argument);
}

TEST(PathStructure, NoLevelsIsTheWholeModelAsOneModule) {
  // DiLoCo and synchronous DP: one module holding every parameter, one path.
  const PathStructure whole{{}, true};
  EXPECT_EQ(whole.paths(), 1);
  EXPECT_EQ(whole.module_count(), 1);
  EXPECT_EQ(whole.modules_of(0), (std::vector<int>{0}));
  EXPECT_EQ(whole.module_name(0), "model");
  const PathLayout layout(kModel, whole);
  EXPECT_EQ(layout.path_params(), param_count(kModel));
  EXPECT_EQ(layout.module_params(0), param_count(kModel));
  const auto params = init_params(kModel, 3);
  EXPECT_EQ(layout.extract(params, 0), params);
}

TEST(ModuleStore, MixInIsHalosMerge) {
  dipaco::engine::ModelConfig m;
  m.vocab = 16;
  m.d_model = 8;
  m.heads = 2;
  m.blocks = 1;
  m.seq_len = 8;
  const dipaco::engine::PathLayout layout(m, {{}, true});
  dipaco::engine::ParamVector init(static_cast<size_t>(layout.path_params()), 1.0f);
  dipaco::engine::ModuleStore store(layout, init, {});
  const dipaco::engine::ParamVector global(init.size(), 5.0f);
  store.mix_in(0, global, 0.25);  // 0.75 · 1 + 0.25 · 5
  for (float v : store.module(0)) ASSERT_FLOAT_EQ(v, 2.0f);
  EXPECT_THROW(store.mix_in(0, dipaco::engine::ParamVector(3, 0.0f), 0.5), std::invalid_argument);
}

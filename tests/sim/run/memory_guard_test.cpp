// The memory guard's estimate: DiPaCo's state counted per module, not per task.
#include <gtest/gtest.h>

#include "engine/modules/paths.hpp"
#include "sim/run/memory_guard.hpp"

namespace {

using dipaco::sim::InnerState;

const std::string kScenario = std::string(DIPACO_SOURCE_DIR) + "/tests/scenarios/memory-16x16.yaml";

TEST(MemoryGuard, DipacoModuleStateIsCountedOncePerModule) {
  // 16x16: 256 tasks (paths) sharing 32 block modules and the embeddings, AdamW moments per module.
  const auto s = dipaco::sim::load_scenario(kScenario);
  ASSERT_EQ(s.dipaco.inner_state, InnerState::Module);
  const dipaco::engine::PathLayout layout(s.model, dipaco::engine::PathStructure{s.dipaco.levels, s.dipaco.share_embeddings});
  const double stored = 4.0 * static_cast<double>(layout.all_module_params());
  const double path = 4.0 * static_cast<double>(layout.path_params());
  const auto e = dipaco::sim::estimate_training_memory(s, layout.path_params(), 256, 1);
  // Parameters, outer momentum and both moments of every module, once; and a trained path per worker.
  EXPECT_DOUBLE_EQ(e.state_bytes, 4.0 * stored + 4 * path + 4.0 * path);
  // Counting 3 paths' worth per task (the estimate before) would be over 9× as much here.
  EXPECT_LT(9 * e.state_bytes, 256 * 3.0 * path);
}

TEST(MemoryGuard, DipacoPathStateKeepsMomentsPerTask) {
  const auto s = dipaco::sim::load_scenario(kScenario, {"dipaco.inner_state=path"});
  const dipaco::engine::PathLayout layout(s.model, dipaco::engine::PathStructure{s.dipaco.levels, s.dipaco.share_embeddings});
  const auto path = 4.0 * static_cast<double>(layout.path_params());
  const auto with_moments = dipaco::sim::estimate_training_memory(s, layout.path_params(), 256, 1);
  const auto reset = dipaco::sim::estimate_training_memory(dipaco::sim::load_scenario(kScenario, {"dipaco.inner_state=reset"}),
                                                           layout.path_params(), 256, 1);
  EXPECT_DOUBLE_EQ(with_moments.state_bytes - reset.state_bytes, 256 * 2.0 * path);
}

}  // namespace

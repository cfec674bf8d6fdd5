#include <gtest/gtest.h>

#include "sim/scenario/cost_model.hpp"

using namespace dipaco::sim;

TEST(CostModel, TrainedModelCostUsesTheRealModel) {
  Scenario s;
  s.model = {256, 64, 4, 2, 64};
  s.inner.batch_size = 16;
  const auto c = make_cost_model(s, 120000);
  EXPECT_EQ(c.source, "trained-model");
  EXPECT_EQ(c.tokens_per_step, 16 * 64);
  EXPECT_DOUBLE_EQ(c.flops_per_step, (6.0 * 120000 + 6.0 * 2 * 64 * 64) * 16 * 64);
  EXPECT_DOUBLE_EQ(c.message_bytes, 120000.0 * 4);
}

TEST(CostModel, AsIfModelOverridesSizeTokensAndBytes) {
  Scenario s;
  s.cost.params = 150000000;
  s.cost.tokens_per_step = 524288;
  s.cost.layers = 12;
  s.cost.d_model = 896;
  s.cost.seq_len = 1024;
  s.cost.bytes_per_param = 2;
  s.cost.mfu = 0.5;
  const auto c = make_cost_model(s, 1000);
  EXPECT_EQ(c.source, "as-if");
  EXPECT_DOUBLE_EQ(c.message_bytes, 3e8);
  const double per_token = 6.0 * 150e6 + 6.0 * 12 * 1024 * 896;
  EXPECT_DOUBLE_EQ(c.flops_per_step, per_token * 524288);
  EXPECT_DOUBLE_EQ(c.host_flops(10), per_token * 524288 * 10 / 0.5);
}

TEST(CostModel, OuterGradientsOnTheWireShrinkByTheFormat) {
  Scenario s;
  EXPECT_EQ(make_cost_model(s, 1000).gradient_wire_factor, 1.0);
  s.communication.outer_gradient = dipaco::engine::GradientFormat::Fp4;
  EXPECT_DOUBLE_EQ(make_cost_model(s, 1000).gradient_wire_factor, 0.53125 / 4);
  s.cost.bytes_per_param = 2;  // an as-if bf16 model: int8 halves what bf16 would send, plus scales
  s.communication.outer_gradient = dipaco::engine::GradientFormat::Int8;
  EXPECT_DOUBLE_EQ(make_cost_model(s, 1000).gradient_wire_factor, 1.015625 / 2);
}

// Model internals: shapes and causal masking. The one test file that includes torch.
#include <gtest/gtest.h>

#include "engine/model.hpp"
#include "engine/trainer.hpp"

using namespace dipaco::engine;

namespace {
ModelConfig small() { return ModelConfig{256, 32, 4, 2, 16}; }

Gpt bound_model(const ModelConfig& cfg, torch::Tensor& flat) {
  const auto init = init_params(cfg, 5);
  flat = torch::from_blob(const_cast<float*>(init.data()), {static_cast<int64_t>(init.size())}).clone();
  Gpt model(cfg);
  bind_parameters(model, flat);
  return model;
}
}  // namespace

TEST(Model, LogitsHaveShapeBatchTimeVocab) {
  torch::Tensor flat;
  auto model = bound_model(small(), flat);
  auto tokens = torch::randint(0, 256, {3, 16}, torch::kLong);
  auto logits = model->forward(tokens);
  EXPECT_EQ(logits.sizes(), (std::vector<int64_t>{3, 16, 256}));
}

TEST(Model, ParameterCountMatchesTheArchitecture) {
  const auto cfg = small();
  const int64_t d = cfg.d_model, v = cfg.vocab, t = cfg.seq_len;
  const int64_t block = 2 * (2 * d) + (3 * d * d + 3 * d) + (d * d + d) + (4 * d * d + 4 * d) + (4 * d * d + d);
  EXPECT_EQ(param_count(cfg), v * d + t * d + cfg.blocks * block + 2 * d);
}

TEST(Model, AttentionIsCausal) {
  torch::NoGradGuard no_grad;
  torch::Tensor flat;
  auto model = bound_model(small(), flat);
  auto a = torch::randint(0, 256, {1, 16}, torch::kLong);
  auto b = a.clone();
  b.index_put_({0, torch::indexing::Slice(10, 16)}, 7);  // change only positions 10..15
  auto la = model->forward(a), lb = model->forward(b);
  using torch::indexing::Slice;
  EXPECT_TRUE(torch::equal(la.index({0, Slice(0, 10)}), lb.index({0, Slice(0, 10)})));
  EXPECT_FALSE(torch::allclose(la.index({0, Slice(10, 16)}), lb.index({0, Slice(10, 16)})));
}

TEST(Model, ParametersAreViewsOfTheFlatBuffer) {
  torch::Tensor flat;
  auto model = bound_model(small(), flat);
  torch::NoGradGuard no_grad;
  flat.zero_();
  for (const auto& p : model->parameters()) EXPECT_EQ(p.abs().sum().item<float>(), 0.0f);
}

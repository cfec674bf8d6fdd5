// Model internals: shapes and causal masking. The one test file that includes torch.
#include <gtest/gtest.h>

#include "engine/train/model.hpp"
#include "engine/train/trainer.hpp"

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

TEST(Model, ParamLayoutsClosedFormIsTorchsNamedParameters) {
  // param_layout() is computed without torch, so that timing-only runs never load it.
  for (const auto& cfg : {small(), ModelConfig{4096, 128, 4, 4, 128}, ModelConfig{50, 8, 2, 1, 3}}) {
    Gpt gpt(cfg);
    const auto layout = param_layout(cfg);
    const auto named = gpt->named_parameters();
    ASSERT_EQ(layout.size(), named.size());
    int64_t offset = 0;
    for (size_t i = 0; i < layout.size(); ++i) {
      EXPECT_EQ(layout[i].name, named[i].key());
      EXPECT_EQ(layout[i].numel, named[i].value().numel()) << layout[i].name;
      EXPECT_EQ(layout[i].offset, offset) << layout[i].name;
      offset += named[i].value().numel();
    }
  }
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

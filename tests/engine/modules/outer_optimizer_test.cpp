#include <gtest/gtest.h>

#include <cmath>

#include "engine/modules/outer_optimizer.hpp"

using dipaco::engine::OuterKind;
using dipaco::engine::OuterOptimizer;
using dipaco::engine::outer_gradient;
using dipaco::engine::ParamVector;

TEST(OuterGradient, EqualWeightsIsGlobalMinusMean) {
  const ParamVector global{1.0f, 2.0f};
  const ParamVector a{0.0f, 1.0f}, b{1.0f, 3.0f};
  const auto d = outer_gradient(global, {&a, &b}, {1.0, 1.0});
  EXPECT_FLOAT_EQ(d[0], 1.0f - 0.5f);
  EXPECT_FLOAT_EQ(d[1], 2.0f - 2.0f);
}

TEST(OuterGradient, WeightsByExamples) {
  // Shards of 300 and 100 examples: weights 3/4 and 1/4.
  const ParamVector global{1.0f};
  const ParamVector a{0.0f}, b{4.0f};
  const auto d = outer_gradient(global, {&a, &b}, {300.0, 100.0});
  EXPECT_FLOAT_EQ(d[0], 1.0f - (0.75f * 0.0f + 0.25f * 4.0f));
}

TEST(OuterGradient, RejectsMismatchedInputs) {
  const ParamVector global{1.0f, 2.0f}, shorter{1.0f};
  EXPECT_THROW(outer_gradient(global, {&shorter}, {1.0}), std::invalid_argument);
  EXPECT_THROW(outer_gradient(global, {&global}, {1.0, 2.0}), std::invalid_argument);
  EXPECT_THROW(outer_gradient(global, {&global}, {0.0}), std::invalid_argument);
}

TEST(OuterOptimizer, NesterovMatchesHandComputation) {
  // lr 0.7, momentum 0.9, θ0 = 1.
  // step 1: Δ = 0.5, b = 0.5,              θ = 1 - 0.7 (0.5 + 0.9·0.5)   = 0.335
  // step 2: Δ = 0.2, b = 0.9·0.5 + 0.2 = 0.65, θ = 0.335 - 0.7 (0.2 + 0.9·0.65) = -0.2145
  OuterOptimizer opt({OuterKind::Nesterov, 0.7, 0.9});
  ParamVector theta{1.0f};
  opt.step(theta, {0.5f});
  EXPECT_NEAR(theta[0], 0.335, 1e-6);
  opt.step(theta, {0.2f});
  EXPECT_NEAR(theta[0], -0.2145, 1e-6);
}

TEST(OuterOptimizer, SgdWithLrOneIsFedAvg) {
  // θ - 1·(θ - mean θ_i) = mean θ_i
  OuterOptimizer opt({OuterKind::Sgd, 1.0, 0.0});
  ParamVector theta{3.0f, -1.0f};
  const ParamVector a{1.0f, 0.0f}, b{2.0f, 2.0f};
  opt.step(theta, outer_gradient(theta, {&a, &b}, {1.0, 1.0}));
  EXPECT_FLOAT_EQ(theta[0], 1.5f);
  EXPECT_FLOAT_EQ(theta[1], 1.0f);
}

TEST(OuterOptimizer, AdamMatchesTorchOptimAdamByHand) {
  dipaco::engine::OuterOptConfig cfg;
  cfg.kind = dipaco::engine::OuterKind::Adam;
  cfg.lr = 0.1;
  dipaco::engine::OuterOptimizer opt(cfg);
  dipaco::engine::ParamVector theta = {1.0f, -2.0f};
  // Step 1: m̂ = g, v̂ = g², so each coordinate moves by lr · g / (|g| + eps), about lr · sign(g).
  opt.step(theta, {0.5f, -4.0f});
  EXPECT_NEAR(theta[0], 1.0 - 0.1 * 0.5 / (0.5 + 1e-8), 1e-6);
  EXPECT_NEAR(theta[1], -2.0 + 0.1 * 4.0 / (4.0 + 1e-8), 1e-6);
  // Step 2 with g = (1, 0), worked out as torch.optim.Adam does it.
  opt.step(theta, {1.0f, 0.0f});
  const double m0 = 0.9 * 0.05 + 0.1 * 1.0, v0 = 0.999 * 0.001 * 0.25 + 0.001 * 1.0;
  const double m1 = 0.9 * -0.4, v1 = 0.999 * 0.001 * 16.0;
  const double c1 = 1 - 0.9 * 0.9, c2 = 1 - 0.999 * 0.999;
  EXPECT_NEAR(theta[0], 0.9 - 0.1 * (m0 / c1) / (std::sqrt(v0 / c2) + 1e-8), 1e-5);
  EXPECT_NEAR(theta[1], -1.9 - 0.1 * (m1 / c1) / (std::sqrt(v1 / c2) + 1e-8), 1e-5);
}

TEST(DelayedNesterov, WithNOfOneItIsNesterovOnEveryArrivalBitForBit) {
  ParamVector a{1.0f, -2.0f, 0.5f}, b = a;
  OuterOptimizer nesterov({OuterKind::Nesterov, 0.7, 0.9});
  dipaco::engine::DelayedNesterov delayed(0.7, 0.9, 1);
  for (const ParamVector& g : {ParamVector{0.1f, 0.2f, -0.3f}, ParamVector{-0.05f, 0.4f, 0.01f}, ParamVector{0.3f, -0.1f, 0.2f}}) {
    nesterov.step(a, g);
    delayed.apply(b, g);
    EXPECT_EQ(a, b);
  }
}

TEST(DelayedNesterov, NArrivalsFromOneVersionMakeOneSynchronousStepOnTheirMean) {
  // Two rounds of k = 4 outer gradients: applied one at a time with N = 4, as the synchronous
  // outer step applies their mean once per round.
  const std::vector<ParamVector> round1{{0.4f, -0.2f}, {0.0f, 0.6f}, {0.2f, 0.2f}, {-0.2f, 0.2f}};
  const std::vector<ParamVector> round2{{0.1f, 0.1f}, {0.3f, -0.1f}, {0.1f, 0.3f}, {-0.1f, 0.1f}};
  ParamVector sync{1.0f, 1.0f}, async = sync;
  OuterOptimizer nesterov({OuterKind::Nesterov, 0.7, 0.9});
  dipaco::engine::DelayedNesterov delayed(0.7, 0.9, 4);
  for (const auto* round : {&round1, &round2}) {
    ParamVector mean(2, 0.0f);
    for (const auto& g : *round)
      for (size_t j = 0; j < 2; ++j) mean[j] += g[j] / 4;
    nesterov.step(sync, mean);
    for (const auto& g : *round) delayed.apply(async, g);
    for (size_t j = 0; j < 2; ++j) EXPECT_NEAR(async[j], sync[j], 1e-6) << j;
  }
  EXPECT_EQ(delayed.arrivals(), 8);
}

TEST(DelayedNesterov, BetweenMomentumUpdatesEachArrivalMovesByItsShareAlone) {
  ParamVector p{0.0f};
  dipaco::engine::DelayedNesterov delayed(0.5, 0.9, 4);
  delayed.apply(p, {1.0f});  // no momentum yet: θ − 0.5 · 1 / 4
  EXPECT_FLOAT_EQ(p[0], -0.125f);
  delayed.apply(p, {1.0f});
  EXPECT_FLOAT_EQ(p[0], -0.25f);
}

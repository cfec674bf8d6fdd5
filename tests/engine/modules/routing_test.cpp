// Generative routing: k-means on router features from a briefly trained base model.
#include <gtest/gtest.h>

#include "engine/modules/kmeans.hpp"
#include "engine/modules/linear_router.hpp"
#include "engine/train/trainer.hpp"

using namespace dipaco::engine;

TEST(KMeans, SeparatesObviousClustersDeterministically) {
  std::vector<float> f;
  std::vector<int> labels;
  for (int i = 0; i < 90; ++i) {
    const int c = i % 3;
    f.push_back(static_cast<float>(10 * c) + 0.1f * static_cast<float>(i % 7));
    f.push_back(static_cast<float>(-5 * c) + 0.1f * static_cast<float>(i % 5));
    labels.push_back(c);
  }
  const auto km = fit_kmeans(f, 2, 3, 7);
  const auto a = assign_all(km, f);
  EXPECT_DOUBLE_EQ(cluster_purity(a, labels), 1.0);
  EXPECT_EQ(assign_all(fit_kmeans(f, 2, 3, 7), f), a);
  EXPECT_THROW(fit_kmeans(f, 2, 1000, 7), std::invalid_argument);
}

TEST(KMeans, AssignTwoGivesNearestThenSecondNearest) {
  const KMeans km{3, 1, {0.0f, 10.0f, 4.0f}};
  const float x = 3.0f, y = 9.0f;
  EXPECT_EQ(km.assign_two(&x), std::make_pair(2, 0));
  EXPECT_EQ(km.assign_two(&y), std::make_pair(1, 2));
  EXPECT_EQ(km.assign(&y), 1);
}

TEST(KMeans, ProductAssignmentNumbersPathsInMixedRadix) {
  const std::vector<float> f{0.0f, 10.0f};
  const KMeans a{2, 1, {0.0f, 10.0f}}, b{3, 1, {10.0f, 0.0f, 5.0f}};
  EXPECT_EQ(product_assign({a, b}, f), (std::vector<int>{0 * 3 + 1, 1 * 3 + 0}));
}

TEST(Routing, KMeansOnBaseModelFeaturesRecoversTheSyntheticDomains) {
  init_compute_thread();
  const ModelConfig model{256, 48, 4, 2, 64};
  auto split = pack_corpus(synthetic_corpus(2, 600, 600), model.seq_len, 0.1, 32);
  auto data = std::make_shared<const SequenceSet>(std::move(split.train));
  TrainRequest base;
  base.model = model;
  base.opt.total_steps = 150;
  base.opt.batch_size = 16;
  base.params = std::make_shared<const ParamVector>(init_params(model, 1));
  base.data = data;
  base.shards = {std::make_shared<const Shard>(iid_shards(*data, 1, 1)[0])};
  base.steps = 150;
  base.seed = 9;
  const auto trained = train_inner(base);

  std::vector<int64_t> ids;
  std::vector<int> labels;
  for (int64_t i = 0; i < data->size(); i += 3) {
    ids.push_back(i);
    labels.push_back(data->domain[static_cast<size_t>(i)]);
  }
  const auto features = prefix_features(model, trained.params, *data, ids);
  ASSERT_EQ(features.size(), ids.size() * 48);
  const auto clusters = assign_all(fit_kmeans(features, 48, 5, 4), features);
  const double purity = cluster_purity(clusters, labels);
  EXPECT_GE(purity, 0.9) << "purity " << purity;
}

TEST(LinearRouter, LearnsSeparableLabelsDeterministically) {
  // Three classes along two directions, with an offset the bias has to absorb.
  std::vector<float> f;
  std::vector<int> labels;
  for (int i = 0; i < 300; ++i) {
    const int c = i % 3;
    f.push_back(100.0f + 3.0f * static_cast<float>(c) + 0.2f * static_cast<float>(i % 7 - 3));
    f.push_back(-2.0f * static_cast<float>(c == 1) + 0.2f * static_cast<float>(i % 5 - 2));
    labels.push_back(c);
  }
  double accuracy = 0.0;
  const auto r = fit_linear_router(f, 2, labels, 3, 300, 0.5, 1e-4, &accuracy);
  EXPECT_GE(accuracy, 0.99);
  EXPECT_EQ(route_all(r, f), route_all(fit_linear_router(f, 2, labels, 3), f));
  EXPECT_THROW(fit_linear_router(f, 2, {0, 1}, 3), std::invalid_argument);
}

TEST(LinearRouter, BiasBalancingLeavesNoPathWithoutData) {
  // Class 2 has 3 labelled rows at the edge and class 3 only one: the fitted router starves them.
  std::vector<float> f;
  std::vector<int> labels;
  for (int i = 0; i < 200; ++i) {
    f.push_back(static_cast<float>(i) / 200.0f);
    labels.push_back(i < 100 ? 0 : i < 196 ? 1 : i < 199 ? 2 : 3);
  }
  auto r = fit_linear_router(f, 1, labels, 4);
  auto counts = [&] {
    std::vector<int> c(4, 0);
    for (int p : route_all(r, f)) ++c[static_cast<size_t>(p)];
    return c;
  };
  const auto before = counts();
  EXPECT_LT(*std::min_element(before.begin(), before.end()), 10);
  EXPECT_LT(balance_router_bias(r, f, 10), 2000);
  for (int c : counts()) EXPECT_GE(c, 10);
}

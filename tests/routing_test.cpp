// Generative routing: k-means on router features from a briefly trained base model.
#include <gtest/gtest.h>

#include "engine/kmeans.hpp"
#include "engine/trainer.hpp"

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

// Generative routing: k-means (k-means++ initialisation, seeded, Lloyd iterations) on router
// features, one row per sequence. Torch-free and deterministic.
#pragma once

#include <cstdint>
#include <utility>
#include <vector>

namespace dipaco::engine {

struct KMeans {
  int k = 0;
  int dim = 0;
  std::vector<float> centroids;  // k × dim
  int assign(const float* row) const;  // nearest centroid
  std::pair<int, int> assign_two(const float* row) const;  // nearest and second nearest (k >= 2)
};

// `features` is n × dim, row-major.
KMeans fit_kmeans(const std::vector<float>& features, int dim, int k, uint64_t seed, int iterations = 50);
std::vector<int> assign_all(const KMeans& km, const std::vector<float>& features);

// Product k-means: one k-means per level on the same features; a path is the tuple of cluster ids,
// numbered in mixed radix (first level most significant).
std::vector<int> product_assign(const std::vector<KMeans>& per_level, const std::vector<float>& features);

// Fraction of items whose cluster's majority label is their own label.
double cluster_purity(const std::vector<int>& clusters, const std::vector<int>& labels);

}  // namespace dipaco::engine

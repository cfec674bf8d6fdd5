#include "engine/modules/kmeans.hpp"

#include <algorithm>
#include <limits>
#include <map>
#include <random>
#include <stdexcept>

#include "engine/train/seed.hpp"

namespace dipaco::engine {
namespace {

double sq_distance(const float* a, const float* b, int dim) {
  double d = 0.0;
  for (int j = 0; j < dim; ++j) {
    const double x = static_cast<double>(a[j]) - b[j];
    d += x * x;
  }
  return d;
}

}  // namespace

int KMeans::assign(const float* row) const {
  int best = 0;
  double best_d = std::numeric_limits<double>::infinity();
  for (int c = 0; c < k; ++c) {
    const double d = sq_distance(row, centroids.data() + static_cast<size_t>(c) * dim, dim);
    if (d < best_d) {
      best_d = d;
      best = c;
    }
  }
  return best;
}

std::pair<int, int> KMeans::assign_two(const float* row) const {
  int first = 0, second = -1;
  double d1 = std::numeric_limits<double>::infinity(), d2 = d1;
  for (int c = 0; c < k; ++c) {
    const double d = sq_distance(row, centroids.data() + static_cast<size_t>(c) * dim, dim);
    if (d < d1) {
      second = first;
      d2 = d1;
      first = c;
      d1 = d;
    } else if (d < d2) {
      second = c;
      d2 = d;
    }
  }
  return {first, second < 0 ? first : second};
}

KMeans fit_kmeans(const std::vector<float>& features, int dim, int k, uint64_t seed, int iterations) {
  const size_t n = features.size() / static_cast<size_t>(dim);
  if (k < 1 || n < static_cast<size_t>(k)) throw std::invalid_argument("k-means needs at least k rows");
  std::mt19937_64 rng(mix_seed(seed, 0x4B4D));
  auto row = [&](size_t i) { return features.data() + i * static_cast<size_t>(dim); };
  KMeans km{k, dim, {}};
  // k-means++: each next centre drawn with probability proportional to squared distance.
  const size_t first = rng() % n;
  km.centroids.assign(row(first), row(first) + dim);
  std::vector<double> nearest(n, std::numeric_limits<double>::infinity());
  for (int c = 1; c < k; ++c) {
    const float* last = km.centroids.data() + static_cast<size_t>(c - 1) * dim;
    double total = 0.0;
    for (size_t i = 0; i < n; ++i) {
      nearest[i] = std::min(nearest[i], sq_distance(row(i), last, dim));
      total += nearest[i];
    }
    // A uniform draw in [0, total) from our own generator (distributions are implementation-defined).
    double r = static_cast<double>(rng() >> 11) * (1.0 / 9007199254740992.0) * total;
    size_t pick = n - 1;
    for (size_t i = 0; i < n; ++i) {
      r -= nearest[i];
      if (r < 0) {
        pick = i;
        break;
      }
    }
    km.centroids.insert(km.centroids.end(), row(pick), row(pick) + dim);
  }
  // Lloyd iterations; an empty cluster keeps its centre.
  std::vector<int> assignment(n, -1);
  for (int it = 0; it < iterations; ++it) {
    bool changed = false;
    for (size_t i = 0; i < n; ++i) {
      const int a = km.assign(row(i));
      changed |= a != assignment[i];
      assignment[i] = a;
    }
    if (!changed) break;
    std::vector<double> sum(static_cast<size_t>(k) * dim, 0.0);
    std::vector<int64_t> count(static_cast<size_t>(k), 0);
    for (size_t i = 0; i < n; ++i) {
      ++count[static_cast<size_t>(assignment[i])];
      for (int j = 0; j < dim; ++j) sum[static_cast<size_t>(assignment[i]) * dim + j] += row(i)[j];
    }
    for (int c = 0; c < k; ++c)
      if (count[static_cast<size_t>(c)] > 0)
        for (int j = 0; j < dim; ++j)
          km.centroids[static_cast<size_t>(c) * dim + j] =
              static_cast<float>(sum[static_cast<size_t>(c) * dim + j] / static_cast<double>(count[static_cast<size_t>(c)]));
  }
  return km;
}

std::vector<int> assign_all(const KMeans& km, const std::vector<float>& features) {
  const size_t n = features.size() / static_cast<size_t>(km.dim);
  std::vector<int> out(n);
  for (size_t i = 0; i < n; ++i) out[i] = km.assign(features.data() + i * static_cast<size_t>(km.dim));
  return out;
}

std::vector<int> product_assign(const std::vector<KMeans>& per_level, const std::vector<float>& features) {
  std::vector<int> out(features.size() / static_cast<size_t>(per_level.front().dim), 0);
  for (const auto& km : per_level) {
    const auto a = assign_all(km, features);
    for (size_t i = 0; i < out.size(); ++i) out[i] = out[i] * km.k + a[i];
  }
  return out;
}

double cluster_purity(const std::vector<int>& clusters, const std::vector<int>& labels) {
  std::map<int, std::map<int, int64_t>> counts;
  for (size_t i = 0; i < clusters.size(); ++i) ++counts[clusters[i]][labels[i]];
  int64_t majority = 0;
  for (const auto& [c, by_label] : counts) {
    int64_t best = 0;
    for (const auto& [l, n] : by_label) best = std::max(best, n);
    majority += best;
  }
  return clusters.empty() ? 0.0 : static_cast<double>(majority) / static_cast<double>(clusters.size());
}

}  // namespace dipaco::engine

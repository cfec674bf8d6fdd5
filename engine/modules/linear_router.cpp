#include "engine/modules/linear_router.hpp"

#include <algorithm>
#include <cmath>
#include <stdexcept>

namespace dipaco::engine {

void LinearRouter::logits(const float* row, float* out) const {
  for (int c = 0; c < classes; ++c) {
    double z = bias[static_cast<size_t>(c)];
    const float* w = weight.data() + static_cast<size_t>(c) * static_cast<size_t>(dim);
    for (int j = 0; j < dim; ++j) z += static_cast<double>(w[j]) * (row[j] - mean[static_cast<size_t>(j)]) * inv_std[static_cast<size_t>(j)];
    out[c] = static_cast<float>(z);
  }
}

int LinearRouter::route(const float* row) const {
  std::vector<float> z(static_cast<size_t>(classes));
  logits(row, z.data());
  return static_cast<int>(std::max_element(z.begin(), z.end()) - z.begin());
}

LinearRouter fit_linear_router(const std::vector<float>& features, int dim, const std::vector<int>& labels, int classes,
                               int iterations, double lr, double l2, double* accuracy) {
  if (dim <= 0 || classes <= 0 || features.size() != labels.size() * static_cast<size_t>(dim) || labels.empty())
    throw std::invalid_argument("fit_linear_router: features must be labels.size() × dim, and not empty");
  const size_t n = labels.size(), d = static_cast<size_t>(dim), k = static_cast<size_t>(classes);
  LinearRouter r;
  r.dim = dim;
  r.classes = classes;
  r.mean.assign(d, 0.0f);
  r.inv_std.assign(d, 1.0f);
  std::vector<double> mean(d, 0.0), var(d, 0.0);
  for (size_t i = 0; i < n; ++i)
    for (size_t j = 0; j < d; ++j) mean[j] += features[i * d + j];
  for (auto& m : mean) m /= static_cast<double>(n);
  for (size_t i = 0; i < n; ++i)
    for (size_t j = 0; j < d; ++j) var[j] += (features[i * d + j] - mean[j]) * (features[i * d + j] - mean[j]);
  for (size_t j = 0; j < d; ++j) {
    r.mean[j] = static_cast<float>(mean[j]);
    r.inv_std[j] = static_cast<float>(1.0 / std::sqrt(var[j] / static_cast<double>(n) + 1e-8));
  }
  // Standardised copy, so one learning rate suits every feature.
  std::vector<float> x(features.size());
  for (size_t i = 0; i < n; ++i)
    for (size_t j = 0; j < d; ++j) x[i * d + j] = (features[i * d + j] - r.mean[j]) * r.inv_std[j];
  // The bias starts at the log class frequencies: the prior that keeps small paths alive.
  std::vector<double> w(k * d, 0.0), b(k, 0.0), count(k, 1.0);
  for (int l : labels) {
    if (l < 0 || l >= classes) throw std::invalid_argument("fit_linear_router: label out of range");
    count[static_cast<size_t>(l)] += 1.0;
  }
  for (size_t c = 0; c < k; ++c) b[c] = std::log(count[c] / static_cast<double>(n + k));

  std::vector<double> gw(k * d), gb(k), vw(k * d, 0.0), vb(k, 0.0), z(k);
  constexpr double kMomentum = 0.9;
  for (int it = 0; it < iterations; ++it) {
    std::fill(gw.begin(), gw.end(), 0.0);
    std::fill(gb.begin(), gb.end(), 0.0);
    for (size_t i = 0; i < n; ++i) {
      const float* xi = x.data() + i * d;
      double zmax = -1e300;
      for (size_t c = 0; c < k; ++c) {
        double s = b[c];
        for (size_t j = 0; j < d; ++j) s += w[c * d + j] * xi[j];
        z[c] = s;
        zmax = std::max(zmax, s);
      }
      double total = 0.0;
      for (auto& v : z) total += (v = std::exp(v - zmax));
      for (size_t c = 0; c < k; ++c) {
        const double g = z[c] / total - (static_cast<int>(c) == labels[i] ? 1.0 : 0.0);
        gb[c] += g;
        for (size_t j = 0; j < d; ++j) gw[c * d + j] += g * xi[j];
      }
    }
    for (size_t q = 0; q < w.size(); ++q) {
      vw[q] = kMomentum * vw[q] + gw[q] / static_cast<double>(n) + l2 * w[q];
      w[q] -= lr * vw[q];
    }
    for (size_t c = 0; c < k; ++c) {
      vb[c] = kMomentum * vb[c] + gb[c] / static_cast<double>(n);
      b[c] -= lr * vb[c];
    }
  }
  r.weight.assign(w.begin(), w.end());
  r.bias.assign(b.begin(), b.end());
  if (accuracy) {
    size_t right = 0;
    for (size_t i = 0; i < n; ++i) right += r.route(features.data() + i * d) == labels[i];
    *accuracy = static_cast<double>(right) / static_cast<double>(n);
  }
  return r;
}

std::vector<int> route_all(const LinearRouter& router, const std::vector<float>& features) {
  const size_t d = static_cast<size_t>(router.dim), n = features.size() / d;
  std::vector<int> out(n);
  for (size_t i = 0; i < n; ++i) out[i] = router.route(features.data() + i * d);
  return out;
}

int balance_router_bias(LinearRouter& router, const std::vector<float>& features, int64_t min_rows, int max_rounds) {
  // One class per round, the most starved (the lowest index on ties): raising several at once lets
  // classes with similar logits take rows from each other and oscillate.
  for (int round = 0; round < max_rounds; ++round) {
    const auto routed = route_all(router, features);
    std::vector<int64_t> counts(static_cast<size_t>(router.classes), 0);
    for (int c : routed) ++counts[static_cast<size_t>(c)];
    const auto starved = std::min_element(counts.begin(), counts.end());
    if (*starved >= min_rows) return round;
    router.bias[static_cast<size_t>(starved - counts.begin())] += 0.1f;
  }
  return max_rounds;
}

}  // namespace dipaco::engine

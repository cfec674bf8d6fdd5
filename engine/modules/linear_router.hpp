// Discriminative routing: a linear softmax classifier (weights and a learned bias per path) from
// router features to the path that scored a sequence best. Torch-free and deterministic: full-batch
// gradient descent in a fixed order, on standardised features.
#pragma once

#include <cstdint>
#include <vector>

namespace dipaco::engine {

struct LinearRouter {
  int dim = 0;
  int classes = 0;
  std::vector<float> mean, inv_std;  // feature standardisation, dim each
  std::vector<float> weight;         // classes × dim
  std::vector<float> bias;           // classes
  void logits(const float* row, float* out) const;
  int route(const float* row) const;  // argmax of the logits
};

// Fits on `features` (n × dim) and `labels` (n, in [0, classes)) by minimising the mean softmax
// cross-entropy plus l2 · |W|² / 2. Returns the training accuracy through `accuracy` if given.
LinearRouter fit_linear_router(const std::vector<float>& features, int dim, const std::vector<int>& labels, int classes,
                               int iterations = 300, double lr = 0.5, double l2 = 1e-4, double* accuracy = nullptr);

std::vector<int> route_all(const LinearRouter& router, const std::vector<float>& features);

// Raises the bias of any class that receives fewer than `min_rows` of `features` until it does (or
// gives up after `max_rounds`), so that no path is left without data. Returns the rounds used.
int balance_router_bias(LinearRouter& router, const std::vector<float>& features, int64_t min_rows, int max_rounds = 2000);

}  // namespace dipaco::engine

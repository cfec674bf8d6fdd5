// DiLoCo's outer step on flat parameter vectors. Torch-free: it is a few axpy loops.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "engine/modules/param_vector.hpp"

namespace dipaco::engine {

enum class OuterKind { Nesterov, Sgd, Adam };

struct OuterOptConfig {
  OuterKind kind = OuterKind::Nesterov;
  double lr = 0.7;
  double momentum = 0.9;
  double beta1 = 0.9, beta2 = 0.999, eps = 1e-8;  // Adam only
};

// Outer gradient Δ = θ_global − Σ_i w_i θ_i with w_i = weight_i / Σ weight (examples per shard).
// Accumulated in double so the result does not depend on float summation order.
ParamVector outer_gradient(const ParamVector& global, const std::vector<const ParamVector*>& replicas,
                           const std::vector<double>& weights);

// The weighted mean of replicas, accumulated as they arrive (in double), so an executor holds one
// running sum per module instead of every replica's copy.
class RunningAverage {
 public:
  void add(const ParamVector& replica, double weight);
  int count() const { return count_; }
  // Outer gradient θ − Σ w_i θ_i / Σ w_i; throws if nothing was added.
  ParamVector outer_gradient(const ParamVector& global) const;
  // Σ w_i θ_i / Σ w_i; throws if nothing was added.
  ParamVector mean() const;

 private:
  std::vector<double> sum_;
  double weight_ = 0.0;
  int count_ = 0;
};

// Nesterov SGD as in torch.optim.SGD(nesterov=True): b ← μb + Δ (b = Δ on the first step),
// θ ← θ − lr (Δ + μb). Plain SGD: θ ← θ − lr Δ; with lr = 1 that is FedAvg. Adam as in
// torch.optim.Adam: m ← β1 m + (1 − β1) Δ, v ← β2 v + (1 − β2) Δ², θ ← θ − lr m̂ / (√v̂ + ε) with
// bias-corrected m̂ = m / (1 − β1^t), v̂ = v / (1 − β2^t).
class OuterOptimizer {
 public:
  explicit OuterOptimizer(OuterOptConfig cfg) : cfg_(cfg) {}
  void step(ParamVector& params, const ParamVector& outer_grad);
  const OuterOptConfig& config() const { return cfg_; }

 private:
  OuterOptConfig cfg_;
  ParamVector momentum_;
  ParamVector second_;  // Adam's v
  bool first_ = true;
  int64_t steps_ = 0;
};

// Delayed Nesterov (Liu et al., 2024) for outer gradients that arrive one at a time (asynchronous
// DiLoCo). Each arrival moves θ by lr·Δ/N at once; at every N-th arrival the momentum also takes
// the mean of the last N, b ← μb + Δ̄ (b = Δ̄ the first time), and θ moves by lr·μ·b too. Without
// staleness N arrivals make one synchronous Nesterov step on their mean; N = 1 is Nesterov on each
// arrival (naive asynchronous DiLoCo), bit for bit OuterOptimizer's.
class DelayedNesterov {
 public:
  DelayedNesterov(double lr, double momentum, int n) : lr_(lr), mu_(momentum), n_(n) {}
  void apply(ParamVector& params, const ParamVector& outer_grad);
  int64_t arrivals() const { return arrivals_; }

 private:
  double lr_, mu_;
  int n_;
  ParamVector momentum_, buffer_;
  bool first_ = true;
  int64_t arrivals_ = 0;
};

}  // namespace dipaco::engine

// DiLoCo's outer step on flat parameter vectors. Torch-free: it is a few axpy loops.
#pragma once

#include <string>
#include <vector>

namespace dipaco::engine {

using ParamVector = std::vector<float>;

enum class OuterKind { Nesterov, Sgd };

struct OuterOptConfig {
  OuterKind kind = OuterKind::Nesterov;
  double lr = 0.7;
  double momentum = 0.9;
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
// θ ← θ − lr (Δ + μb). Plain SGD: θ ← θ − lr Δ; with lr = 1 that is FedAvg.
class OuterOptimizer {
 public:
  explicit OuterOptimizer(OuterOptConfig cfg) : cfg_(cfg) {}
  void step(ParamVector& params, const ParamVector& outer_grad);
  const OuterOptConfig& config() const { return cfg_; }

 private:
  OuterOptConfig cfg_;
  ParamVector momentum_;
  bool first_ = true;
};

}  // namespace dipaco::engine

#include "engine/outer_optimizer.hpp"

#include <stdexcept>

namespace dipaco::engine {

ParamVector outer_gradient(const ParamVector& global, const std::vector<const ParamVector*>& replicas,
                           const std::vector<double>& weights) {
  if (replicas.empty() || replicas.size() != weights.size())
    throw std::invalid_argument("outer_gradient: need one weight per replica");
  double total = 0.0;
  for (double w : weights) total += w;
  if (!(total > 0.0)) throw std::invalid_argument("outer_gradient: weights must sum to a positive number");
  for (const auto* r : replicas)
    if (r->size() != global.size()) throw std::invalid_argument("outer_gradient: replica size differs from global");

  ParamVector delta(global.size());
  for (size_t j = 0; j < global.size(); ++j) {
    double avg = 0.0;
    for (size_t i = 0; i < replicas.size(); ++i) avg += weights[i] / total * (*replicas[i])[j];
    delta[j] = static_cast<float>(static_cast<double>(global[j]) - avg);
  }
  return delta;
}

void OuterOptimizer::step(ParamVector& params, const ParamVector& grad) {
  if (grad.size() != params.size()) throw std::invalid_argument("OuterOptimizer::step: size mismatch");
  const float lr = static_cast<float>(cfg_.lr);
  if (cfg_.kind == OuterKind::Sgd) {
    for (size_t j = 0; j < params.size(); ++j) params[j] -= lr * grad[j];
    return;
  }
  const float mu = static_cast<float>(cfg_.momentum);
  if (first_) {
    momentum_ = grad;
    first_ = false;
  } else {
    for (size_t j = 0; j < params.size(); ++j) momentum_[j] = mu * momentum_[j] + grad[j];
  }
  for (size_t j = 0; j < params.size(); ++j) params[j] -= lr * (grad[j] + mu * momentum_[j]);
}

}  // namespace dipaco::engine

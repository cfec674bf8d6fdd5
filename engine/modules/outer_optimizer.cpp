#include "engine/modules/outer_optimizer.hpp"

#include <algorithm>
#include <cmath>

#include <stdexcept>

namespace dipaco::engine {

void RunningAverage::add(const ParamVector& replica, double weight) {
  if (!(weight > 0.0)) throw std::invalid_argument("RunningAverage::add: weights must be positive");
  if (sum_.empty()) sum_.assign(replica.size(), 0.0);
  if (replica.size() != sum_.size()) throw std::invalid_argument("RunningAverage::add: replica size differs");
  for (size_t j = 0; j < sum_.size(); ++j) sum_[j] += weight * replica[j];
  weight_ += weight;
  ++count_;
}

ParamVector RunningAverage::outer_gradient(const ParamVector& global) const {
  if (count_ == 0) throw std::invalid_argument("outer_gradient: no replica");
  if (global.size() != sum_.size()) throw std::invalid_argument("outer_gradient: replica size differs from global");
  ParamVector delta(global.size());
  for (size_t j = 0; j < global.size(); ++j) delta[j] = static_cast<float>(static_cast<double>(global[j]) - sum_[j] / weight_);
  return delta;
}

ParamVector RunningAverage::mean() const {
  if (count_ == 0) throw std::invalid_argument("RunningAverage::mean: no replica");
  ParamVector out(sum_.size());
  for (size_t j = 0; j < sum_.size(); ++j) out[j] = static_cast<float>(sum_[j] / weight_);
  return out;
}

ParamVector outer_gradient(const ParamVector& global, const std::vector<const ParamVector*>& replicas,
                           const std::vector<double>& weights) {
  if (replicas.empty() || replicas.size() != weights.size())
    throw std::invalid_argument("outer_gradient: need one weight per replica");
  double total = 0.0;
  for (double w : weights) total += w;
  if (!(total > 0.0)) throw std::invalid_argument("outer_gradient: weights must sum to a positive number");
  RunningAverage avg;
  for (size_t i = 0; i < replicas.size(); ++i) avg.add(*replicas[i], weights[i]);
  return avg.outer_gradient(global);
}

void OuterOptimizer::step(ParamVector& params, const ParamVector& grad) {
  if (grad.size() != params.size()) throw std::invalid_argument("OuterOptimizer::step: size mismatch");
  const float lr = static_cast<float>(cfg_.lr);
  if (cfg_.kind == OuterKind::Sgd) {
    for (size_t j = 0; j < params.size(); ++j) params[j] -= lr * grad[j];
    return;
  }
  if (cfg_.kind == OuterKind::Adam) {
    if (momentum_.empty()) momentum_.assign(params.size(), 0.0f), second_.assign(params.size(), 0.0f);
    ++steps_;
    const double b1 = cfg_.beta1, b2 = cfg_.beta2;
    const double c1 = 1.0 - std::pow(b1, static_cast<double>(steps_)), c2 = 1.0 - std::pow(b2, static_cast<double>(steps_));
    for (size_t j = 0; j < params.size(); ++j) {
      const double g = grad[j];
      momentum_[j] = static_cast<float>(b1 * momentum_[j] + (1.0 - b1) * g);
      second_[j] = static_cast<float>(b2 * second_[j] + (1.0 - b2) * g * g);
      params[j] -= static_cast<float>(cfg_.lr * (momentum_[j] / c1) / (std::sqrt(second_[j] / c2) + cfg_.eps));
    }
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

void DelayedNesterov::apply(ParamVector& params, const ParamVector& grad) {
  if (grad.size() != params.size()) throw std::invalid_argument("DelayedNesterov::apply: size mismatch");
  const float lr = static_cast<float>(lr_), mu = static_cast<float>(mu_), n = static_cast<float>(n_);
  if (buffer_.empty()) buffer_.assign(params.size(), 0.0f);
  for (size_t j = 0; j < params.size(); ++j) buffer_[j] += grad[j];
  if (++arrivals_ % n_ != 0) {
    for (size_t j = 0; j < params.size(); ++j) params[j] -= lr * (grad[j] / n);
    return;
  }
  momentum_.resize(params.size());
  for (size_t j = 0; j < params.size(); ++j) {
    const float mean = buffer_[j] / n;
    momentum_[j] = first_ ? mean : mu * momentum_[j] + mean;
    params[j] -= lr * (grad[j] / n + mu * momentum_[j]);
  }
  first_ = false;
  std::fill(buffer_.begin(), buffer_.end(), 0.0f);
}

}  // namespace dipaco::engine

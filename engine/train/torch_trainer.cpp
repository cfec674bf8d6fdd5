// Real training: inner AdamW steps and evaluation on the path model. Built into the module
// libdipaco_torch.so, the only code that runs LibTorch; trainer.cpp loads it on first use.
#include "engine/train/trainer_backend.hpp"

#include <ATen/CPUGeneratorImpl.h>
#include <ATen/autocast_mode.h>

#include <cmath>
#include <stdexcept>

#include "engine/train/model.hpp"
#include "engine/train/thread_pool.hpp"

namespace dipaco::engine {
// Named, not anonymous: the header declares the same names in dipaco::engine (trainer.cpp defines them).
namespace torch_impl {

torch::Tensor to_tensor(const ParamVector& v) {
  return torch::from_blob(const_cast<float*>(v.data()), {static_cast<int64_t>(v.size())}, torch::kFloat32).clone();
}

ParamVector to_vector(const torch::Tensor& t) {
  auto c = t.cpu().contiguous();  // .cpu() is a no-op for a CPU tensor
  const float* p = c.data_ptr<float>();
  return ParamVector(p, p + c.numel());
}

torch::Tensor sample_batch(const TrainRequest& r, int64_t step) {
  const int rows = r.opt.batch_size * static_cast<int>(r.shards.size());
  auto batch = torch::empty({rows, r.data->seq_len + 1}, torch::kLong);
  fill_batch(r, step, batch.data_ptr<int64_t>());
  return batch;
}

// 1 where decoupled weight decay applies (matrices and embeddings), 0 for biases and norms.
torch::Tensor decay_mask(Gpt& model, int64_t n) {
  auto mask = torch::zeros({n});
  int64_t offset = 0;
  for (auto& p : model->parameters()) {
    if (p.dim() >= 2) mask.narrow(0, offset, p.numel()).fill_(1.0);
    offset += p.numel();
  }
  return mask;
}


void init_compute_thread() { torch::set_num_threads(1); }

bool cuda_available() { return torch::cuda::is_available(); }

std::vector<ParamSlice> torch_param_layout(const ModelConfig& model) {
  Gpt gpt(model);
  std::vector<ParamSlice> out;
  int64_t offset = 0;
  for (const auto& item : gpt->named_parameters()) {
    out.push_back({item.key(), offset, item.value().numel()});
    offset += item.value().numel();
  }
  return out;
}

ParamVector init_params(const ModelConfig& model, uint64_t seed) {
  torch::NoGradGuard no_grad;
  Gpt gpt(model);
  auto gen = at::detail::createCPUGenerator(seed);
  const double residual_std = 0.02 / std::sqrt(2.0 * model.blocks);
  std::vector<torch::Tensor> parts;
  for (const auto& item : gpt->named_parameters()) {
    const auto& name = item.key();
    auto t = torch::empty_like(item.value());
    const bool is_weight = name.size() >= 6 && name.compare(name.size() - 6, 6, "weight") == 0;
    if (t.dim() >= 2) {
      const bool residual = name.find("attn_out") != std::string::npos || name.find("mlp_out") != std::string::npos;
      t.normal_(0.0, residual ? residual_std : 0.02, gen);
    } else if (is_weight) {
      t.fill_(1.0);  // LayerNorm gain
    } else {
      t.zero_();
    }
    parts.push_back(t.view(-1));
  }
  return to_vector(torch::cat(parts));
}


// bf16 mixed precision for the forward pass of one step: matmuls and attention in bf16 (autocast),
// parameters, the loss and everything the optimizer touches in fp32. Autocast is thread-local, and
// the cast cache is off: parameters change in place between steps, a cached copy would go stale.
// The backward pass runs outside it, as PyTorch recommends: the casts' gradients bring it back.
class MixedPrecision {
 public:
  explicit MixedPrecision(bool on) : on_(on) {
    if (!on_) return;
    at::autocast::set_autocast_cpu_dtype(at::kBFloat16);
    at::autocast::set_autocast_cache_enabled(false);
    at::autocast::set_cpu_enabled(true);
  }
  ~MixedPrecision() {
    if (!on_) return;
    at::autocast::set_cpu_enabled(false);
    at::autocast::set_autocast_cache_enabled(true);
  }
  MixedPrecision(const MixedPrecision&) = delete;
  MixedPrecision& operator=(const MixedPrecision&) = delete;

 private:
  bool on_;
};

// One copy of the model whose parameters are views of the shared flat buffer; each keeps its own
// gradients, so several can run backward passes at once on the same parameters.
struct Replica {
  Gpt model;
  std::vector<torch::Tensor> params;
  Replica(const ModelConfig& cfg, torch::Tensor& flat) : model(cfg) {
    bind_parameters(model, flat);
    params = model->parameters();
  }
  // Forward and backward on one batch; returns the loss and the flat gradient.
  std::pair<double, torch::Tensor> gradient(const torch::Tensor& batch, int seq_len, bool bf16) {
    auto inputs = batch.narrow(1, 0, seq_len);
    auto targets = batch.narrow(1, 1, seq_len);
    torch::Tensor loss;
    {
      MixedPrecision mp(bf16);
      loss = model->loss(inputs, targets);  // fused unembedding and cross-entropy
    }
    for (auto& p : params) p.mutable_grad() = torch::Tensor();
    loss.backward();
    torch::NoGradGuard no_grad;
    std::vector<torch::Tensor> grads;
    grads.reserve(params.size());
    for (auto& p : params) grads.push_back(p.grad().view(-1));
    return {loss.item<double>(), torch::cat(grads)};
  }
};


TrainResult train_inner(const TrainRequest& r) {
  if (!r.params || !r.data || r.shards.empty()) throw std::invalid_argument("train_inner: missing params, data or shards");
  for (const auto& s : r.shards)
    if (!s || s->empty()) throw std::invalid_argument("train_inner: empty shard");

  if (r.opt.cuda && !cuda_available()) throw std::invalid_argument("train_inner: CUDA requested, but no CUDA device is available");
  const torch::Device device = r.opt.cuda ? torch::Device(torch::kCUDA, 0) : torch::Device(torch::kCPU);
  const int64_t n = static_cast<int64_t>(r.params->size());
  auto flat = to_tensor(*r.params).to(device);  // .to() is a no-op on the CPU
  // Several shards (synchronous data parallelism): one replica per shard, each the gradient of its
  // own batch_size rows, on the pool when there is one. Their mean, summed in shard order, is the
  // k-fold batch's gradient, and the same bytes whichever threads computed the parts.
  const int k = static_cast<int>(r.shards.size());
  std::vector<std::unique_ptr<Replica>> replicas;
  for (int i = 0; i < k; ++i) replicas.push_back(std::make_unique<Replica>(r.model, flat));
  auto mask = decay_mask(replicas.front()->model, n).to(device);

  const bool fresh = r.opt_state.exp_avg.empty();
  auto m = fresh ? torch::zeros({n}, device) : to_tensor(r.opt_state.exp_avg).to(device);
  auto v = fresh ? torch::zeros({n}, device) : to_tensor(r.opt_state.exp_avg_sq).to(device);
  int64_t adam_steps = fresh ? 0 : r.opt_state.steps;

  const auto& o = r.opt;
  double loss_sum = 0.0;
  int64_t tokens = 0;
  std::vector<std::pair<double, torch::Tensor>> parts(static_cast<size_t>(k));
  for (int64_t s = 0; s < r.steps; ++s) {
    const int64_t global_step = r.step_begin + s;
    auto batch = sample_batch(r, global_step).to(device);  // (k · batch_size, seq_len + 1)
    auto shard_part = [&](int i) {
      parts[static_cast<size_t>(i)] =
          replicas[static_cast<size_t>(i)]->gradient(batch.narrow(0, int64_t{i} * o.batch_size, o.batch_size), r.model.seq_len, o.bf16);
    };
    if (k > 1 && r.pool != nullptr) {
      r.pool->parallel_for(k, shard_part);
    } else {
      for (int i = 0; i < k; ++i) shard_part(i);
    }
    torch::NoGradGuard no_grad;
    if (k > 1 && o.gradient_format != GradientFormat::Fp32)
      for (auto& part : parts) {  // what each shard's worker sends, as the receivers decode it
        auto cpu = part.second.to(torch::kCPU).contiguous();
        quantize(cpu.data_ptr<float>(), static_cast<size_t>(cpu.numel()), o.gradient_format);
        part.second = cpu.to(device);
      }
    auto g = parts[0].second;
    double loss = parts[0].first;
    for (int i = 1; i < k; ++i) {
      g.add_(parts[static_cast<size_t>(i)].second);
      loss += parts[static_cast<size_t>(i)].first;
    }
    if (k > 1) g.div_(k);
    loss_sum += loss / k;
    tokens += batch.size(0) * r.model.seq_len;

    if (o.grad_clip > 0) {
      const double norm = g.norm().item<double>();
      if (norm > o.grad_clip) g.mul_(o.grad_clip / (norm + 1e-6));
    }
    ++adam_steps;
    const double lr = inner_lr_at(o, global_step);
    const double bc1 = 1.0 - std::pow(o.beta1, static_cast<double>(adam_steps));
    const double bc2 = 1.0 - std::pow(o.beta2, static_cast<double>(adam_steps));
    m.mul_(o.beta1).add_(g, 1.0 - o.beta1);
    v.mul_(o.beta2).addcmul_(g, g, 1.0 - o.beta2);
    flat.addcmul_(flat, mask, -lr * o.weight_decay);  // decoupled weight decay
    auto denom = (v / bc2).sqrt_().add_(o.eps);
    flat.addcdiv_(m, denom, -lr / bc1);
  }

  TrainResult out;
  out.params = to_vector(flat);
  out.opt_state.exp_avg = to_vector(m);
  out.opt_state.exp_avg_sq = to_vector(v);
  out.opt_state.steps = adam_steps;
  out.mean_loss = r.steps > 0 ? loss_sum / static_cast<double>(r.steps) : 0.0;
  out.tokens = tokens;
  return out;
}


// A model whose parameters are views of `flat`, a copy of `params`.
Gpt bound_model(const ModelConfig& cfg, const ParamVector& params, torch::Tensor& flat) {
  Gpt model(cfg);
  flat = to_tensor(params);
  bind_parameters(model, flat);
  return model;
}

torch::Tensor gather_rows(const SequenceSet& data, const std::vector<int64_t>& ids, size_t first, int64_t rows) {
  const int64_t width = data.seq_len + 1;
  auto batch = torch::empty({rows, width}, torch::kLong);
  for (int64_t i = 0; i < rows; ++i) data.copy_sequence(ids[first + static_cast<size_t>(i)], batch.data_ptr<int64_t>() + i * width);
  return batch;
}


std::vector<float> prefix_features(const ModelConfig& cfg, const ParamVector& params, const SequenceSet& data,
                                   const std::vector<int64_t>& ids) {
  torch::NoGradGuard no_grad;
  torch::Tensor flat;
  auto model = bound_model(cfg, params, flat);
  const int64_t prefix = std::max(1, data.prefix_tokens);
  std::vector<float> out;
  out.reserve(ids.size() * static_cast<size_t>(cfg.d_model));
  constexpr int64_t kChunk = 64;
  for (size_t first = 0; first < ids.size(); first += kChunk) {
    const int64_t rows = std::min<int64_t>(kChunk, static_cast<int64_t>(ids.size() - first));
    auto batch = gather_rows(data, ids, first, rows);
    auto mean = model->hidden(batch.narrow(1, 0, prefix)).mean(1).contiguous();  // (rows, C)
    out.insert(out.end(), mean.data_ptr<float>(), mean.data_ptr<float>() + mean.numel());
  }
  return out;
}

std::vector<float> token_losses(const ModelConfig& cfg, const ParamVector& params, const SequenceSet& data,
                                const std::vector<int64_t>& ids) {
  torch::NoGradGuard no_grad;
  torch::Tensor flat;
  auto model = bound_model(cfg, params, flat);
  std::vector<float> out;
  out.reserve(ids.size() * static_cast<size_t>(data.seq_len));
  constexpr int64_t kChunk = 32;
  for (size_t first = 0; first < ids.size(); first += kChunk) {
    const int64_t rows = std::min<int64_t>(kChunk, static_cast<int64_t>(ids.size() - first));
    auto batch = gather_rows(data, ids, first, rows);
    auto logits = model->forward(batch.narrow(1, 0, data.seq_len));
    auto losses = torch::nn::functional::cross_entropy(
                      logits.reshape({-1, cfg.vocab}), batch.narrow(1, 1, data.seq_len).reshape(-1),
                      torch::nn::functional::CrossEntropyFuncOptions().reduction(torch::kNone))
                      .contiguous();
    out.insert(out.end(), losses.data_ptr<float>(), losses.data_ptr<float>() + losses.numel());
  }
  return out;
}

std::vector<float> growing_prefix_features(const ModelConfig& cfg, const ParamVector& params, const SequenceSet& data,
                                           const std::vector<int64_t>& ids, const std::vector<int>& lengths) {
  torch::NoGradGuard no_grad;
  torch::Tensor flat;
  auto model = bound_model(cfg, params, flat);
  std::vector<float> out;
  out.reserve(ids.size() * lengths.size() * static_cast<size_t>(cfg.d_model));
  constexpr int64_t kChunk = 32;
  for (size_t first = 0; first < ids.size(); first += kChunk) {
    const int64_t rows = std::min<int64_t>(kChunk, static_cast<int64_t>(ids.size() - first));
    auto batch = gather_rows(data, ids, first, rows);
    // Causal attention: the hidden state at t depends only on tokens 0..t, so one pass serves every length.
    auto cumulative = model->hidden(batch.narrow(1, 0, data.seq_len)).cumsum(1);  // (rows, T, C)
    for (int64_t r = 0; r < rows; ++r)
      for (int len : lengths) {
        auto mean = (cumulative[r][len - 1] / static_cast<double>(len)).contiguous();
        out.insert(out.end(), mean.data_ptr<float>(), mean.data_ptr<float>() + mean.numel());
      }
  }
  return out;
}

}  // namespace torch_impl
}  // namespace dipaco::engine

extern "C" __attribute__((visibility("default"))) const dipaco::engine::TrainerBackend* dipaco_trainer_backend() {
  namespace t = dipaco::engine::torch_impl;
  static const dipaco::engine::TrainerBackend table{t::init_params,     t::train_inner,  t::cuda_available,
                                                    t::prefix_features, t::token_losses, t::growing_prefix_features,
                                                    t::init_compute_thread, t::torch_param_layout};
  return &table;
}

#include "engine/train/model.hpp"

#include <ATen/autocast_mode.h>

#include <cmath>
#include <limits>

namespace dipaco::engine {

namespace nn = torch::nn;

namespace {

// loss = mean_i (logsumexp(z_i) - z_i[t_i]) with z = h·Wᵀ. The forward pass turns z in place into
// dloss/dz = (softmax(z) - onehot(t)) / N; backward scales the two GEMMs' results by the scalar
// upstream gradient. Five passes over z (max, subtract-exp, sum, scale, scatter) instead of
// log-softmax, NLL and their backwards, each with its own (N, V) buffer.
struct TiedCrossEntropy : torch::autograd::Function<TiedCrossEntropy> {
  static torch::Tensor forward(torch::autograd::AutogradContext* ctx, const torch::Tensor& h, const torch::Tensor& w,
                               const torch::Tensor& targets) {
    // Under bf16 mixed precision the GEMMs run in bf16 and everything on z (the softmax, the loss,
    // the gradient) in fp32, as autocast would do with a plain cross-entropy.
    const bool bf16 = at::autocast::is_cpu_enabled() && at::autocast::get_autocast_cpu_dtype() == at::kBFloat16;
    auto z = bf16 ? torch::mm(h.to(at::kBFloat16), w.to(at::kBFloat16).t()).to(at::kFloat) : torch::mm(h, w.t());  // (N, V)
    const auto n = z.size(0);
    const auto t = targets.view({-1, 1});
    const auto zt = z.gather(1, t);
    const auto m = torch::amax(z, {1}, true);
    z.sub_(m).exp_();
    const auto s = z.sum(1, true);
    auto loss = (s.log() + m - zt).mean();
    z.mul_(s.reciprocal().mul_(1.0 / static_cast<double>(n)));
    z.scatter_add_(1, t, torch::full({n, 1}, -1.0 / static_cast<double>(n), z.options()));
    ctx->save_for_backward({h, w});
    ctx->saved_data["dz"] = z;
    ctx->saved_data["bf16"] = bf16;
    return loss;
  }

  static torch::autograd::variable_list backward(torch::autograd::AutogradContext* ctx, torch::autograd::variable_list grad) {
    const auto saved = ctx->get_saved_variables();
    const auto& h = saved[0];
    const auto& w = saved[1];
    const auto dz = ctx->saved_data["dz"].toTensor();
    if (ctx->saved_data["bf16"].toBool()) {
      const auto b = at::kBFloat16;
      return {torch::mm(dz.to(b), w.to(b)).to(at::kFloat).mul_(grad[0]), torch::mm(dz.t().to(b), h.to(b)).to(at::kFloat).mul_(grad[0]),
              torch::Tensor()};
    }
    return {torch::mm(dz, w).mul_(grad[0]), torch::mm(dz.t(), h).mul_(grad[0]), torch::Tensor()};
  }
};

}  // namespace

BlockImpl::BlockImpl(int d_model, int heads) : heads_(heads) {
  ln_attn_ = register_module("ln_attn", nn::LayerNorm(nn::LayerNormOptions({d_model})));
  qkv_ = register_module("qkv", nn::Linear(d_model, 3 * d_model));
  attn_out_ = register_module("attn_out", nn::Linear(d_model, d_model));
  ln_mlp_ = register_module("ln_mlp", nn::LayerNorm(nn::LayerNormOptions({d_model})));
  mlp_in_ = register_module("mlp_in", nn::Linear(d_model, 4 * d_model));
  mlp_out_ = register_module("mlp_out", nn::Linear(4 * d_model, d_model));
}

torch::Tensor BlockImpl::forward(const torch::Tensor& x, const torch::Tensor& causal_mask) {
  const auto B = x.size(0), T = x.size(1), C = x.size(2);
  const auto hd = C / heads_;
  // (3, B·H, T, hd), one copy; q, k and v are then contiguous views.
  auto qkv = qkv_(ln_attn_(x)).view({B, T, 3, heads_, hd}).permute({2, 0, 3, 1, 4}).reshape({3, B * heads_, T, hd});
  auto q = qkv[0], k = qkv[1], v = qkv[2];
  // scale · q·kᵀ + mask in one GEMM: the additive mask (0 on and below the diagonal, -inf above) is its C.
  const double scale = 1.0 / std::sqrt(static_cast<double>(hd));
  auto att = torch::baddbmm(causal_mask.expand({B * heads_, T, T}), q, k.transpose(1, 2), 1.0, scale).softmax(-1);
  auto y = torch::bmm(att, v).view({B, heads_, T, hd}).transpose(1, 2).reshape({B, T, C});  // (B, T, C)
  auto h = x + attn_out_(y);
  return h + mlp_out_(torch::gelu(mlp_in_(ln_mlp_(h))));
}

GptImpl::GptImpl(const ModelConfig& cfg) : cfg_(cfg) {
  tok_emb_ = register_module("tok_emb", nn::Embedding(cfg.vocab, cfg.d_model));
  pos_emb_ = register_module("pos_emb", nn::Embedding(cfg.seq_len, cfg.d_model));
  blocks_ = register_module("blocks", nn::ModuleList());
  for (int i = 0; i < cfg.blocks; ++i) blocks_->push_back(Block(cfg.d_model, cfg.heads));
  ln_final_ = register_module("ln_final", nn::LayerNorm(nn::LayerNormOptions({cfg.d_model})));
}

torch::Tensor GptImpl::forward(const torch::Tensor& tokens) {
  auto x = ln_final_(hidden(tokens));
  return torch::matmul(x, tok_emb_->weight.t());  // (B, T, vocab), tied unembedding
}

torch::Tensor GptImpl::loss(const torch::Tensor& tokens, const torch::Tensor& targets) {
  auto x = ln_final_(hidden(tokens));
  return TiedCrossEntropy::apply(x.reshape({-1, cfg_.d_model}), tok_emb_->weight, targets.reshape(-1));
}

torch::Tensor GptImpl::hidden(const torch::Tensor& tokens) {
  const auto T = tokens.size(1);
  const auto on = torch::TensorOptions().device(tokens.device());  // CPU, or CUDA with device: cuda
  auto positions = torch::arange(T, on.dtype(torch::kLong));
  auto x = tok_emb_(tokens) + pos_emb_(positions);  // (B, T, C)
  // -inf above the diagonal, 0 elsewhere: position t may not attend to t' > t.
  auto causal_mask = torch::full({T, T}, -std::numeric_limits<float>::infinity(), on.dtype(torch::kFloat32)).triu(1);
  for (const auto& block : *blocks_) x = block->as<Block>()->forward(x, causal_mask);
  return x;
}

void bind_parameters(Gpt& model, torch::Tensor& flat) {
  torch::NoGradGuard no_grad;
  int64_t offset = 0;
  for (auto& p : model->parameters()) {
    const auto n = p.numel();
    p.set_data(flat.narrow(0, offset, n).view(p.sizes()));
    offset += n;
  }
  TORCH_CHECK(offset == flat.numel(), "flat buffer size does not match the model");
}

}  // namespace dipaco::engine

#include "engine/model.hpp"

#include <cmath>
#include <limits>

namespace dipaco::engine {

namespace nn = torch::nn;

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
  auto qkv = qkv_(ln_attn_(x)).view({B, T, 3, heads_, hd}).permute({2, 0, 3, 1, 4});  // (3, B, H, T, hd)
  auto q = qkv[0], k = qkv[1], v = qkv[2];
  auto att = torch::matmul(q, k.transpose(-2, -1)) * (1.0 / std::sqrt(static_cast<double>(hd)));  // (B, H, T, T)
  att = att.masked_fill(causal_mask, -std::numeric_limits<float>::infinity()).softmax(-1);
  auto y = torch::matmul(att, v).transpose(1, 2).reshape({B, T, C});  // (B, T, C)
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

torch::Tensor GptImpl::hidden(const torch::Tensor& tokens) {
  const auto T = tokens.size(1);
  const auto on = torch::TensorOptions().device(tokens.device());  // CPU, or CUDA with device: cuda
  auto positions = torch::arange(T, on.dtype(torch::kLong));
  auto x = tok_emb_(tokens) + pos_emb_(positions);  // (B, T, C)
  // true above the diagonal: position t may not attend to t' > t.
  auto causal_mask = torch::ones({T, T}, on.dtype(torch::kBool)).triu(1);
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

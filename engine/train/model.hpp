// The path model: a small decoder-only transformer (pre-LN blocks, causal self-attention, learned
// positions, unembedding tied to the embedding). Internal to the engine: includes torch.
#pragma once

#include <torch/torch.h>

#include "engine/train/config.hpp"

namespace dipaco::engine {

class BlockImpl : public torch::nn::Module {
 public:
  BlockImpl(int d_model, int heads);
  // causal_mask (T, T): additive, 0 where attention is allowed and -inf above the diagonal.
  torch::Tensor forward(const torch::Tensor& x, const torch::Tensor& causal_mask);

 private:
  int heads_;
  torch::nn::LayerNorm ln_attn_{nullptr}, ln_mlp_{nullptr};
  torch::nn::Linear qkv_{nullptr}, attn_out_{nullptr}, mlp_in_{nullptr}, mlp_out_{nullptr};
};
TORCH_MODULE(Block);

class GptImpl : public torch::nn::Module {
 public:
  explicit GptImpl(const ModelConfig& cfg);
  // tokens (B, T) int64 -> logits (B, T, vocab)
  torch::Tensor forward(const torch::Tensor& tokens);
  // Mean next-token cross-entropy of forward(tokens) against targets (B, T), for training. Fused:
  // the (B·T, vocab) logits become their own gradient in the forward pass, so no log-softmax, no
  // separate gradient buffer and a backward of two GEMMs. Same value as cross_entropy(forward(...)).
  torch::Tensor loss(const torch::Tensor& tokens, const torch::Tensor& targets);
  // tokens (B, T) -> last block's hidden states (B, T, C), before the final norm (router features)
  torch::Tensor hidden(const torch::Tensor& tokens);
  const ModelConfig& config() const { return cfg_; }

 private:
  ModelConfig cfg_;
  torch::nn::Embedding tok_emb_{nullptr}, pos_emb_{nullptr};
  torch::nn::ModuleList blocks_;
  torch::nn::LayerNorm ln_final_{nullptr};
};
TORCH_MODULE(Gpt);

// Makes every parameter of `model` a view into `flat` (in named_parameters order), so optimizer
// updates run as a few fused ops on one contiguous buffer.
void bind_parameters(Gpt& model, torch::Tensor& flat);

}  // namespace dipaco::engine

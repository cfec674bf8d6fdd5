// The torch-free half of trainer.hpp: what needs no tensors (the parameter layout, batches, the
// perplexity sums) is computed here, and the rest is forwarded to libdipaco_torch.so, loaded on first
// use. A timing-only run or a unit test then never pays LibTorch's start-up (about 0.8 s a process).
#include <dlfcn.h>

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <mutex>
#include <random>
#include <stdexcept>
#include <string>

#include "engine/train/trainer_backend.hpp"

namespace dipaco::engine {

const TrainerBackend& trainer_backend() {
  static const TrainerBackend* backend = nullptr;
  static std::once_flag once;
  std::call_once(once, [] {
    // DIPACO_TORCH_MODULE overrides the path the build wrote in, for a moved build tree.
    const char* env = std::getenv("DIPACO_TORCH_MODULE");
    const std::string path = env && *env ? env : DIPACO_TORCH_MODULE;
    void* h = ::dlopen(path.c_str(), RTLD_NOW | RTLD_LOCAL);
    const char* why = h ? nullptr : ::dlerror();
    auto fn = h ? reinterpret_cast<TrainerBackendFn>(::dlsym(h, kTrainerBackendSymbol)) : nullptr;
    if (!fn)
      throw std::runtime_error("cannot load the training engine " + path + ": " + (why ? why : "no " + std::string(kTrainerBackendSymbol)) +
                               " (rebuild with cmake --build build, or point DIPACO_TORCH_MODULE at libdipaco_torch.so)");
    backend = fn();
  });
  return *backend;
}

std::vector<ParamSlice> param_layout(const ModelConfig& m) {
  // torch's named_parameters() order for model.cpp's Gpt: each module's own parameters (weight, then
  // bias) in registration order, children after (tests/engine/train/model_test.cpp holds the two equal).
  const int64_t d = m.d_model;
  std::vector<ParamSlice> out;
  int64_t offset = 0;
  auto add = [&](std::string name, int64_t numel) {
    out.push_back({std::move(name), offset, numel});
    offset += numel;
  };
  auto linear = [&](const std::string& name, int64_t in, int64_t outs) {
    add(name + ".weight", outs * in);
    add(name + ".bias", outs);
  };
  add("tok_emb.weight", m.vocab * d);
  add("pos_emb.weight", m.seq_len * d);
  for (int b = 0; b < m.blocks; ++b) {
    const std::string p = "blocks." + std::to_string(b) + ".";
    linear(p + "ln_attn", 1, d);
    linear(p + "qkv", d, 3 * d);
    linear(p + "attn_out", d, d);
    linear(p + "ln_mlp", 1, d);
    linear(p + "mlp_in", d, 4 * d);
    linear(p + "mlp_out", 4 * d, d);
  }
  linear("ln_final", 1, d);
  return out;
}

int64_t param_count(const ModelConfig& model) {
  int64_t n = 0;
  for (const auto& s : param_layout(model)) n += s.numel;
  return n;
}

void fill_batch(const TrainRequest& r, int64_t step, int64_t* out) {
  const int width = r.data->seq_len + 1;
  std::mt19937_64 rng(mix_seed(r.seed, static_cast<uint64_t>(step)));
  for (const auto& shard : r.shards) {
    for (int b = 0; b < r.opt.batch_size; ++b) {
      r.data->copy_sequence((*shard)[rng() % shard->size()], out);
      out += width;
    }
  }
}

EvalResult evaluate(const ModelConfig& cfg, const ParamVector& params, const SequenceSet& data, int64_t max_sequences) {
  // Evenly spaced sequences, so that a subset still covers every domain of the split.
  const int64_t count = max_sequences > 0 ? std::min<int64_t>(max_sequences, data.size()) : data.size();
  std::vector<int64_t> ids(static_cast<size_t>(count));
  for (int64_t i = 0; i < count; ++i) ids[static_cast<size_t>(i)] = i * data.size() / count;
  return evaluate_ids(cfg, params, data, ids);
}

EvalResult evaluate_ids(const ModelConfig& cfg, const ParamVector& params, const SequenceSet& data,
                        const std::vector<int64_t>& ids) {
  const auto losses = token_losses(cfg, params, data, ids);
  // Targets that predict routing-prefix tokens are context only: they never count.
  double loss_sum = 0.0;
  int64_t tokens = 0;
  for (size_t i = 0; i < ids.size(); ++i)
    for (int t = 0; t < data.seq_len; ++t)
      if (data.scored(t)) {
        loss_sum += losses[i * static_cast<size_t>(data.seq_len) + static_cast<size_t>(t)];
        ++tokens;
      }
  EvalResult r;
  r.tokens = tokens;
  r.loss = tokens > 0 ? loss_sum / static_cast<double>(tokens) : 0.0;
  r.perplexity = std::exp(r.loss);
  return r;
}

ParamVector init_params(const ModelConfig& model, uint64_t seed) { return trainer_backend().init_params(model, seed); }

TrainResult train_inner(const TrainRequest& request) { return trainer_backend().train_inner(request); }

bool cuda_available() { return trainer_backend().cuda_available(); }

std::vector<float> prefix_features(const ModelConfig& model, const ParamVector& params, const SequenceSet& data,
                                   const std::vector<int64_t>& ids) {
  return trainer_backend().prefix_features(model, params, data, ids);
}

std::vector<float> token_losses(const ModelConfig& model, const ParamVector& params, const SequenceSet& data,
                                const std::vector<int64_t>& ids) {
  return trainer_backend().token_losses(model, params, data, ids);
}

std::vector<float> growing_prefix_features(const ModelConfig& model, const ParamVector& params, const SequenceSet& data,
                                           const std::vector<int64_t>& ids, const std::vector<int>& lengths) {
  return trainer_backend().growing_prefix_features(model, params, data, ids, lengths);
}

void init_compute_thread() { trainer_backend().init_compute_thread(); }

}  // namespace dipaco::engine

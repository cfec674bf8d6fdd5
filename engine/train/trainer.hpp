// The torch-free face of real training. Parameters and optimizer state travel as flat float
// vectors, so the simulator, the outer optimizer and the tests never include <torch/torch.h>.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "engine/train/config.hpp"
#include "engine/data/corpus.hpp"
#include "engine/modules/outer_optimizer.hpp"
#include "engine/data/sharding.hpp"

namespace dipaco::engine {

class ThreadPool;

// AdamW moments, one entry per parameter, plus the number of steps already taken.
struct AdamState {
  ParamVector exp_avg;
  ParamVector exp_avg_sq;
  int64_t steps = 0;
};

// One named parameter tensor inside the flat vector (for later per-module slicing).
struct ParamSlice {
  std::string name;
  int64_t offset = 0;
  int64_t numel = 0;
};

std::vector<ParamSlice> param_layout(const ModelConfig& model);
int64_t param_count(const ModelConfig& model);

// GPT-2 style initialisation, from `seed` alone.
ParamVector init_params(const ModelConfig& model, uint64_t seed);

// τ inner steps. Each step draws batch_size sequences from every shard in `shards` and concatenates
// them: one shard is one DiLoCo worker; k shards make a k-fold batch, which equals averaging k
// workers' gradients (fully synchronous data parallelism).
struct TrainRequest {
  ModelConfig model;
  InnerOptConfig opt;
  std::shared_ptr<const ParamVector> params;
  AdamState opt_state;  // empty moments mean "fresh"
  std::shared_ptr<const SequenceSet> data;
  std::vector<std::shared_ptr<const Shard>> shards;
  int64_t step_begin = 0;  // global inner step of the first step, for the lr schedule
  int64_t steps = 0;
  uint64_t seed = 0;
  // With several shards, their gradients are computed in parallel on this pool (the calling thread
  // helps). Results are the same bytes with or without it.
  ThreadPool* pool = nullptr;
};

// The (batch_size × shards.size(), seq_len + 1) token rows of global step `step`, row-major into
// `out`: batch_size draws from each shard, with an RNG that depends only on (seed, step), so batches
// are the same whatever thread runs the job. train_inner trains on exactly these (the benchmark's
// Python peer replays them).
void fill_batch(const TrainRequest& request, int64_t step, int64_t* out);

struct TrainResult {
  ParamVector params;
  AdamState opt_state;
  double mean_loss = 0.0;
  int64_t tokens = 0;
};

// Pure and thread-safe: the same request gives bit-identical results on any thread. With
// opt.cuda the steps run on the first CUDA device (results then differ from the CPU's in the last
// bits); parameters and moments come back to the CPU.
TrainResult train_inner(const TrainRequest& request);

// True if this LibTorch was built with CUDA and a CUDA device is visible.
bool cuda_available();

struct EvalResult {
  double loss = 0.0;
  double perplexity = 0.0;
  int64_t tokens = 0;
};

// Mean next-token cross-entropy over `max_sequences` evenly spaced sequences of `data` (all if <= 0),
// excluding the routing prefix: perplexity counts only targets at or after token prefix_tokens.
EvalResult evaluate(const ModelConfig& model, const ParamVector& params, const SequenceSet& data,
                    int64_t max_sequences);

// The same over the given sequence ids; EvalResult::tokens lets callers combine results by tokens.
EvalResult evaluate_ids(const ModelConfig& model, const ParamVector& params, const SequenceSet& data,
                        const std::vector<int64_t>& ids);

// Router features: the mean last-block hidden state over each sequence's routing prefix
// (data.prefix_tokens tokens). Returns ids.size() rows of d_model floats.
std::vector<float> prefix_features(const ModelConfig& model, const ParamVector& params, const SequenceSet& data,
                                   const std::vector<int64_t>& ids);

// Per-token losses: ids.size() rows of seq_len floats, the loss of predicting token t + 1 at t.
std::vector<float> token_losses(const ModelConfig& model, const ParamVector& params, const SequenceSet& data,
                                const std::vector<int64_t>& ids);

// Router features of growing prefixes: for each sequence and each length in `lengths`, the mean
// last-block hidden state over its first `length` tokens. ids.size() × lengths.size() rows of d_model.
std::vector<float> growing_prefix_features(const ModelConfig& model, const ParamVector& params, const SequenceSet& data,
                                           const std::vector<int64_t>& ids, const std::vector<int>& lengths);

// Called once on each pool thread before its first job: one intra-op thread per job.
void init_compute_thread();

}  // namespace dipaco::engine

// Warm starts: a dense model pre-trained once on the training data and cached on disk, so that
// every run and seed that asks for the same one reuses it instead of training it again. The key
// covers everything that determines the result: the model, the optimizer, the steps, the seed, the
// precision and the training tokens themselves. Torch-free.
#pragma once

#include <cstdint>
#include <filesystem>
#include <string>

#include "engine/train/config.hpp"
#include "engine/data/corpus.hpp"
#include "engine/train/trainer.hpp"

namespace dipaco::engine {

struct WarmStartSpec {
  ModelConfig model;
  InnerOptConfig opt;  // total_steps and warmup are set from `steps` (warm-up at most half of it)
  int64_t steps = 0;
  uint64_t seed = 0;   // initial parameters: init_params(model, seed); batches: mix_seed(seed, 0xBA5E)
};

struct WarmStart {
  ParamVector params;
  bool reused = false;          // read from the cache, not trained
  std::filesystem::path file;   // the cache file (empty: no cache directory)
  uint64_t key = 0;
};

// The cache key of `spec` on `train`.
uint64_t warm_start_key(const WarmStartSpec& spec, const SequenceSet& train);

// Reads the warm start from `cache_dir` if it holds one for this key, else trains it (all of
// `train` as one shard) and writes it there atomically. An empty cache_dir trains without caching.
// A cache file that is unreadable or of another key is trained again and replaced.
WarmStart warm_start(const WarmStartSpec& spec, const SequenceSet& train, const std::filesystem::path& cache_dir);

}  // namespace dipaco::engine

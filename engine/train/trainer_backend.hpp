// The table of functions that libdipaco_torch.so (torch_trainer.cpp) hands to trainer.cpp. Internal to
// the engine. LibTorch takes about 0.8 s to load (its operator registry), more than a whole
// timing-only run, so the binaries load it only when something trains (trainer.cpp, on first use).
#pragma once

#include <cstdint>
#include <vector>

#include "engine/train/trainer.hpp"

namespace dipaco::engine {

struct TrainerBackend {
  ParamVector (*init_params)(const ModelConfig&, uint64_t seed);
  TrainResult (*train_inner)(const TrainRequest&);
  bool (*cuda_available)();
  std::vector<float> (*prefix_features)(const ModelConfig&, const ParamVector&, const SequenceSet&,
                                        const std::vector<int64_t>& ids);
  std::vector<float> (*token_losses)(const ModelConfig&, const ParamVector&, const SequenceSet&,
                                     const std::vector<int64_t>& ids);
  std::vector<float> (*growing_prefix_features)(const ModelConfig&, const ParamVector&, const SequenceSet&,
                                                const std::vector<int64_t>& ids, const std::vector<int>& lengths);
  void (*init_compute_thread)();
  // The layout as torch's named_parameters() sees it, to test param_layout()'s closed form.
  std::vector<ParamSlice> (*torch_param_layout)(const ModelConfig&);
};

// The one symbol the module exports.
constexpr const char* kTrainerBackendSymbol = "dipaco_trainer_backend";
using TrainerBackendFn = const TrainerBackend* (*)();

// Loads the module on first call (thread-safe); throws std::runtime_error naming the file if it cannot.
const TrainerBackend& trainer_backend();

}  // namespace dipaco::engine

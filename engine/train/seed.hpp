// SplitMix64: the project's one seed mixer, so that every derived stream (batches, shards, failure
// draws, drops) is reproducible from the scenario's seed.
#pragma once

#include <cstdint>

namespace dipaco::engine {

inline uint64_t mix_seed(uint64_t a, uint64_t b) {
  uint64_t z = a + 0x9E3779B97F4A7C15ULL * (b + 1);
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
  return z ^ (z >> 31);
}

}  // namespace dipaco::engine

#include "engine/data/sharding.hpp"

#include <algorithm>
#include <numeric>
#include <random>

namespace dipaco::engine {

std::vector<Shard> iid_shards(const SequenceSet& data, int count, uint64_t seed) {
  std::vector<int64_t> ids(static_cast<size_t>(data.size()));
  std::iota(ids.begin(), ids.end(), 0);
  // Fisher-Yates with our own RNG: std::shuffle's algorithm is implementation-defined.
  std::mt19937_64 rng(mix_seed(seed, 0x5A4DULL));
  for (size_t i = ids.size(); i > 1; --i) std::swap(ids[i - 1], ids[rng() % i]);
  std::vector<Shard> shards(static_cast<size_t>(count));
  for (size_t i = 0; i < ids.size(); ++i) shards[i % shards.size()].push_back(ids[i]);
  for (auto& s : shards) std::sort(s.begin(), s.end());
  return shards;
}

std::vector<Shard> domain_shards(const SequenceSet& data, int count) {
  int domains = 0;
  for (uint8_t d : data.domain) domains = std::max(domains, d + 1);
  std::vector<Shard> shards(static_cast<size_t>(count));
  std::vector<int64_t> seen_in_domain(static_cast<size_t>(std::max(domains, 1)), 0);
  for (int64_t i = 0; i < data.size(); ++i) {
    const int d = data.domain[static_cast<size_t>(i)];
    if (domains >= count) {
      shards[static_cast<size_t>(d % count)].push_back(i);
    } else {
      // Shards d, d + domains, d + 2*domains, ... share domain d round-robin.
      const int sharing = (count - d + domains - 1) / domains;
      const int64_t k = seen_in_domain[static_cast<size_t>(d)]++ % sharing;
      shards[static_cast<size_t>(d + k * domains)].push_back(i);
    }
  }
  return shards;
}

}  // namespace dipaco::engine

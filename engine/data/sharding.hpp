// Shards are lists of sequence ids. DiLoCo's workers each train on one.
#pragma once

#include <cstdint>
#include <vector>

#include "engine/data/corpus.hpp"

namespace dipaco::engine {

using Shard = std::vector<int64_t>;

// Random, seeded, near-equal partition of all sequences into `count` shards.
std::vector<Shard> iid_shards(const SequenceSet& data, int count, uint64_t seed);

// Non-i.i.d.: shard s gets the sequences whose domain d satisfies d % count == s. If there are more
// shards than domains, a domain's sequences are split round-robin among the shards that map to it.
std::vector<Shard> domain_shards(const SequenceSet& data, int count);

}  // namespace dipaco::engine
